// bench-micro: Google Benchmark's main. The benchmarks live one object kind per file:
// micro_work.cpp (posts and dispatch), micro_event.cpp (events and waits on them), and,
// once the library has them, micro_timer.cpp (timer set/cancel) and micro_wait.cpp (wait arm).
#include <benchmark/benchmark.h>

BENCHMARK_MAIN();
