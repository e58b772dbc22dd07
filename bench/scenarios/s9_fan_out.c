/* S9 fan-out/fan-in: one root callback submits 8 more, each of those 8 more, down to 6
 * levels below the root (1 + 8 + ... + 8^6 = 299,593 callbacks); an Interlocked counter
 * and an event gather them in. Reports callbacks per second. */
#include "scenario.h"

#define FAN_OUT 8

struct s9_state {
    struct completion_latch latch;
    int depth; /* levels below the root */
    volatile LONG submit_failures;
};

/* The context is the state plus this callback's level, packed as &levels[level] so each
 * submission needs no allocation. */
static struct s9_state state;
static char levels[16];

static VOID CALLBACK fan_out_callback(PTP_CALLBACK_INSTANCE instance, PVOID context)
{
    (void)instance;
    int level = (int)((char *)context - levels);
    if (level < state.depth)
        for (int i = 0; i < FAN_OUT; i++)
            if (!TrySubmitThreadpoolCallback(fan_out_callback, &levels[level + 1], NULL)) {
                InterlockedIncrement(&state.submit_failures);
                completion_latch_count_down(&state.latch);
            }
    completion_latch_count_down(&state.latch);
}

static LONG tree_size(int depth)
{
    LONG total = 0, width = 1;
    for (int level = 0; level <= depth; level++, width *= FAN_OUT)
        total += width;
    return total;
}

int scenario_s9_fan_out(const struct scenario_run *run)
{
    state.depth = run->quick ? 5 : 6;
    state.submit_failures = 0;
    LONG total = tree_size(state.depth);

    /* Warm-up: a depth-0 tree (one callback) creates the pool. */
    int depth = state.depth;
    state.depth = 0;
    if (!completion_latch_init(&state.latch, 1))
        return scenario_fail("S9", "CreateEventW");
    if (!TrySubmitThreadpoolCallback(fan_out_callback, &levels[0], NULL))
        return scenario_fail("S9", "TrySubmitThreadpoolCallback");
    completion_latch_wait(&state.latch);
    completion_latch_destroy(&state.latch);
    state.depth = depth;

    if (!completion_latch_init(&state.latch, total))
        return scenario_fail("S9", "CreateEventW");
    uint64_t start = portable_now_ns();
    if (!TrySubmitThreadpoolCallback(fan_out_callback, &levels[0], NULL))
        return scenario_fail("S9", "TrySubmitThreadpoolCallback");
    completion_latch_wait(&state.latch);
    uint64_t elapsed = portable_now_ns() - start;

    int threads = portable_thread_count();
    completion_latch_destroy(&state.latch);
    if (state.submit_failures) {
        fprintf(stderr, "S9: %ld submissions failed\n", (long)state.submit_failures);
        return 1;
    }
    bench_emit(run->impl, "S9", "callbacks_per_s", (double)total * 1e9 / (double)elapsed, threads);
    return 0;
}
