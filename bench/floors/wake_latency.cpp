// S3 floors: how long a sleeping thread takes to run after another thread wakes it, sampled
// the way S3 samples (wake, wait for the acknowledgement, sleep 200 µs, 5,000 times):
//  - futex: the sleeper is in FUTEX_WAIT, the waker stores and calls FUTEX_WAKE;
//  - io_uring FUTEX_WAIT: the sleeper waits in io_uring_enter for an IORING_OP_FUTEX_WAIT
//    on the word (how a ring owner hears a doorbell), the waker does the same FUTEX_WAKE;
//  - io_uring POLL: the sleeper waits for an IORING_OP_POLL_ADD on an eventfd, the waker
//    writes the eventfd.
#include <linux/futex.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "futex_event.hpp"
#include "floors.hpp"
#include "portable.h"
#include "results.h"

namespace floors {

namespace {

constexpr unsigned idle_gap_us = 200;
constexpr int warmup_samples = 50;

// liburing 2.3 predates the futex opcodes (Linux 6.7); these are the kernel's values.
constexpr uint8_t op_futex_wait = 51;
constexpr uint32_t futex2_size_u32 = 0x02;
constexpr uint32_t futex2_private = 128;
constexpr uint64_t futex_bitset_match_any = 0xffffffffu;

long futex(std::atomic<uint32_t> &word, int op, uint32_t value)
{
    return syscall(SYS_futex, reinterpret_cast<uint32_t *>(&word), op, value, nullptr, nullptr, 0);
}

// Filled by hand: the futex2 flags travel in the fd field, the expected value in addr2
// (the offset field), the wake mask in addr3.
void prep_futex_wait(io_uring_sqe *sqe, std::atomic<uint32_t> &word, uint32_t expected)
{
    io_uring_prep_rw(op_futex_wait, sqe, int(futex2_size_u32 | futex2_private), &word, 0, expected);
    sqe->addr3 = futex_bitset_match_any;
}

// What one sleeper mechanism must provide. The sleeper thread calls arm() once, then
// sleep_until_woken() in a loop; after each wake it stamps the time and re-arms before it
// acknowledges, so the next wake always finds it armed.
struct Sleeper {
    virtual ~Sleeper() = default;
    virtual bool arm() = 0;
    virtual bool sleep_until_woken() = 0; // false on failure
    virtual void rearm_after_wake() = 0;
    virtual void wake() = 0;              // called by the waker thread
};

struct FutexSleeper final : Sleeper {
    std::atomic<uint32_t> word{0};
    bool arm() override { return true; }
    bool sleep_until_woken() override
    {
        while (word.load(std::memory_order_acquire) == 0)
            futex(word, FUTEX_WAIT_PRIVATE, 0);
        return true;
    }
    void rearm_after_wake() override { word.store(0, std::memory_order_relaxed); }
    void wake() override
    {
        word.store(1, std::memory_order_release);
        futex(word, FUTEX_WAKE_PRIVATE, 1);
    }
};

struct UringFutexSleeper final : Sleeper {
    io_uring ring{};
    std::atomic<uint32_t> word{0};
    ~UringFutexSleeper() override { io_uring_queue_exit(&ring); }
    bool arm() override
    {
        if (!setup_ring(ring, 8))
            return false;
        rearm_after_wake();
        return true;
    }
    bool sleep_until_woken() override
    {
        for (;;) {
            io_uring_cqe *cqe;
            int result = io_uring_wait_cqe(&ring, &cqe);
            if (result == -EINTR)
                continue;
            if (result < 0)
                return false;
            int status = cqe->res;
            io_uring_cqe_seen(&ring, cqe);
            if (status == -EINVAL) {
                std::fprintf(stderr, "IORING_OP_FUTEX_WAIT is not supported by this kernel\n");
                return false;
            }
            if (word.load(std::memory_order_acquire) != 0)
                return true;
            rearm_after_wake(); // spurious: the word did not change
        }
    }
    void rearm_after_wake() override
    {
        word.store(0, std::memory_order_relaxed);
        prep_futex_wait(io_uring_get_sqe(&ring), word, 0);
        io_uring_submit(&ring);
    }
    void wake() override
    {
        word.store(1, std::memory_order_release);
        futex(word, FUTEX_WAKE_PRIVATE, 1);
    }
};

struct UringPollSleeper final : Sleeper {
    io_uring ring{};
    int event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ~UringPollSleeper() override
    {
        io_uring_queue_exit(&ring);
        close(event_fd);
    }
    bool arm() override
    {
        if (event_fd < 0 || !setup_ring(ring, 8))
            return false;
        rearm_after_wake();
        return true;
    }
    bool sleep_until_woken() override
    {
        for (;;) {
            io_uring_cqe *cqe;
            int result = io_uring_wait_cqe(&ring, &cqe);
            if (result == -EINTR)
                continue;
            if (result < 0)
                return false;
            io_uring_cqe_seen(&ring, cqe);
            return true;
        }
    }
    void rearm_after_wake() override
    {
        uint64_t drained;
        while (read(event_fd, &drained, sizeof drained) > 0)
            ;
        io_uring_prep_poll_add(io_uring_get_sqe(&ring), event_fd, POLLIN);
        io_uring_submit(&ring);
    }
    void wake() override
    {
        uint64_t one = 1;
        if (write(event_fd, &one, sizeof one) < 0)
            std::perror("eventfd write");
    }
};

int measure(Sleeper &sleeper, const FloorOptions &options, const char *impl)
{
    const int samples = options.quick ? 1000 : 5000;
    std::atomic<uint64_t> woke_ns{0};
    std::atomic<bool> stop{false}, failed{false};
    peer::AutoResetEvent armed, acknowledged;

    std::thread sleeper_thread([&] {
        // The ring (if any) is created here: a request belongs to the thread that submits it.
        bool ok = sleeper.arm();
        armed.set();
        while (ok) {
            ok = sleeper.sleep_until_woken();
            woke_ns.store(portable_now_ns(), std::memory_order_relaxed);
            if (ok)
                sleeper.rearm_after_wake();
            if (stop.load())
                break;
            acknowledged.set();
        }
        if (!ok) {
            failed.store(true);
            acknowledged.set();
        }
    });
    armed.wait();

    std::vector<double> latencies_us;
    for (int i = 0; i < warmup_samples + samples && !failed.load(); i++) {
        portable_sleep_us(idle_gap_us);
        auto woken = portable_now_ns();
        sleeper.wake();
        acknowledged.wait();
        if (i >= warmup_samples)
            latencies_us.push_back(double(woke_ns.load() - woken) / 1000.0);
    }
    int threads = portable_thread_count();
    stop.store(true);
    if (!failed.load())
        sleeper.wake();
    sleeper_thread.join();
    if (failed.load())
        return 1;
    bench_sort_samples(latencies_us.data(), latencies_us.size());
    bench_emit_latency(impl, "S3", "", latencies_us.data(), latencies_us.size(), threads);
    return 0;
}

} // namespace

int futex_wake_latency(const FloorOptions &options)
{
    FutexSleeper sleeper;
    return measure(sleeper, options, "floor: futex wake");
}

int uring_futex_wait_latency(const FloorOptions &options)
{
    UringFutexSleeper sleeper;
    return measure(sleeper, options, "floor: io_uring FUTEX_WAIT wake");
}

int uring_poll_eventfd_latency(const FloorOptions &options)
{
    UringPollSleeper sleeper;
    return measure(sleeper, options, "floor: io_uring POLL eventfd wake");
}

} // namespace floors
