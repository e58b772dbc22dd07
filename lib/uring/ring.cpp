#include "uring/ring.h"

#include <cerrno>

#include "base/tsan.h"

namespace tpuring::uring {

namespace {
char ring_memory_token;
} // namespace

void ring_memory_unmapping() { TPURING_HAPPENS_BEFORE(&ring_memory_token); }
void ring_memory_mapped() { TPURING_HAPPENS_AFTER(&ring_memory_token); }

Ring::~Ring()
{
    if (ready_) {
        ring_memory_unmapping();
        io_uring_queue_exit(&ring_);
    }
}

int Ring::init(unsigned sq_entries)
{
    io_uring_params params{};
    // One issuer that reaps on its own schedule: task work runs only when it waits, and
    // a bad SQE does not stop the rest of a batch.
    params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL |
                   IORING_SETUP_CQSIZE;
    params.cq_entries = sq_entries * 8; // completions of long-lived ops pile up beside new ones
    int rc = io_uring_queue_init_params(sq_entries, &ring_, &params);
    if (rc < 0)
        return rc;
    ring_memory_mapped();
    ready_ = true;
    ring_fd_ = ring_.ring_fd;
    io_uring_register_ring_fd(&ring_); // optional speed-up; MSG_RING still targets ring_fd_
    return 0;
}

io_uring_sqe *Ring::next_sqe()
{
    for (;;) {
        io_uring_sqe *sqe = io_uring_get_sqe(&ring_);
        if (sqe)
            return sqe;
        // Full: push the batch to the kernel to free slots. -EBUSY means the completion
        // queue must be drained first; the caller's loop drains it on its next pass, so
        // wait for one completion without consuming it.
        int rc = io_uring_submit(&ring_);
        if (rc == -EBUSY || rc == -EAGAIN)
            io_uring_get_events(&ring_);
    }
}

int Ring::submit_and_wait(const __kernel_timespec *timeout)
{
    if (!timeout)
        return io_uring_submit_and_wait(&ring_, 1);
    io_uring_cqe *cqe = nullptr;
    return io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, const_cast<__kernel_timespec *>(timeout), nullptr);
}

int Ring::submit() { return io_uring_submit(&ring_); }

} // namespace tpuring::uring
