// Micro-benchmarks of the kernel-object paths thread-pool programs lean on.
#include <benchmark/benchmark.h>

#include <atomic>
#include <thread>

#include <tpuring/win32.h>

namespace {

// SetEvent then WaitForSingleObject on one auto-reset event, one thread: the uncontended
// cost of a signal and a satisfied wait.
void BM_SetEventThenWait(benchmark::State &state)
{
    HANDLE event = CreateEventW(nullptr, FALSE, FALSE, nullptr);
    for (auto _ : state) {
        SetEvent(event);
        WaitForSingleObject(event, INFINITE);
    }
    CloseHandle(event);
}
BENCHMARK(BM_SetEventThenWait);

// Two threads bounce between two auto-reset events: one iteration is a full round trip,
// two cross-thread wakes.
void BM_EventPingPong(benchmark::State &state)
{
    HANDLE ping = CreateEventW(nullptr, FALSE, FALSE, nullptr);
    HANDLE pong = CreateEventW(nullptr, FALSE, FALSE, nullptr);
    std::atomic<bool> stop{false};
    std::thread partner([&] {
        for (;;) {
            WaitForSingleObject(ping, INFINITE);
            if (stop.load())
                break;
            SetEvent(pong);
        }
    });
    for (auto _ : state) {
        SetEvent(ping);
        WaitForSingleObject(pong, INFINITE);
    }
    stop.store(true);
    SetEvent(ping);
    partner.join();
    CloseHandle(ping);
    CloseHandle(pong);
}
BENCHMARK(BM_EventPingPong)->UseRealTime();

// A zero-timeout wait on an unsignalled event: the polling cost.
void BM_WaitForSingleObjectTimeoutZero(benchmark::State &state)
{
    HANDLE event = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    for (auto _ : state)
        benchmark::DoNotOptimize(WaitForSingleObject(event, 0));
    CloseHandle(event);
}
BENCHMARK(BM_WaitForSingleObjectTimeoutZero);

} // namespace
