/* S4 timers (built only when the library declares thread-pool timers): lateness of 2,000
 * one-shot timers due over 1-500 ms, and how many set+cancel pairs per second one timer
 * takes. */
#include <stdlib.h>

#include "scenario.h"

#define TIMER_COUNT 2000
#define LONGEST_DELAY_MS 500

struct timer_sample {
    uint64_t due_ns;
    volatile uint64_t fired_ns;
    struct completion_latch *latch;
};

static VOID CALLBACK stamp_timer_callback(PTP_CALLBACK_INSTANCE instance, PVOID context, PTP_TIMER timer)
{
    (void)instance;
    (void)timer;
    struct timer_sample *sample = context;
    sample->fired_ns = portable_now_ns();
    completion_latch_count_down(sample->latch);
}

static VOID CALLBACK never_timer_callback(PTP_CALLBACK_INSTANCE instance, PVOID context, PTP_TIMER timer)
{
    (void)instance;
    (void)context;
    (void)timer;
}

static int measure_lateness(const struct scenario_run *run)
{
    struct completion_latch latch;
    struct timer_sample *samples = calloc(TIMER_COUNT, sizeof *samples);
    PTP_TIMER *timers = calloc(TIMER_COUNT, sizeof *timers);
    double *lateness_us = calloc(TIMER_COUNT, sizeof *lateness_us);
    if (!samples || !timers || !lateness_us || !completion_latch_init(&latch, TIMER_COUNT))
        return scenario_fail("S4", "allocation");
    for (size_t i = 0; i < TIMER_COUNT; i++) {
        samples[i].latch = &latch;
        if (!(timers[i] = CreateThreadpoolTimer(stamp_timer_callback, &samples[i], NULL)))
            return scenario_fail("S4", "CreateThreadpoolTimer");
    }
    for (size_t i = 0; i < TIMER_COUNT; i++) {
        LONGLONG delay_ms = spread_delay_ms(i, TIMER_COUNT, LONGEST_DELAY_MS);
        FILETIME due = relative_due_time_ms(delay_ms);
        samples[i].due_ns = portable_now_ns() + (uint64_t)delay_ms * 1000000u;
        SetThreadpoolTimer(timers[i], &due, 0, 0);
    }
    completion_latch_wait(&latch);
    int threads = portable_thread_count();

    for (size_t i = 0; i < TIMER_COUNT; i++) {
        lateness_us[i] = ((double)samples[i].fired_ns - (double)samples[i].due_ns) / 1000.0;
        WaitForThreadpoolTimerCallbacks(timers[i], FALSE);
        CloseThreadpoolTimer(timers[i]);
    }
    bench_sort_samples(lateness_us, TIMER_COUNT);
    bench_emit_latency(run->impl, "S4", "lateness_", lateness_us, TIMER_COUNT, threads);
    completion_latch_destroy(&latch);
    free(samples);
    free(timers);
    free(lateness_us);
    return 0;
}

static int measure_set_cancel(const struct scenario_run *run)
{
    const long pairs = run->quick ? 20000 : 200000;
    PTP_TIMER timer = CreateThreadpoolTimer(never_timer_callback, NULL, NULL);
    if (!timer)
        return scenario_fail("S4", "CreateThreadpoolTimer");
    FILETIME in_a_minute = relative_due_time_ms(60 * 1000);
    uint64_t start = portable_now_ns();
    for (long i = 0; i < pairs; i++) {
        SetThreadpoolTimer(timer, &in_a_minute, 0, 0);
        SetThreadpoolTimer(timer, NULL, 0, 0);
    }
    uint64_t elapsed = portable_now_ns() - start;
    WaitForThreadpoolTimerCallbacks(timer, TRUE);
    int threads = portable_thread_count();
    CloseThreadpoolTimer(timer);
    bench_emit(run->impl, "S4", "set_cancel_pairs_per_s", (double)pairs * 1e9 / (double)elapsed, threads);
    return 0;
}

/* Arming with many already armed: 20,000 timers set at random due times between one and
 * two hours ahead, then the cost per timer of arming 20,000 more the same way. */
static int measure_arm_cost(const struct scenario_run *run)
{
    const size_t already = run->quick ? 5000 : 20000;
    const size_t measured = already;
    PTP_TIMER *timers = calloc(already + measured, sizeof *timers);
    FILETIME *due = calloc(already + measured, sizeof *due);
    if (!timers || !due)
        return scenario_fail("S4", "allocation");
    unsigned seed = 12345;
    for (size_t i = 0; i < already + measured; i++) {
        if (!(timers[i] = CreateThreadpoolTimer(never_timer_callback, NULL, NULL)))
            return scenario_fail("S4", "CreateThreadpoolTimer");
        seed = seed * 1103515245u + 12345u;
        due[i] = relative_due_time_ms(3600 * 1000 + (LONGLONG)(seed >> 8) % (3600 * 1000));
    }
    for (size_t i = 0; i < already; i++)
        SetThreadpoolTimer(timers[i], &due[i], 0, 0);
    uint64_t start = portable_now_ns();
    for (size_t i = already; i < already + measured; i++)
        SetThreadpoolTimer(timers[i], &due[i], 0, 0);
    uint64_t elapsed = portable_now_ns() - start;
    int threads = portable_thread_count();
    for (size_t i = 0; i < already + measured; i++) {
        SetThreadpoolTimer(timers[i], NULL, 0, 0);
        WaitForThreadpoolTimerCallbacks(timers[i], TRUE);
        CloseThreadpoolTimer(timers[i]);
    }
    free(timers);
    free(due);
    bench_emit(run->impl, "S4", "arm_us_with_20k_armed", (double)elapsed / 1000.0 / (double)measured, threads);
    return 0;
}

int scenario_s4_timers(const struct scenario_run *run)
{
    int status = measure_lateness(run);
    if (status == 0)
        status = measure_set_cancel(run);
    return status ? status : measure_arm_cost(run);
}
