// Micro-benchmarks of thread-pool timers (built when <tpuring/win32.h> declares them).
#include <benchmark/benchmark.h>

#include <tpuring/win32.h>

namespace {

VOID CALLBACK never_fires(PTP_CALLBACK_INSTANCE, PVOID, PTP_TIMER) {}

FILETIME relative_due_ms(LONGLONG ms)
{
    ULARGE_INTEGER hundred_ns;
    hundred_ns.QuadPart = ULONGLONG(-ms * 10000);
    return FILETIME{hundred_ns.u.LowPart, hundred_ns.u.HighPart};
}

// Arm a minute ahead, then disarm: the cost of a timer that is set and cancelled before it
// is due (timeouts that never happen, the common case).
void BM_SetThreadpoolTimerSetCancel(benchmark::State &state)
{
    PTP_TIMER timer = CreateThreadpoolTimer(never_fires, nullptr, nullptr);
    FILETIME in_a_minute = relative_due_ms(60 * 1000);
    for (auto _ : state) {
        SetThreadpoolTimer(timer, &in_a_minute, 0, 0);
        SetThreadpoolTimer(timer, nullptr, 0, 0);
    }
    WaitForThreadpoolTimerCallbacks(timer, TRUE);
    CloseThreadpoolTimer(timer);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SetThreadpoolTimerSetCancel);

// Re-arming an armed timer with a later due time: the head of the pool's timer structure
// moves each time.
void BM_SetThreadpoolTimerRearm(benchmark::State &state)
{
    PTP_TIMER timer = CreateThreadpoolTimer(never_fires, nullptr, nullptr);
    LONGLONG ms = 60 * 1000;
    for (auto _ : state) {
        FILETIME due = relative_due_ms(ms);
        ms = ms == 60 * 1000 ? 61 * 1000 : 60 * 1000;
        SetThreadpoolTimer(timer, &due, 0, 0);
    }
    SetThreadpoolTimer(timer, nullptr, 0, 0);
    WaitForThreadpoolTimerCallbacks(timer, TRUE);
    CloseThreadpoolTimer(timer);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SetThreadpoolTimerRearm);

} // namespace
