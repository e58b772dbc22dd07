// The pool's ring-owner thread: the only thread that submits to and reaps the pool's
// io_uring. It never runs a user callback. Other threads reach it through a command
// stack and a doorbell: a FUTEX_WAIT op kept armed on doorbell_seq_, rung with a plain
// futex wake only while the owner sleeps.
#pragma once

#include <atomic>
#include <cstdint>
#include <pthread.h>

#include "pool/command_stack.h"
#include "pool/dispatchable.h"
#include "pool/owner_command.h"
#include "pool/timer_service.h"
#include "uring/ring.h"

namespace tpuring::pool {

class Pool;

class RingOwner final : private uring::Completion {
public:
    explicit RingOwner(Pool &pool) : pool_(pool), timers_(*this) {}

    // Starts the thread and waits until its ring exists. Returns 0 or a negative errno.
    int start();

    // Asks the thread to exit; it tells the pool when it has gone.
    void stop();

    // Posts an object's first queued invocation as a completion on the ring. Cannot fail:
    // it falls back to an owner-submitted NOP, and that to the direct path.
    void post(Dispatchable &item);

    // Asks the owner to watch the run queue for stalls (blocked callbacks) until it drains.
    void request_monitoring();

    // Wakes the owner so it looks at its inputs again (any thread; no system call while
    // the owner is awake).
    void notify() { ring_doorbell(); }

    TimerService &timers() { return timers_; }

    // Queues a command for the owner thread; false if it was queued already (it will run
    // once for both requests).
    bool schedule(OwnerCommand &command);

private:
    static void *thread_main(void *self);
    void run();
    void arm_doorbell();
    void ring_doorbell();
    void handle_cqe(uint64_t user_data, int32_t res, uint32_t flags);
    void complete(int32_t res, uint32_t flags) override; // the doorbell op

    Pool &pool_;
    uring::Ring ring_;
    int ring_fd_ = -1;
    bool msg_ring_ = false;
    bool doorbell_armed_ = false;
    std::atomic<int> start_result_{1}; // 1 while starting
    std::atomic<bool> stop_requested_{false};
    std::atomic<bool> monitoring_requested_{false};
    alignas(64) std::atomic<uint32_t> doorbell_seq_{0};
    std::atomic<bool> sleeping_{false};
    // An object's post waiting for the owner to submit its NOP.
    struct NopPost {
        Dispatchable *item;
        NopPost *next;
    };
    CommandStack<NopPost, &NopPost::next> nop_posts_;
    CommandStack<OwnerCommand, &OwnerCommand::next_command_> commands_;
    TimerService timers_;
};

} // namespace tpuring::pool
