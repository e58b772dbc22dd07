// Futex words alone: one FUTEX_WAIT or FUTEX_WAITV. Descriptors alone: ppoll. Both at once:
// no single system call waits on futexes and descriptors, so a short-lived io_uring does
// (one FUTEX_WAITV op plus one POLL_ADD per descriptor). Without io_uring, descriptors are
// polled in short slices between checks of the words.
#include "kobj/sleep_set.h"

#include <liburing.h>

#include <atomic>
#include <cerrno>

namespace tpuring::kobj {

namespace {

// Not in liburing 2.3's headers; the opcode of Linux 6.7.
constexpr unsigned kOpFutexWaitv = 53;
constexpr std::uint64_t kFutexOpTag = 1;
constexpr std::uint64_t kPollOpTag = 2;
// Slice for polling descriptors when io_uring cannot wait on both kinds at once.
constexpr long kFallbackSliceNs = 2000000;

struct KernelFutexWaitv {
    std::uint64_t val;
    std::uint64_t uaddr;
    std::uint32_t flags;
    std::uint32_t reserved;
};

void poll_descriptors(SleepSet &set, const timespec *timeout) noexcept
{
    ppoll(set.descriptors, set.descriptor_count, timeout, nullptr);
}

void poll_slice(SleepSet &set, const Deadline &deadline) noexcept
{
    timespec slice{0, kFallbackSliceNs};
    if (!deadline.is_infinite()) {
        timespec left = deadline.remaining();
        if (left.tv_sec == 0 && left.tv_nsec < slice.tv_nsec)
            slice = left;
    }
    poll_descriptors(set, &slice);
}

// Set once io_uring proved unable to wait on futexes here; later calls poll in slices.
std::atomic<bool> ring_unusable{false};

// False when io_uring cannot do it here (disabled, too old): the caller falls back.
bool sleep_with_ring(SleepSet &set, const Deadline &deadline) noexcept
{
    if (ring_unusable.load(std::memory_order_relaxed))
        return false;
    io_uring ring;
    if (io_uring_queue_init(static_cast<unsigned>(set.descriptor_count + 1), &ring, 0) < 0) {
        ring_unusable.store(true, std::memory_order_relaxed);
        return false;
    }
    KernelFutexWaitv waiters[MAXIMUM_WAIT_OBJECTS];
    for (std::size_t i = 0; i < set.futex_count; ++i) {
        waiters[i].val = set.futexes[i].expected;
        waiters[i].uaddr = reinterpret_cast<std::uintptr_t>(set.futexes[i].word);
        waiters[i].flags = 0x02 | 128; // FUTEX2_SIZE_U32 | FUTEX2_PRIVATE
        waiters[i].reserved = 0;
    }
    io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    io_uring_prep_rw(kOpFutexWaitv, sqe, 0, waiters, static_cast<unsigned>(set.futex_count), 0);
    io_uring_sqe_set_data64(sqe, kFutexOpTag);
    for (std::size_t i = 0; i < set.descriptor_count; ++i) {
        sqe = io_uring_get_sqe(&ring);
        io_uring_prep_poll_add(sqe, set.descriptors[i].fd, POLLIN);
        io_uring_sqe_set_data64(sqe, kPollOpTag);
    }
    bool supported = true;
    if (io_uring_submit(&ring) < 0) {
        supported = false;
    } else {
        io_uring_cqe *cqe = nullptr;
        __kernel_timespec timeout{};
        if (!deadline.is_infinite()) {
            timespec left = deadline.remaining();
            timeout.tv_sec = left.tv_sec;
            timeout.tv_nsec = left.tv_nsec;
        }
        int rc = io_uring_wait_cqe_timeout(&ring, &cqe, deadline.is_infinite() ? nullptr : &timeout);
        // An op the kernel does not know completes at once with -EINVAL.
        if (rc == 0 && cqe->res == -EINVAL)
            supported = false;
    }
    // Closing the ring cancels the ops still armed.
    io_uring_queue_exit(&ring);
    if (!supported)
        ring_unusable.store(true, std::memory_order_relaxed);
    return supported;
}

} // namespace

void sleep_until_change(SleepSet &set, const Deadline &deadline) noexcept
{
    const timespec *absolute = deadline.is_infinite() ? nullptr : &deadline.absolute();
    if (set.descriptor_count == 0) {
        if (set.futex_count == 0) {
            timespec left = deadline.remaining();
            ppoll(nullptr, 0, deadline.is_infinite() ? nullptr : &left, nullptr);
            return;
        }
        futex_wait_any(set.futexes, set.futex_count, absolute);
        return;
    }
    if (set.futex_count == 0) {
        timespec left = deadline.remaining();
        poll_descriptors(set, deadline.is_infinite() ? nullptr : &left);
        return;
    }
    if (!sleep_with_ring(set, deadline))
        poll_slice(set, deadline);
}

} // namespace tpuring::kobj
