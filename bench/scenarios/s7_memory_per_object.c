/* S7 memory per object: create many objects and divide the growth of the resident set by
 * their number. 100,000 work objects always; 10,000 timer objects (set an hour ahead, so
 * any scheduling structure is included) and 10,000 armed waits where the implementation
 * provides them - fewer, because some implementations insert timers into a sorted list
 * (quadratic in the count) or start a thread per 63 waits. Every kind stays alive until
 * all are measured: memory freed by one kind would otherwise be reused by the next and
 * hide its cost. */
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

static VOID CALLBACK unused_work_callback(PTP_CALLBACK_INSTANCE instance, PVOID context, PTP_WORK work)
{
    (void)instance;
    (void)context;
    (void)work;
}

/* The pointer array is allocated and touched before the baseline is read, so only the
 * objects themselves are counted. */
static void **allocate_touched_slots(size_t count)
{
    void **slots = malloc(count * sizeof *slots);
    if (slots)
        memset(slots, 0, count * sizeof *slots);
    return slots;
}

/* What is alive until the end of the scenario. */
struct s7_objects {
    size_t work_count, timer_count, wait_count;
    PTP_WORK *works;
#ifdef BENCH_HAVE_TIMERS
    PTP_TIMER *timers;
#endif
#ifdef BENCH_HAVE_WAITS
    PTP_WAIT *waits;
    HANDLE never_set;
#endif
};

static int measure_work_objects(const struct scenario_run *run, struct s7_objects *alive, size_t count)
{
    PTP_WORK *works = (PTP_WORK *)allocate_touched_slots(count);
    if (!works)
        return 1;
    uint64_t before = portable_rss_bytes();
    for (size_t i = 0; i < count; i++)
        if (!(works[i] = CreateThreadpoolWork(unused_work_callback, NULL, NULL)))
            return scenario_fail("S7", "CreateThreadpoolWork");
    uint64_t after = portable_rss_bytes();
    int threads = portable_thread_count();
    alive->works = works;
    alive->work_count = count;
    bench_emit(run->impl, "S7", "bytes_per_work", (double)(after - before) / (double)count, threads);
    return 0;
}

#ifdef BENCH_HAVE_TIMERS
static VOID CALLBACK unused_timer_callback(PTP_CALLBACK_INSTANCE instance, PVOID context, PTP_TIMER timer)
{
    (void)instance;
    (void)context;
    (void)timer;
}

static int measure_timer_objects(const struct scenario_run *run, struct s7_objects *alive, size_t count)
{
    PTP_TIMER *timers = (PTP_TIMER *)allocate_touched_slots(count);
    if (!timers)
        return 1;
    FILETIME due = relative_due_time_ms(3600 * 1000);
    uint64_t before = portable_rss_bytes();
    for (size_t i = 0; i < count; i++) {
        if (!(timers[i] = CreateThreadpoolTimer(unused_timer_callback, NULL, NULL)))
            return scenario_fail("S7", "CreateThreadpoolTimer");
        SetThreadpoolTimer(timers[i], &due, 0, 0);
    }
    uint64_t after = portable_rss_bytes();
    int threads = portable_thread_count();
    alive->timers = timers;
    alive->timer_count = count;
    bench_emit(run->impl, "S7", "bytes_per_timer", (double)(after - before) / (double)count, threads);
    return 0;
}
#endif

#ifdef BENCH_HAVE_WAITS
static VOID CALLBACK unused_wait_callback(PTP_CALLBACK_INSTANCE instance, PVOID context, PTP_WAIT wait,
                                          TP_WAIT_RESULT result)
{
    (void)instance;
    (void)context;
    (void)wait;
    (void)result;
}

/* All waits watch one never-signalled event, so only the wait objects and their arming
 * are counted, not a kernel object each. */
static int measure_armed_waits(const struct scenario_run *run, struct s7_objects *alive, size_t count)
{
    HANDLE never_set = CreateEventW(NULL, TRUE, FALSE, NULL);
    PTP_WAIT *waits = (PTP_WAIT *)allocate_touched_slots(count);
    if (!never_set || !waits)
        return scenario_fail("S7", "CreateEventW");
    uint64_t before = portable_rss_bytes();
    for (size_t i = 0; i < count; i++) {
        if (!(waits[i] = CreateThreadpoolWait(unused_wait_callback, NULL, NULL)))
            return scenario_fail("S7", "CreateThreadpoolWait");
        SetThreadpoolWait(waits[i], never_set, NULL);
    }
    uint64_t after = portable_rss_bytes();
    int threads = portable_thread_count();
    alive->waits = waits;
    alive->wait_count = count;
    alive->never_set = never_set;
    bench_emit(run->impl, "S7", "bytes_per_armed_wait", (double)(after - before) / (double)count, threads);
    return 0;
}
#endif

int scenario_s7_memory_per_object(const struct scenario_run *run)
{
    const size_t count = run->quick ? 20000 : 100000;

    /* Bring the default pool up first: its rings and threads are not per-object costs. */
    PTP_WORK warm = CreateThreadpoolWork(unused_work_callback, NULL, NULL);
    if (!warm)
        return scenario_fail("S7", "CreateThreadpoolWork");
    SubmitThreadpoolWork(warm);
    WaitForThreadpoolWorkCallbacks(warm, FALSE);
    CloseThreadpoolWork(warm);

    struct s7_objects alive;
    memset(&alive, 0, sizeof alive);
    int status = measure_work_objects(run, &alive, count);
#ifdef BENCH_HAVE_TIMERS
    if (status == 0)
        status = measure_timer_objects(run, &alive, count / 10);
#endif
#ifdef BENCH_HAVE_WAITS
    if (status == 0)
        status = measure_armed_waits(run, &alive, count / 10);
    for (size_t i = 0; i < alive.wait_count; i++) {
        SetThreadpoolWait(alive.waits[i], NULL, NULL);
        WaitForThreadpoolWaitCallbacks(alive.waits[i], TRUE);
        CloseThreadpoolWait(alive.waits[i]);
    }
    free(alive.waits);
    if (alive.never_set)
        CloseHandle(alive.never_set);
#endif
#ifdef BENCH_HAVE_TIMERS
    for (size_t i = 0; i < alive.timer_count; i++) {
        SetThreadpoolTimer(alive.timers[i], NULL, 0, 0);
        WaitForThreadpoolTimerCallbacks(alive.timers[i], TRUE);
        CloseThreadpoolTimer(alive.timers[i]);
    }
    free(alive.timers);
#endif
    for (size_t i = 0; i < alive.work_count; i++)
        CloseThreadpoolWork(alive.works[i]);
    free(alive.works);
    return status;
}
