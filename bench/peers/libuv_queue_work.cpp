// Peer: libuv's thread pool through uv_queue_work, sized to one thread per core with
// UV_THREADPOOL_SIZE. libuv requests may only be queued from the loop thread, so each
// scenario is written the way a libuv program would do it: the main thread runs the loop
// and queues; other threads hand work over with uv_async_send; follow-up work is queued
// from the after-work callback on the loop thread. Requests are recycled through a free
// list (one uv_work_t per request in flight, as libuv requires).
#include <uv.h>

#include <mutex>

#include "peer_harness.hpp"

namespace {

struct Request {
    uv_work_t work;
    int level = 0; // S9 only
};

class RequestPool {
public:
    Request *take()
    {
        if (free_.empty())
            return new Request;
        Request *request = free_.back();
        free_.pop_back();
        return request;
    }
    void give_back(Request *request) { free_.push_back(request); }
    ~RequestPool()
    {
        for (Request *request : free_)
            delete request;
    }

private:
    std::vector<Request *> free_;
};

uv_loop_t *loop;
RequestPool requests;

Request *request_of(uv_work_t *work) { return reinterpret_cast<Request *>(work); }

void queue(uv_work_cb work_cb, uv_after_work_cb after_cb, int level = 0)
{
    Request *request = requests.take();
    request->level = level;
    if (uv_queue_work(loop, &request->work, work_cb, after_cb) != 0) {
        std::fprintf(stderr, "uv_queue_work failed\n");
        std::exit(1);
    }
}

void empty_work(uv_work_t *) {}

// S1: the loop thread posts 1,000,000; each completion on the loop posts the next until all
// are out, keeping up to `window` in flight.
long s1_remaining_to_post;

void s1_after(uv_work_t *work, int)
{
    if (s1_remaining_to_post > 0) {
        s1_remaining_to_post--;
        uv_queue_work(loop, work, empty_work, s1_after);
    } else {
        requests.give_back(request_of(work));
    }
}

int run_post_throughput(const peer::Options &options)
{
    const long posts = options.quick ? 100000 : 1000000;
    const long window = 4096;
    queue(empty_work, s1_after); // warm-up: starts the threads
    s1_remaining_to_post = 0;
    uv_run(loop, UV_RUN_DEFAULT);

    auto start = portable_now_ns();
    s1_remaining_to_post = posts - window;
    for (long i = 0; i < window; i++)
        queue(empty_work, s1_after);
    int threads = portable_thread_count();
    uv_run(loop, UV_RUN_DEFAULT);
    auto elapsed = portable_now_ns() - start;
    bench_emit(options.impl.c_str(), "S1", "callbacks_per_s", posts * 1e9 / double(elapsed), threads);
    return 0;
}

// S2: two producer threads hand batches to the loop through uv_async_send; the loop queues
// them. Completions are counted on the loop; the last one closes the async handle.
struct Handover {
    std::mutex mutex;
    long pending = 0; // items handed over, not yet queued
    uv_async_t async;
    long completed = 0;
    long total = 0;
    uint64_t done_ns = 0;
} handover;

void s2_after(uv_work_t *work, int)
{
    requests.give_back(request_of(work));
    if (++handover.completed == handover.total) {
        handover.done_ns = portable_now_ns();
        uv_close(reinterpret_cast<uv_handle_t *>(&handover.async), nullptr);
    }
}

void s2_take_handover(uv_async_t *)
{
    long count;
    {
        std::lock_guard lock(handover.mutex);
        count = handover.pending;
        handover.pending = 0;
    }
    for (long i = 0; i < count; i++)
        queue(empty_work, s2_after);
}

int run_many_producers(const peer::Options &options)
{
    constexpr int producers = 2;
    const long per_producer = options.quick ? 25000 : 250000;
    queue(empty_work, [](uv_work_t *work, int) { requests.give_back(request_of(work)); });
    uv_run(loop, UV_RUN_DEFAULT); // warm-up

    handover.total = per_producer * producers;
    uv_async_init(loop, &handover.async, s2_take_handover);
    std::atomic<bool> started{false};
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; p++)
        threads.emplace_back([&] {
            while (!started.load(std::memory_order_acquire))
                ;
            for (long i = 0; i < per_producer; i++) {
                {
                    std::lock_guard lock(handover.mutex);
                    handover.pending++;
                }
                uv_async_send(&handover.async);
            }
        });
    auto start = portable_now_ns();
    started.store(true, std::memory_order_release);
    uv_run(loop, UV_RUN_DEFAULT);
    for (auto &thread : threads)
        thread.join();
    int thread_count = portable_thread_count();
    bench_emit(options.impl.c_str(), "S2", "callbacks_per_s", handover.total * 1e9 / double(handover.done_ns - start),
               thread_count);
    return 0;
}

// S3: the loop thread queues one request, runs the loop until it is done, sleeps 200 µs.
std::atomic<uint64_t> callback_start_ns;

void stamp_work(uv_work_t *) { callback_start_ns.store(portable_now_ns(), std::memory_order_relaxed); }
void give_back_after(uv_work_t *work, int) { requests.give_back(request_of(work)); }

int run_wake_latency(const peer::Options &options)
{
    const int samples = options.quick ? 1000 : 5000;
    std::vector<double> latencies_us;
    for (int i = 0; i < peer::wake_warmup_samples + samples; i++) {
        portable_sleep_us(peer::idle_gap_us);
        auto submitted = portable_now_ns();
        queue(stamp_work, give_back_after);
        uv_run(loop, UV_RUN_DEFAULT);
        if (i >= peer::wake_warmup_samples)
            latencies_us.push_back(double(callback_start_ns.load() - submitted) / 1000.0);
    }
    int threads = portable_thread_count();
    bench_sort_samples(latencies_us.data(), latencies_us.size());
    bench_emit_latency(options.impl.c_str(), "S3", "", latencies_us.data(), latencies_us.size(), threads);
    return 0;
}

// S7: libuv's work object is the caller's uv_work_t (the request itself, nothing more);
// count what 100,000 of them occupy.
int run_memory_per_object(const peer::Options &options)
{
    const size_t count = options.quick ? 20000 : 100000;
    std::vector<uv_work_t *> objects(count, nullptr);
    auto before = portable_rss_bytes();
    for (auto &object : objects)
        object = new uv_work_t;
    auto after = portable_rss_bytes();
    int threads = portable_thread_count();
    for (auto *object : objects)
        delete object;
    bench_emit(options.impl.c_str(), "S7", "bytes_per_work", double(after - before) / double(count), threads);
    return 0;
}

// S8: 64 requests that each block for 50 ms.
void blocking_work(uv_work_t *) { std::this_thread::sleep_for(std::chrono::milliseconds(peer::block_ms)); }

int run_blocking_callbacks(const peer::Options &options)
{
    auto start = portable_now_ns();
    for (int i = 0; i < peer::blocking_callbacks; i++)
        queue(blocking_work, give_back_after);
    uv_run(loop, UV_RUN_DEFAULT);
    auto elapsed = portable_now_ns() - start;
    bench_emit(options.impl.c_str(), "S8", "all_done_ms", double(elapsed) / 1e6, portable_thread_count());
    return 0;
}

// S9: each completed request below the last level queues 8 more from the loop thread.
int fan_depth;
long fan_completed;

void fan_after(uv_work_t *work, int)
{
    Request *request = request_of(work);
    int level = request->level;
    requests.give_back(request);
    fan_completed++;
    if (level < fan_depth)
        for (int i = 0; i < peer::fan_out; i++)
            queue(empty_work, fan_after, level + 1);
}

int run_fan_out(const peer::Options &options)
{
    fan_depth = 0;
    queue(empty_work, fan_after); // warm-up
    uv_run(loop, UV_RUN_DEFAULT);

    fan_depth = options.quick ? 5 : 6;
    fan_completed = 0;
    long total = peer::fan_out_tree_size(fan_depth);
    auto start = portable_now_ns();
    queue(empty_work, fan_after);
    uv_run(loop, UV_RUN_DEFAULT);
    auto elapsed = portable_now_ns() - start;
    if (fan_completed != total) {
        std::fprintf(stderr, "S9: %ld of %ld callbacks ran\n", fan_completed, total);
        return 1;
    }
    bench_emit(options.impl.c_str(), "S9", "callbacks_per_s", total * 1e9 / double(elapsed), portable_thread_count());
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    // The pool size must be set before the first uv_queue_work of the process.
    peer::Options probe;
    bool list_only;
    if (peer::parse_options(argc, argv, probe, list_only) && !list_only)
        setenv("UV_THREADPOOL_SIZE", std::to_string(probe.threads).c_str(), 1);
    loop = uv_default_loop();
    return peer::peer_main(argc, argv, "libuv uv_queue_work",
                           {{"S1", run_post_throughput},
                            {"S2", run_many_producers},
                            {"S3", run_wake_latency},
                            {"S7", run_memory_per_object},
                            {"S8", run_blocking_callbacks},
                            {"S9", run_fan_out}});
}
