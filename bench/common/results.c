#include "results.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Names are ours, but quote them properly anyway so the driver's JSON parser never chokes. */
static void print_json_string(const char *text)
{
    putchar('"');
    for (const char *c = text; *c; c++) {
        if (*c == '"' || *c == '\\')
            putchar('\\');
        putchar(*c);
    }
    putchar('"');
}

void bench_emit(const char *impl, const char *scenario, const char *metric, double value, int threads_after)
{
    fputs("{\"impl\":", stdout);
    print_json_string(impl);
    fputs(",\"scenario\":", stdout);
    print_json_string(scenario);
    fputs(",\"metric\":", stdout);
    print_json_string(metric);
    printf(",\"value\":%.9g,\"threads_after\":%d}\n", value, threads_after);
    fflush(stdout);
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void bench_sort_samples(double *samples, size_t count) { qsort(samples, count, sizeof *samples, compare_doubles); }

double bench_percentile(const double *sorted, size_t count, double fraction)
{
    if (count == 0)
        return 0.0;
    size_t rank = (size_t)(fraction * (double)count + 0.999999); /* nearest rank, 1-based */
    if (rank < 1)
        rank = 1;
    if (rank > count)
        rank = count;
    return sorted[rank - 1];
}

void bench_emit_latency(const char *impl, const char *scenario, const char *prefix, const double *sorted_us,
                        size_t count, int threads_after)
{
    static const struct {
        const char *name;
        double fraction;
    } ladder[] = {{"p50_us", 0.50}, {"p99_us", 0.99},  {"p10_us", 0.10},  {"p25_us", 0.25},
                  {"p75_us", 0.75}, {"p90_us", 0.90}, {"p999_us", 0.999}, {"max_us", 1.0}};
    char metric[96];
    for (size_t i = 0; i < sizeof ladder / sizeof ladder[0]; i++) {
        snprintf(metric, sizeof metric, "%s%s", prefix, ladder[i].name);
        bench_emit(impl, scenario, metric, bench_percentile(sorted_us, count, ladder[i].fraction), threads_after);
    }
}
