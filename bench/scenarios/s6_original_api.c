/* S6 the original API (built only when the library declares it): timer-queue timers
 * measured as S4 measures thread-pool timers, and RegisterWaitForSingleObject waits as S5
 * measures thread-pool waits (1,000 armed). */
#include <stdlib.h>

#include "scenario.h"

#define TIMER_COUNT 2000
#define LONGEST_DELAY_MS 500
#define ARMED_WAITS 1000
#define IDLE_GAP_US 200
#define CALLBACK_DEADLINE_MS 10000 /* fail with a message rather than hang */

struct legacy_sample {
    uint64_t due_ns;
    volatile uint64_t fired_ns;
    struct completion_latch *latch; /* timers count down */
    HANDLE callback_ran;            /* waits signal */
};

static VOID CALLBACK stamp_timer_queue_callback(PVOID context, BOOLEAN timer_fired)
{
    (void)timer_fired;
    struct legacy_sample *sample = context;
    sample->fired_ns = portable_now_ns();
    completion_latch_count_down(sample->latch);
}

static VOID CALLBACK stamp_registered_wait_callback(PVOID context, BOOLEAN timed_out)
{
    (void)timed_out;
    struct legacy_sample *sample = context;
    sample->fired_ns = portable_now_ns();
    SetEvent(sample->callback_ran);
}

static int measure_timer_queue(const struct scenario_run *run)
{
    struct completion_latch latch;
    struct legacy_sample *samples = calloc(TIMER_COUNT, sizeof *samples);
    HANDLE *timers = calloc(TIMER_COUNT, sizeof *timers);
    double *lateness_us = calloc(TIMER_COUNT, sizeof *lateness_us);
    if (!samples || !timers || !lateness_us || !completion_latch_init(&latch, TIMER_COUNT))
        return scenario_fail("S6", "allocation");
    for (size_t i = 0; i < TIMER_COUNT; i++) {
        LONGLONG delay_ms = spread_delay_ms(i, TIMER_COUNT, LONGEST_DELAY_MS);
        samples[i].latch = &latch;
        samples[i].due_ns = portable_now_ns() + (uint64_t)delay_ms * 1000000u;
        if (!CreateTimerQueueTimer(&timers[i], NULL, stamp_timer_queue_callback, &samples[i], (DWORD)delay_ms, 0,
                                   WT_EXECUTEDEFAULT))
            return scenario_fail("S6", "CreateTimerQueueTimer");
    }
    completion_latch_wait(&latch);
    int threads = portable_thread_count();
    for (size_t i = 0; i < TIMER_COUNT; i++) {
        lateness_us[i] = ((double)samples[i].fired_ns - (double)samples[i].due_ns) / 1000.0;
        DeleteTimerQueueTimer(NULL, timers[i], INVALID_HANDLE_VALUE);
    }
    bench_sort_samples(lateness_us, TIMER_COUNT);
    bench_emit_latency(run->impl, "S6", "timer_lateness_", lateness_us, TIMER_COUNT, threads);
    completion_latch_destroy(&latch);
    free(samples);
    free(timers);
    free(lateness_us);
    return 0;
}

static int measure_registered_waits(const struct scenario_run *run, size_t samples)
{
    HANDLE callback_ran = CreateEventW(NULL, FALSE, FALSE, NULL);
    HANDLE *events = calloc(ARMED_WAITS, sizeof *events);
    HANDLE *registrations = calloc(ARMED_WAITS, sizeof *registrations);
    struct legacy_sample *stamps = calloc(ARMED_WAITS, sizeof *stamps);
    double *latencies_us = calloc(samples, sizeof *latencies_us);
    if (!callback_ran || !events || !registrations || !stamps || !latencies_us)
        return scenario_fail("S6", "allocation");
    for (size_t i = 0; i < ARMED_WAITS; i++)
        if (!(events[i] = CreateEventW(NULL, FALSE, FALSE, NULL)))
            return scenario_fail("S6", "CreateEventW");

    uint64_t start = portable_now_ns();
    for (size_t i = 0; i < ARMED_WAITS; i++) {
        stamps[i].callback_ran = callback_ran;
        if (!RegisterWaitForSingleObject(&registrations[i], events[i], stamp_registered_wait_callback, &stamps[i],
                                         INFINITE, WT_EXECUTEONLYONCE))
            return scenario_fail("S6", "RegisterWaitForSingleObject");
    }
    double arm_us = (double)(portable_now_ns() - start) / 1000.0 / ARMED_WAITS;
    portable_sleep_us(20000);
    int threads = portable_thread_count();

    for (size_t s = 0; s < samples; s++) {
        size_t i = s * ARMED_WAITS / samples;
        portable_sleep_us(IDLE_GAP_US);
        uint64_t signalled = portable_now_ns();
        SetEvent(events[i]);
        if (WaitForSingleObject(callback_ran, CALLBACK_DEADLINE_MS) != WAIT_OBJECT_0) {
            fprintf(stderr, "%s: the callback for armed wait %zu did not run within %d ms\n", "S6", i,
                    CALLBACK_DEADLINE_MS);
            return 1;
        }
        latencies_us[s] = (double)(stamps[i].fired_ns - signalled) / 1000.0;
    }
    for (size_t i = 0; i < ARMED_WAITS; i++) {
        UnregisterWaitEx(registrations[i], INVALID_HANDLE_VALUE);
        CloseHandle(events[i]);
    }
    bench_sort_samples(latencies_us, samples);
    bench_emit_latency(run->impl, "S6", "wait_", latencies_us, samples, threads);
    bench_emit(run->impl, "S6", "wait_arm_us", arm_us, threads);
    CloseHandle(callback_ran);
    free(events);
    free(registrations);
    free(stamps);
    free(latencies_us);
    return 0;
}

int scenario_s6_original_api(const struct scenario_run *run)
{
    int status = measure_timer_queue(run);
    return status ? status : measure_registered_waits(run, run->quick ? 200 : 1000);
}
