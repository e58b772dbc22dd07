/* S3 wake latency: with the pool idle, submit one work item; the callback records the time
 * and sets an event; the submitter waits for the event, then sleeps 200 µs so the workers
 * park again. Reports p50/p99 (and the rest of the ladder) of submit -> callback start. */
#include <stdlib.h>

#include "scenario.h"

#define IDLE_GAP_US 200
#define WARMUP_SAMPLES 50

struct s3_state {
    HANDLE callback_ran;
    volatile uint64_t callback_start_ns;
};

static VOID CALLBACK stamp_work_callback(PTP_CALLBACK_INSTANCE instance, PVOID context, PTP_WORK work)
{
    (void)instance;
    (void)work;
    struct s3_state *state = context;
    state->callback_start_ns = portable_now_ns();
    SetEvent(state->callback_ran);
}

int scenario_s3_wake_latency(const struct scenario_run *run)
{
    const size_t samples = run->quick ? 1000 : 5000;
    struct s3_state state;
    state.callback_ran = CreateEventW(NULL, FALSE, FALSE, NULL);
    if (!state.callback_ran)
        return scenario_fail("S3", "CreateEventW");
    PTP_WORK work = CreateThreadpoolWork(stamp_work_callback, &state, NULL);
    if (!work)
        return scenario_fail("S3", "CreateThreadpoolWork");
    double *latencies_us = malloc(samples * sizeof *latencies_us);
    if (!latencies_us)
        return 1;

    for (size_t i = 0; i < WARMUP_SAMPLES + samples; i++) {
        portable_sleep_us(IDLE_GAP_US);
        uint64_t submitted = portable_now_ns();
        SubmitThreadpoolWork(work);
        WaitForSingleObject(state.callback_ran, INFINITE);
        if (i >= WARMUP_SAMPLES)
            latencies_us[i - WARMUP_SAMPLES] = (double)(state.callback_start_ns - submitted) / 1000.0;
    }
    WaitForThreadpoolWorkCallbacks(work, FALSE);

    int threads = portable_thread_count();
    CloseThreadpoolWork(work);
    CloseHandle(state.callback_ran);
    bench_sort_samples(latencies_us, samples);
    bench_emit_latency(run->impl, "S3", "", latencies_us, samples, threads);
    free(latencies_us);
    return 0;
}
