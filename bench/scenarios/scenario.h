/* What every scenario program shares: how a run is described, the scenario entry points,
 * and a completion latch made of an Interlocked counter and an event. Scenarios use the
 * Win32 names only, so the same sources build against libtpuring and against Windows. */
#ifndef BENCH_SCENARIO_H
#define BENCH_SCENARIO_H

#include <tpuring/win32.h>

#include "portable.h"
#include "results.h"

struct scenario_run {
    const char *impl; /* the name written into every result line */
    int quick;        /* smaller sizes, for a smoke run */
};

typedef int (*scenario_fn)(const struct scenario_run *run);

int scenario_s1_post_throughput(const struct scenario_run *run);
int scenario_s2_many_producers(const struct scenario_run *run);
int scenario_s3_wake_latency(const struct scenario_run *run);
int scenario_s7_memory_per_object(const struct scenario_run *run);
int scenario_s8_blocking_callbacks(const struct scenario_run *run);
int scenario_s9_fan_out(const struct scenario_run *run);
#ifdef BENCH_HAVE_TIMERS
int scenario_s4_timers(const struct scenario_run *run);
#endif
#ifdef BENCH_HAVE_WAITS
int scenario_s5_waits(const struct scenario_run *run);
#endif
#ifdef BENCH_HAVE_ORIGINAL_API
int scenario_s6_original_api(const struct scenario_run *run);
#endif

/* Reports a failed API call on stderr with GetLastError and returns the exit status. */
static inline int scenario_fail(const char *scenario, const char *what)
{
    fprintf(stderr, "%s: %s failed (last error %lu)\n", scenario, what, (unsigned long)GetLastError());
    return 1;
}

/* Counts callbacks down to zero; the callback that reaches zero sets the event. */
struct completion_latch {
    volatile LONG remaining;
    HANDLE done;
};

static inline int completion_latch_init(struct completion_latch *latch, LONG count)
{
    latch->remaining = count;
    latch->done = CreateEventW(NULL, FALSE, FALSE, NULL);
    return latch->done != NULL;
}

static inline void completion_latch_count_down(struct completion_latch *latch)
{
    if (InterlockedDecrement(&latch->remaining) == 0)
        SetEvent(latch->done);
}

static inline void completion_latch_wait(struct completion_latch *latch)
{
    WaitForSingleObject(latch->done, INFINITE);
}

/* A relative due time for SetThreadpoolTimer: a negative count of 100 ns units. */
static inline FILETIME relative_due_time_ms(LONGLONG ms)
{
    ULARGE_INTEGER hundred_ns;
    hundred_ns.QuadPart = (ULONGLONG)(-ms * 10000);
    FILETIME due;
    due.dwLowDateTime = hundred_ns.u.LowPart;
    due.dwHighDateTime = hundred_ns.u.HighPart;
    return due;
}

/* Spreads count items over [1, max_ms] ms, visiting them in a scrambled order so a timer
 * structure sees inserts out of deadline order. */
static inline LONGLONG spread_delay_ms(size_t index, size_t count, LONGLONG max_ms)
{
    size_t scrambled = (index * 7919u) % count; /* 7919 is prime, so this is a permutation */
    return 1 + (LONGLONG)scrambled * (max_ms - 1) / (LONGLONG)(count > 1 ? count - 1 : 1);
}

static inline void completion_latch_destroy(struct completion_latch *latch) { CloseHandle(latch->done); }

#endif /* BENCH_SCENARIO_H */
