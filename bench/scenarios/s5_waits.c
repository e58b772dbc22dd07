/* S5 waits (built only when the library declares thread-pool waits): with 1,000 and then
 * 10,000 waits armed on distinct auto-reset events, the cost of arming one, the threads
 * the process then has, and SetEvent -> callback latency sampled the way S3 samples. */
#include <stdlib.h>

#include "scenario.h"

#define IDLE_GAP_US 200
#define CALLBACK_DEADLINE_MS 10000 /* fail with a message rather than hang */

struct wait_sample {
    volatile uint64_t fired_ns;
    HANDLE callback_ran;
};

static VOID CALLBACK stamp_wait_callback(PTP_CALLBACK_INSTANCE instance, PVOID context, PTP_WAIT wait,
                                         TP_WAIT_RESULT result)
{
    (void)instance;
    (void)wait;
    (void)result;
    struct wait_sample *sample = context;
    sample->fired_ns = portable_now_ns();
    SetEvent(sample->callback_ran);
}

static int measure_armed(const struct scenario_run *run, size_t armed, size_t samples)
{
    HANDLE callback_ran = CreateEventW(NULL, FALSE, FALSE, NULL);
    HANDLE *events = calloc(armed, sizeof *events);
    PTP_WAIT *waits = calloc(armed, sizeof *waits);
    struct wait_sample *stamps = calloc(armed, sizeof *stamps);
    double *latencies_us = calloc(samples, sizeof *latencies_us);
    if (!callback_ran || !events || !waits || !stamps || !latencies_us)
        return scenario_fail("S5", "allocation");
    for (size_t i = 0; i < armed; i++) {
        stamps[i].callback_ran = callback_ran;
        events[i] = CreateEventW(NULL, FALSE, FALSE, NULL);
        waits[i] = CreateThreadpoolWait(stamp_wait_callback, &stamps[i], NULL);
        if (!events[i] || !waits[i])
            return scenario_fail("S5", "CreateEventW/CreateThreadpoolWait");
    }

    uint64_t start = portable_now_ns();
    for (size_t i = 0; i < armed; i++)
        SetThreadpoolWait(waits[i], events[i], NULL);
    double arm_us = (double)(portable_now_ns() - start) / 1000.0 / (double)armed;
    portable_sleep_us(20000); /* let any deferred arming finish before sampling */
    int threads = portable_thread_count();

    for (size_t s = 0; s < samples; s++) {
        size_t i = s * armed / samples; /* spread over the armed set */
        portable_sleep_us(IDLE_GAP_US);
        uint64_t signalled = portable_now_ns();
        SetEvent(events[i]);
        if (WaitForSingleObject(callback_ran, CALLBACK_DEADLINE_MS) != WAIT_OBJECT_0) {
            fprintf(stderr, "%s: the callback for armed wait %zu did not run within %d ms\n", "S5", i,
                    CALLBACK_DEADLINE_MS);
            return 1;
        }
        latencies_us[s] = (double)(stamps[i].fired_ns - signalled) / 1000.0;
    }

    for (size_t i = 0; i < armed; i++) {
        SetThreadpoolWait(waits[i], NULL, NULL);
        WaitForThreadpoolWaitCallbacks(waits[i], TRUE);
        CloseThreadpoolWait(waits[i]);
        CloseHandle(events[i]);
    }
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%zu_waits_", armed);
    bench_sort_samples(latencies_us, samples);
    bench_emit_latency(run->impl, "S5", prefix, latencies_us, samples, threads);
    char metric[48];
    snprintf(metric, sizeof metric, "%sarm_us", prefix);
    bench_emit(run->impl, "S5", metric, arm_us, threads);
    CloseHandle(callback_ran);
    free(events);
    free(waits);
    free(stamps);
    free(latencies_us);
    return 0;
}

int scenario_s5_waits(const struct scenario_run *run)
{
    size_t samples = run->quick ? 200 : 1000;
    int status = measure_armed(run, 1000, samples);
    if (status == 0 && !run->quick)
        status = measure_armed(run, 10000, samples);
    return status;
}
