/* S2 many objects: 2 producer threads each make 250,000 TrySubmitThreadpoolCallback calls;
 * an Interlocked counter and an event mark the last callback. Reports callbacks per second
 * from the moment the producers are released until the last callback has run. */
#include "scenario.h"

#define PRODUCERS 2

struct s2_state {
    struct completion_latch latch;
    volatile LONG started; /* producers spin on this so they start together */
    long per_producer;
    volatile LONG submit_failures;
};

static VOID CALLBACK count_callback(PTP_CALLBACK_INSTANCE instance, PVOID latch)
{
    (void)instance;
    completion_latch_count_down(latch);
}

static unsigned long producer_main(void *arg)
{
    struct s2_state *state = arg;
    while (!state->started)
        ;
    for (long i = 0; i < state->per_producer; i++)
        if (!TrySubmitThreadpoolCallback(count_callback, &state->latch, NULL)) {
            InterlockedIncrement(&state->submit_failures);
            completion_latch_count_down(&state->latch); /* keep the count honest */
        }
    return 0;
}

int scenario_s2_many_producers(const struct scenario_run *run)
{
    struct s2_state state;
    state.per_producer = run->quick ? 25000 : 250000;
    state.started = 0;
    state.submit_failures = 0;
    if (!completion_latch_init(&state.latch, (LONG)(state.per_producer * PRODUCERS)))
        return scenario_fail("S2", "CreateEventW");

    /* Warm the default pool up so its creation is not measured. */
    struct completion_latch warm;
    if (!completion_latch_init(&warm, 1))
        return scenario_fail("S2", "CreateEventW");
    if (!TrySubmitThreadpoolCallback(count_callback, &warm, NULL))
        return scenario_fail("S2", "TrySubmitThreadpoolCallback");
    completion_latch_wait(&warm);
    completion_latch_destroy(&warm);

    portable_thread producers[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++)
        if (portable_thread_start(&producers[i], producer_main, &state) != 0) {
            fprintf(stderr, "S2: cannot start a producer thread\n");
            return 1;
        }
    uint64_t start = portable_now_ns();
    InterlockedExchange(&state.started, 1);
    completion_latch_wait(&state.latch);
    uint64_t elapsed = portable_now_ns() - start;
    for (int i = 0; i < PRODUCERS; i++)
        portable_thread_join(producers[i]);

    int threads = portable_thread_count();
    completion_latch_destroy(&state.latch);
    if (state.submit_failures) {
        fprintf(stderr, "S2: %ld TrySubmitThreadpoolCallback calls failed\n", (long)state.submit_failures);
        return 1;
    }
    bench_emit(run->impl, "S2", "callbacks_per_s", (double)(state.per_producer * PRODUCERS) * 1e9 / (double)elapsed,
               threads);
    return 0;
}
