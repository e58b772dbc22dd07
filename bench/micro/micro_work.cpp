// Micro-benchmarks of the work-object hot paths, in both dispatch modes (the argument is
// the tpuring_dispatch_mode of the default pool).
#include <benchmark/benchmark.h>

#include <tpuring/tpuring.h>
#include <tpuring/win32.h>

namespace {

void select_mode(benchmark::State &state)
{
    auto mode = static_cast<tpuring_dispatch_mode>(state.range(0));
    if (!tpuring_set_pool_dispatch(nullptr, mode))
        state.SkipWithError("tpuring_set_pool_dispatch failed");
    state.SetLabel(mode == TPURING_DISPATCH_RING ? "ring" : "direct");
}

VOID CALLBACK empty_work(PTP_CALLBACK_INSTANCE, PVOID, PTP_WORK) {}
VOID CALLBACK count_down(PTP_CALLBACK_INSTANCE, PVOID counter)
{
    InterlockedDecrement(static_cast<volatile LONG *>(counter));
}

// The cost of one SubmitThreadpoolWork to the caller; callbacks run concurrently on the
// workers and are waited for outside the timed loop.
void BM_SubmitThreadpoolWork(benchmark::State &state)
{
    select_mode(state);
    PTP_WORK work = CreateThreadpoolWork(empty_work, nullptr, nullptr);
    for (auto _ : state)
        SubmitThreadpoolWork(work);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SubmitThreadpoolWork)->Arg(TPURING_DISPATCH_DIRECT)->Arg(TPURING_DISPATCH_RING);

// The cost of one TrySubmitThreadpoolCallback (a new callback each time, so no coalescing).
void BM_TrySubmitThreadpoolCallback(benchmark::State &state)
{
    select_mode(state);
    volatile LONG outstanding = 0;
    for (auto _ : state) {
        InterlockedIncrement(&outstanding);
        TrySubmitThreadpoolCallback(count_down, const_cast<LONG *>(&outstanding), nullptr);
    }
    while (outstanding != 0)
        Sleep(1);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TrySubmitThreadpoolCallback)->Arg(TPURING_DISPATCH_DIRECT)->Arg(TPURING_DISPATCH_RING);

// Post and dispatch round trip: submit, then wait until the callback has run.
void BM_SubmitAndWaitRoundTrip(benchmark::State &state)
{
    select_mode(state);
    PTP_WORK work = CreateThreadpoolWork(empty_work, nullptr, nullptr);
    for (auto _ : state) {
        SubmitThreadpoolWork(work);
        WaitForThreadpoolWorkCallbacks(work, FALSE);
    }
    CloseThreadpoolWork(work);
}
BENCHMARK(BM_SubmitAndWaitRoundTrip)->Arg(TPURING_DISPATCH_DIRECT)->Arg(TPURING_DISPATCH_RING)->UseRealTime();

} // namespace
