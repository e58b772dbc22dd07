// Micro-benchmarks of thread-pool waits (built when <tpuring/win32.h> declares them).
#include <benchmark/benchmark.h>

#include <tpuring/win32.h>

namespace {

VOID CALLBACK count_wait(PTP_CALLBACK_INSTANCE, PVOID context, PTP_WAIT, TP_WAIT_RESULT)
{
    SetEvent(static_cast<HANDLE>(context));
}

// Arm a wait on an unsignalled event, then disarm it: the cost to the caller of arming.
void BM_SetThreadpoolWaitArmDisarm(benchmark::State &state)
{
    HANDLE never_set = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    PTP_WAIT wait = CreateThreadpoolWait(count_wait, nullptr, nullptr);
    for (auto _ : state) {
        SetThreadpoolWait(wait, never_set, nullptr);
        SetThreadpoolWait(wait, nullptr, nullptr);
    }
    WaitForThreadpoolWaitCallbacks(wait, TRUE);
    CloseThreadpoolWait(wait);
    CloseHandle(never_set);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SetThreadpoolWaitArmDisarm);

// Arm, signal, and wait until the callback has run: one full wait round trip.
void BM_SetThreadpoolWaitFireRoundTrip(benchmark::State &state)
{
    HANDLE signal = CreateEventW(nullptr, FALSE, FALSE, nullptr);
    HANDLE callback_ran = CreateEventW(nullptr, FALSE, FALSE, nullptr);
    PTP_WAIT wait = CreateThreadpoolWait(count_wait, callback_ran, nullptr);
    for (auto _ : state) {
        SetThreadpoolWait(wait, signal, nullptr);
        SetEvent(signal);
        if (WaitForSingleObject(callback_ran, 5000) != WAIT_OBJECT_0) {
            state.SkipWithError("the wait callback did not run within 5 s");
            break;
        }
    }
    WaitForThreadpoolWaitCallbacks(wait, TRUE);
    CloseThreadpoolWait(wait);
    CloseHandle(signal);
    CloseHandle(callback_ran);
}
BENCHMARK(BM_SetThreadpoolWaitFireRoundTrip)->UseRealTime();

} // namespace
