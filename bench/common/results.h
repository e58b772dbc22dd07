/* Result lines shared by every benchmark program: one JSON object per line on stdout,
 * {"impl":..., "scenario":..., "metric":..., "value":..., "threads_after":...}, which
 * tools/bench collects. Plain C so the Windows build of the scenarios can use it too. */
#ifndef BENCH_RESULTS_H
#define BENCH_RESULTS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void bench_emit(const char *impl, const char *scenario, const char *metric, double value, int threads_after);

/* Sorts samples ascending in place; then bench_percentile reads the nearest-rank value
 * for fraction (0.5 = median, 0.99 = p99). */
void bench_sort_samples(double *samples, size_t count);
double bench_percentile(const double *sorted, size_t count, double fraction);

/* Emits the latency ladder of a sorted sample set in microseconds: p50_us and p99_us (the
 * headline figures) plus p10/p25/p75/p90/p999 for the distribution chart. `prefix` is
 * put in front of every metric name ("" for none, "timer_" for S6's timers, ...). */
void bench_emit_latency(const char *impl, const char *scenario, const char *prefix, const double *sorted_us,
                        size_t count, int threads_after);

#ifdef __cplusplus
}
#endif

#endif /* BENCH_RESULTS_H */
