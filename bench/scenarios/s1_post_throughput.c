/* S1 post throughput: one work object posted 1,000,000 times from one thread with an empty
 * callback; WaitForThreadpoolWorkCallbacks marks the end. Reports callbacks per second. */
#include "scenario.h"

static VOID CALLBACK empty_work_callback(PTP_CALLBACK_INSTANCE instance, PVOID context, PTP_WORK work)
{
    (void)instance;
    (void)context;
    (void)work;
}

int scenario_s1_post_throughput(const struct scenario_run *run)
{
    const long posts = run->quick ? 100000 : 1000000;
    PTP_WORK work = CreateThreadpoolWork(empty_work_callback, NULL, NULL);
    if (!work)
        return scenario_fail("S1", "CreateThreadpoolWork");

    /* One round trip first, so pool creation and the first worker are not in the figure. */
    SubmitThreadpoolWork(work);
    WaitForThreadpoolWorkCallbacks(work, FALSE);

    uint64_t start = portable_now_ns();
    for (long i = 0; i < posts; i++)
        SubmitThreadpoolWork(work);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    uint64_t elapsed = portable_now_ns() - start;

    int threads = portable_thread_count();
    CloseThreadpoolWork(work);
    bench_emit(run->impl, "S1", "callbacks_per_s", (double)posts * 1e9 / (double)elapsed, threads);
    return 0;
}
