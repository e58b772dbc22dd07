// The scenarios S1, S2, S3, S8 and S9 written once for every peer that fits this shape:
//
//   struct Pool {
//       Pool(unsigned threads, peer::Callback callback);
//       void post(void *context);   // from any thread, also from inside a callback;
//                                   // context is never null
//       void drain();               // returns when all posted work has run; may stop the pool
//       void help_until_idle();     // optional: the pool's own wait, in which the calling
//                                   // thread runs callbacks (TBB's task_group::wait)
//   };
//
// Each scenario mirrors its Win32 twin in bench/scenarios/ step for step, so the figures
// compare the pools and not the harnesses. (libuv, whose requests must be queued from its
// loop thread, has its own file.)
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "futex_event.hpp"
#include "portable.h"
#include "results.h"

namespace peer {

using Callback = void (*)(void *);

struct Options {
    std::string scenario;
    std::string impl;
    bool quick = false;
    unsigned threads = std::thread::hardware_concurrency();
};

inline constexpr unsigned idle_gap_us = 200;
inline constexpr int wake_warmup_samples = 50;
inline constexpr int blocking_callbacks = 64;
inline constexpr int block_ms = 50;
inline constexpr int fan_out = 8;

// A non-null context for callbacks that ignore theirs (GLib rejects null items).
inline char unused_context;

template <class Pool> inline Pool *running_pool = nullptr;

// Waits for a latch the way a user of this pool would: a pool whose idiom is to help while
// waiting does so first; the latch then confirms every callback has run.
template <class Pool> void await_latch(Pool &pool, CountdownLatch &latch)
{
    if constexpr (requires { pool.help_until_idle(); })
        pool.help_until_idle();
    latch.wait();
}

// S1: one thread posts 1,000,000 times, empty callback; drain marks the end.
inline void empty_callback(void *) {}

template <class Pool> int run_post_throughput(const Options &options)
{
    const long posts = options.quick ? 100000 : 1000000;
    Pool pool(options.threads, empty_callback);
    auto start = portable_now_ns();
    for (long i = 0; i < posts; i++)
        pool.post(&unused_context);
    int threads = portable_thread_count(); // before drain, which may stop the workers
    pool.drain();
    auto elapsed = portable_now_ns() - start;
    bench_emit(options.impl.c_str(), "S1", "callbacks_per_s", posts * 1e9 / double(elapsed), threads);
    return 0;
}

// S2: two producer threads post 250,000 each; a countdown latch gathers the callbacks.
inline void count_down_callback(void *latch) { static_cast<CountdownLatch *>(latch)->count_down(); }

template <class Pool> int run_many_producers(const Options &options)
{
    constexpr int producers = 2;
    const long per_producer = options.quick ? 25000 : 250000;
    Pool pool(options.threads, count_down_callback);
    {
        CountdownLatch warm(1);
        pool.post(&warm);
        warm.wait();
    }
    CountdownLatch latch(per_producer * producers);
    std::atomic<bool> started{false};
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; p++)
        threads.emplace_back([&] {
            while (!started.load(std::memory_order_acquire))
                ;
            for (long i = 0; i < per_producer; i++)
                pool.post(&latch);
        });
    auto start = portable_now_ns();
    started.store(true, std::memory_order_release);
    await_latch(pool, latch);
    auto elapsed = portable_now_ns() - start;
    for (auto &thread : threads)
        thread.join();
    int thread_count = portable_thread_count();
    pool.drain();
    bench_emit(options.impl.c_str(), "S2", "callbacks_per_s", per_producer * producers * 1e9 / double(elapsed),
               thread_count);
    return 0;
}

// S3: idle pool, post one, the callback stamps the time and sets an event; sleep 200 µs.
struct WakeStamp {
    AutoResetEvent callback_ran;
    std::atomic<uint64_t> callback_start_ns{0};
};

inline void stamp_callback(void *context)
{
    auto *stamp = static_cast<WakeStamp *>(context);
    stamp->callback_start_ns.store(portable_now_ns(), std::memory_order_relaxed);
    stamp->callback_ran.set();
}

template <class Pool> int run_wake_latency(const Options &options)
{
    const int samples = options.quick ? 1000 : 5000;
    Pool pool(options.threads, stamp_callback);
    WakeStamp stamp;
    std::vector<double> latencies_us;
    latencies_us.reserve(samples);
    for (int i = 0; i < wake_warmup_samples + samples; i++) {
        portable_sleep_us(idle_gap_us);
        auto submitted = portable_now_ns();
        pool.post(&stamp);
        stamp.callback_ran.wait();
        if (i >= wake_warmup_samples)
            latencies_us.push_back(double(stamp.callback_start_ns.load() - submitted) / 1000.0);
    }
    int threads = portable_thread_count();
    pool.drain();
    bench_sort_samples(latencies_us.data(), latencies_us.size());
    bench_emit_latency(options.impl.c_str(), "S3", "", latencies_us.data(), latencies_us.size(), threads);
    return 0;
}

// S8: 64 callbacks that each block for 50 ms.
inline void blocking_callback(void *latch)
{
    std::this_thread::sleep_for(std::chrono::milliseconds(block_ms));
    static_cast<CountdownLatch *>(latch)->count_down();
}

template <class Pool> int run_blocking_callbacks(const Options &options)
{
    Pool pool(options.threads, blocking_callback);
    CountdownLatch latch(blocking_callbacks);
    auto start = portable_now_ns();
    for (int i = 0; i < blocking_callbacks; i++)
        pool.post(&latch);
    await_latch(pool, latch);
    auto elapsed = portable_now_ns() - start;
    int threads = portable_thread_count();
    pool.drain();
    bench_emit(options.impl.c_str(), "S8", "all_done_ms", double(elapsed) / 1e6, threads);
    return 0;
}

// S9: each callback below the last level posts 8 more; the context encodes the level.
struct FanOut {
    int depth = 0;
    CountdownLatch *latch = nullptr;
    char levels[16] = {};
};
inline FanOut fan;

template <class Pool> void fan_out_callback(void *context)
{
    int level = int(static_cast<char *>(context) - fan.levels);
    if (level < fan.depth)
        for (int i = 0; i < fan_out; i++)
            running_pool<Pool>->post(&fan.levels[level + 1]);
    fan.latch->count_down();
}

inline long fan_out_tree_size(int depth)
{
    long total = 0, width = 1;
    for (int level = 0; level <= depth; level++, width *= fan_out)
        total += width;
    return total;
}

template <class Pool> int run_fan_out(const Options &options)
{
    Pool pool(options.threads, fan_out_callback<Pool>);
    running_pool<Pool> = &pool;
    {
        CountdownLatch warm(1); // depth 0: one callback brings the pool up
        fan.depth = 0;
        fan.latch = &warm;
        pool.post(&fan.levels[0]);
        warm.wait();
    }
    fan.depth = options.quick ? 5 : 6;
    long total = fan_out_tree_size(fan.depth);
    CountdownLatch latch(total);
    fan.latch = &latch;
    auto start = portable_now_ns();
    pool.post(&fan.levels[0]);
    await_latch(pool, latch);
    auto elapsed = portable_now_ns() - start;
    int threads = portable_thread_count();
    pool.drain();
    running_pool<Pool> = nullptr;
    bench_emit(options.impl.c_str(), "S9", "callbacks_per_s", total * 1e9 / double(elapsed), threads);
    return 0;
}

// Shared command line: --list | --scenario ID [--impl NAME] [--threads N] [--quick]
inline bool parse_options(int argc, char **argv, Options &options, bool &list_only)
{
    list_only = false;
    for (int i = 1; i < argc; i++) {
        std::string arg = argv[i];
        if (arg == "--list")
            list_only = true;
        else if (arg == "--quick")
            options.quick = true;
        else if (arg == "--scenario" && i + 1 < argc)
            options.scenario = argv[++i];
        else if (arg == "--impl" && i + 1 < argc)
            options.impl = argv[++i];
        else if (arg == "--threads" && i + 1 < argc)
            options.threads = unsigned(std::atoi(argv[++i]));
        else
            return false;
    }
    if (options.threads == 0)
        options.threads = 2;
    return list_only || !options.scenario.empty();
}

struct ScenarioEntry {
    const char *id;
    int (*run)(const Options &);
};

inline int peer_main(int argc, char **argv, const char *default_impl, const std::vector<ScenarioEntry> &scenarios)
{
    Options options;
    bool list_only;
    if (!parse_options(argc, argv, options, list_only)) {
        std::fprintf(stderr, "usage: %s --list | --scenario ID [--impl NAME] [--threads N] [--quick]\n", argv[0]);
        return 2;
    }
    if (list_only) {
        for (const auto &entry : scenarios)
            std::printf("%s\n", entry.id);
        return 0;
    }
    if (options.impl.empty())
        options.impl = default_impl;
    for (const auto &entry : scenarios)
        if (options.scenario == entry.id)
            return entry.run(options);
    std::fprintf(stderr, "%s: scenario %s is not implemented for this peer\n", argv[0], options.scenario.c_str());
    return 3;
}

// The five scenarios every Pool-shaped peer runs.
template <class Pool> std::vector<ScenarioEntry> standard_scenarios()
{
    return {{"S1", run_post_throughput<Pool>},
            {"S2", run_many_producers<Pool>},
            {"S3", run_wake_latency<Pool>},
            {"S8", run_blocking_callbacks<Pool>},
            {"S9", run_fan_out<Pool>}};
}

} // namespace peer
