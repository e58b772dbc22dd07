// One io_uring, owned by one thread: the only thread that submits to it and reaps it.
#pragma once

#include <liburing.h>

#include <cstdint>

namespace tpuring::uring {

// A request on the ring completes into exactly one handler. user_data is the handler's
// address, so the reaping loop never switches over object kinds.
class Completion {
public:
    virtual void complete(int32_t res, uint32_t flags) = 0;

protected:
    ~Completion() = default;
};

// liburing maps ring memory with raw system calls, so ThreadSanitizer cannot tell that a
// new ring at a freed ring's address is new memory. Every ring teardown calls the first
// before unmapping, every set-up the second after mapping: an order TSan can see.
void ring_memory_unmapping();
void ring_memory_mapped();

class Ring {
public:
    Ring() = default;
    Ring(const Ring &) = delete;
    Ring &operator=(const Ring &) = delete;
    ~Ring();

    // Creates the ring for the calling thread, which becomes its single issuer.
    // Returns 0, or a negative errno.
    int init(unsigned sq_entries);

    int fd() const { return ring_fd_; }

    // A free SQE. When the submission queue is full it submits first, so this never fails.
    io_uring_sqe *next_sqe();

    // Submits what is queued and waits for at least one completion, or until the timeout
    // (nullptr: no timeout). Returns >= 0, or -ETIME / -EINTR / another negative errno.
    int submit_and_wait(const __kernel_timespec *timeout);

    // Submits without waiting.
    int submit();

    // Hands every available completion to on_cqe(user_data, res, flags) and marks them seen.
    template <typename OnCqe>
    unsigned drain(OnCqe &&on_cqe)
    {
        unsigned head;
        unsigned count = 0;
        io_uring_cqe *cqe;
        io_uring_for_each_cqe(&ring_, head, cqe)
        {
            on_cqe(cqe->user_data, cqe->res, cqe->flags);
            ++count;
        }
        io_uring_cq_advance(&ring_, count);
        return count;
    }

private:
    io_uring ring_{};
    int ring_fd_ = -1;
    bool ready_ = false;
};

} // namespace tpuring::uring
