/* The scenario program: runs one scenario per process (so each starts from a fresh pool and
 * its thread count is its own) and prints its results as JSON lines.
 *
 *   bench-scenarios --list
 *   bench-scenarios --scenario S1 [--mode direct|ring] [--impl NAME] [--quick]
 *
 * --mode exists only in the native build, where it selects libtpuring's dispatch mode for
 * the default pool before anything else touches it. */
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#ifdef BENCH_NATIVE_TPURING
#include <tpuring/tpuring.h>
#endif

struct scenario_entry {
    const char *id;
    scenario_fn run;
    int dispatch_sensitive; /* worth running in both libtpuring dispatch modes */
};

static const struct scenario_entry scenarios[] = {
    {"S1", scenario_s1_post_throughput, 1},
    {"S2", scenario_s2_many_producers, 1},
    {"S3", scenario_s3_wake_latency, 1},
#ifdef BENCH_HAVE_TIMERS
    {"S4", scenario_s4_timers, 0},
#endif
#ifdef BENCH_HAVE_WAITS
    {"S5", scenario_s5_waits, 0},
#endif
#ifdef BENCH_HAVE_ORIGINAL_API
    {"S6", scenario_s6_original_api, 0},
#endif
    {"S7", scenario_s7_memory_per_object, 0},
    {"S8", scenario_s8_blocking_callbacks, 0},
    {"S9", scenario_s9_fan_out, 1},
};
#define SCENARIO_COUNT (sizeof scenarios / sizeof scenarios[0])

static int usage(const char *program)
{
    fprintf(stderr, "usage: %s --list | --scenario ID [--mode direct|ring] [--impl NAME] [--quick]\n", program);
    return 2;
}

static void list_scenarios(void)
{
    for (size_t i = 0; i < SCENARIO_COUNT; i++) {
#ifdef BENCH_NATIVE_TPURING
        printf("%s%s\n", scenarios[i].id, scenarios[i].dispatch_sensitive ? " direct ring" : " direct");
#else
        printf("%s\n", scenarios[i].id);
#endif
    }
}

#ifdef BENCH_NATIVE_TPURING
static const char *select_dispatch(const char *mode)
{
    const char *reason = tpuring_unsupported_reason();
    if (reason) {
        fprintf(stderr, "libtpuring cannot run here: %s\n", reason);
        return NULL;
    }
    tpuring_dispatch_mode wanted = strcmp(mode, "ring") == 0 ? TPURING_DISPATCH_RING : TPURING_DISPATCH_DIRECT;
    if (!tpuring_set_pool_dispatch(NULL, wanted)) {
        fprintf(stderr, "tpuring_set_pool_dispatch(%s) failed (last error %lu)\n", mode,
                (unsigned long)GetLastError());
        return NULL;
    }
    return wanted == TPURING_DISPATCH_RING ? "libtpuring (ring)" : "libtpuring (direct)";
}
#endif

int main(int argc, char **argv)
{
    const char *scenario_id = NULL, *impl = NULL, *mode = "direct";
    struct scenario_run run = {NULL, 0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0) {
            list_scenarios();
            return 0;
        } else if (strcmp(argv[i], "--quick") == 0) {
            run.quick = 1;
        } else if (i + 1 < argc && strcmp(argv[i], "--scenario") == 0) {
            scenario_id = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--impl") == 0) {
            impl = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--mode") == 0) {
            mode = argv[++i];
            if (strcmp(mode, "direct") != 0 && strcmp(mode, "ring") != 0)
                return usage(argv[0]);
        } else {
            return usage(argv[0]);
        }
    }
    if (!scenario_id)
        return usage(argv[0]);

    const struct scenario_entry *entry = NULL;
    for (size_t i = 0; i < SCENARIO_COUNT; i++)
        if (strcmp(scenarios[i].id, scenario_id) == 0)
            entry = &scenarios[i];
    if (!entry) {
        fprintf(stderr, "scenario %s is not built into this program\n", scenario_id);
        return 3;
    }

#ifdef BENCH_NATIVE_TPURING
    const char *default_impl = select_dispatch(mode);
    if (!default_impl)
        return 1;
#else
    (void)mode; /* one implementation on Windows: nothing to select */
    const char *default_impl = "win32";
#endif
    run.impl = impl ? impl : default_impl;
    return entry->run(&run);
}
