// S4 floors, 2,000 one-shot deadlines due over 1-500 ms, reaped by one thread;
// lateness = reap time - deadline:
//  - all armed: one relative IORING_OP_TIMEOUT per deadline, all in flight together;
//  - one armed: the deadlines sorted in user space and a single absolute IORING_OP_TIMEOUT
//    armed for the earliest, re-armed after each expiry (the shape DESIGN.md gives the pool).
#include <algorithm>
#include <cerrno>
#include <vector>

#include "floors.hpp"
#include "portable.h"
#include "results.h"

namespace floors {

namespace {

constexpr unsigned timeout_count = 2000;
constexpr long longest_delay_ms = 500;

// The same scrambled 1-500 ms spread as the S4 scenario uses.
long spread_delay_ms(unsigned index, unsigned count, long max_ms)
{
    unsigned scrambled = (index * 7919u) % count;
    return 1 + long(scrambled) * (max_ms - 1) / long(count - 1);
}

// Takes every completion already posted, stamping them with one reading of the clock.
void reap_ready(io_uring &ring, const std::vector<uint64_t> &due_ns, std::vector<double> &lateness_us)
{
    auto reaped = portable_now_ns();
    io_uring_cqe *cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe)
    {
        lateness_us.push_back((double(reaped) - double(due_ns[io_uring_cqe_get_data64(cqe)])) / 1000.0);
        seen++;
    }
    io_uring_cq_advance(&ring, seen);
}

} // namespace

int uring_timeout_lateness_all_armed(const FloorOptions &)
{
    io_uring ring;
    if (!setup_ring(ring, 4096))
        return 1;
    std::vector<__kernel_timespec> delays(timeout_count);
    std::vector<uint64_t> due_ns(timeout_count);
    std::vector<double> lateness_us;
    lateness_us.reserve(timeout_count);
    // A relative timeout starts when the kernel takes its SQE, so submit in small batches and
    // stamp each one: submitting all 2,000 at once takes about a millisecond, which would
    // show up as lateness.
    constexpr unsigned batch = 16;
    for (unsigned first = 0; first < timeout_count; first += batch) {
        unsigned end = std::min(first + batch, timeout_count);
        for (unsigned i = first; i < end; i++) {
            long ms = spread_delay_ms(i, timeout_count, longest_delay_ms);
            delays[i].tv_sec = ms / 1000;
            delays[i].tv_nsec = (ms % 1000) * 1000000L;
            io_uring_sqe *sqe = io_uring_get_sqe(&ring);
            io_uring_prep_timeout(sqe, &delays[i], 0, 0);
            io_uring_sqe_set_data64(sqe, i);
        }
        auto submitted = portable_now_ns();
        for (unsigned i = first; i < end; i++)
            due_ns[i] = submitted + uint64_t(delays[i].tv_sec) * 1000000000u + uint64_t(delays[i].tv_nsec);
        // Submitting also runs deferred completions, so the earliest ones are reaped while
        // the later batches are still going in.
        if (io_uring_submit_and_get_events(&ring) < 0)
            return 1;
        reap_ready(ring, due_ns, lateness_us);
    }
    while (lateness_us.size() < timeout_count) {
        io_uring_cqe *cqe;
        int result = io_uring_wait_cqe(&ring, &cqe);
        if (result == -EINTR)
            continue;
        if (result < 0)
            return 1;
        reap_ready(ring, due_ns, lateness_us);
    }
    io_uring_queue_exit(&ring);
    bench_sort_samples(lateness_us.data(), lateness_us.size());
    bench_emit_latency("floor: io_uring timeout, 2,000 armed", "S4", "lateness_", lateness_us.data(), lateness_us.size(),
                       portable_thread_count());
    return 0;
}

int uring_timeout_lateness_one_armed(const FloorOptions &)
{
    io_uring ring;
    if (!setup_ring(ring, 64))
        return 1;
    auto start = portable_now_ns();
    std::vector<uint64_t> deadlines(timeout_count);
    for (unsigned i = 0; i < timeout_count; i++)
        deadlines[i] = start + uint64_t(spread_delay_ms(i, timeout_count, longest_delay_ms)) * 1000000u;
    std::sort(deadlines.begin(), deadlines.end());

    std::vector<double> lateness_us;
    lateness_us.reserve(timeout_count);
    __kernel_timespec when{};
    size_t next = 0;
    while (next < timeout_count) {
        when.tv_sec = long(deadlines[next] / 1000000000u);
        when.tv_nsec = long(deadlines[next] % 1000000000u);
        io_uring_prep_timeout(io_uring_get_sqe(&ring), &when, 0, IORING_TIMEOUT_ABS);
        io_uring_submit(&ring);
        io_uring_cqe *cqe;
        int result;
        while ((result = io_uring_wait_cqe(&ring, &cqe)) == -EINTR)
            ;
        if (result < 0)
            return 1;
        io_uring_cqe_seen(&ring, cqe);
        auto now = portable_now_ns();
        for (; next < timeout_count && deadlines[next] <= now; next++)
            lateness_us.push_back((double(now) - double(deadlines[next])) / 1000.0);
    }
    io_uring_queue_exit(&ring);
    bench_emit_latency("floor: io_uring timeout, 1 armed", "S4", "lateness_", lateness_us.data(),
                       lateness_us.size(), portable_thread_count());
    return 0;
}

} // namespace floors
