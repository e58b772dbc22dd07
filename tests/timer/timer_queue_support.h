// Helpers for the timer-queue files (test_timer_queue*.cpp): a counting callback, a callback
// that blocks on a gate the test opens, and an owner for a private queue. Builds on
// timer_support.h.
#pragma once

#include "timer_support.h"

namespace tmtest {

struct QueueCounter {
    AtomicCounter count;
    std::atomic<int> not_timed_out{0}; // TimerOrWaitFired must always be TRUE for timers
    FireLog log;
};

inline void CALLBACK count_queue_timer(PVOID p, BOOLEAN timed_out)
{
    auto *c = static_cast<QueueCounter *>(p);
    if (!timed_out)
        c->not_timed_out.fetch_add(1);
    c->log.record();
    c->count.increment();
}

// A callback that signals it started, blocks until its gate opens, then finishes.
struct GatedCallback {
    AtomicCounter started;
    AtomicCounter finished;
    AtomicFlag gate;
    std::atomic<bool> gate_timed_out{false};
};

inline void CALLBACK gated_queue_timer(PVOID p, BOOLEAN)
{
    auto *g = static_cast<GatedCallback *>(p);
    g->started.increment();
    if (!g->gate.wait(kLongTimeout))
        g->gate_timed_out = true;
    g->finished.increment();
}

inline void CALLBACK quick_queue_timer(PVOID p, BOOLEAN)
{
    auto *g = static_cast<GatedCallback *>(p);
    g->started.increment();
    g->finished.increment();
}

// Owns a private queue; deletes it (blocking) unless the test did.
class Queue {
public:
    Queue() : queue_(CreateTimerQueue()) {}
    ~Queue()
    {
        if (queue_)
            DeleteTimerQueueEx(queue_, INVALID_HANDLE_VALUE);
    }
    Queue(const Queue &) = delete;
    Queue &operator=(const Queue &) = delete;
    HANDLE get() const { return queue_; }
    operator HANDLE() const { return queue_; }
    HANDLE release() { return std::exchange(queue_, nullptr); }

private:
    HANDLE queue_;
};

} // namespace tmtest
