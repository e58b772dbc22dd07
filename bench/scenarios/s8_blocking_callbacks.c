/* S8 blocking callbacks: 64 callbacks that each block in Sleep(50) on a pool with default
 * limits. A pool that adds threads when callbacks block finishes in about 50 ms; one that
 * keeps a fixed thread count needs 64 x 50 ms / threads. Reports the time until all ran. */
#include "scenario.h"

#define BLOCKING_CALLBACKS 64
#define BLOCK_MS 50

static VOID CALLBACK blocking_callback(PTP_CALLBACK_INSTANCE instance, PVOID latch)
{
    (void)instance;
    Sleep(BLOCK_MS);
    completion_latch_count_down(latch);
}

int scenario_s8_blocking_callbacks(const struct scenario_run *run)
{
    struct completion_latch latch;
    if (!completion_latch_init(&latch, BLOCKING_CALLBACKS))
        return scenario_fail("S8", "CreateEventW");

    uint64_t start = portable_now_ns();
    for (int i = 0; i < BLOCKING_CALLBACKS; i++)
        if (!TrySubmitThreadpoolCallback(blocking_callback, &latch, NULL))
            return scenario_fail("S8", "TrySubmitThreadpoolCallback");
    completion_latch_wait(&latch);
    uint64_t elapsed = portable_now_ns() - start;

    int threads = portable_thread_count();
    completion_latch_destroy(&latch);
    bench_emit(run->impl, "S8", "all_done_ms", (double)elapsed / 1e6, threads);
    return 0;
}
