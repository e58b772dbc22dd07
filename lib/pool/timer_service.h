// A pool's timers: two heaps (CLOCK_MONOTONIC for relative due times, CLOCK_REALTIME for
// absolute ones) and, per clock, one absolute IORING_OP_TIMEOUT armed by the ring owner
// for the earliest deadline and updated in place when the head changes. Setting or
// cancelling a timer from any thread takes the lock and costs no system call unless it
// moves a head earlier than what the kernel has armed.
//
// Locking: lock_ guards the heaps and every entry's schedule. Expiries are posted under it
// (a cancel that returns has either removed the entry or seen its callback queued); the
// references they give back are dropped after it; no callback runs under it.
#pragma once

#include <atomic>
#include <climits>
#include <cstdint>
#include <mutex>

#include "base/word_lock.h"
#include "pool/timer_deadline.h"
#include "pool/timer_heap.h"
#include "uring/ring.h"

namespace tpuring::pool {

class RingOwner;

class TimerService {
public:
    explicit TimerService(RingOwner &owner) : owner_(owner) {}

    // Called once per timer object at creation, so that scheduling never allocates.
    bool reserve_timer();
    void unreserve_timer();

    // Replaces entry's schedule. The entry holds a reference to its target while it is
    // scheduled. Returns whether a scheduled, not yet fired expiry was cancelled.
    // The target may refuse (Dispatchable::accepts_timer_schedule), checked under the lock.
    bool schedule(TimerEntry &entry, TimerClock clock, int64_t due_ns, uint32_t period_ms, uint32_t window_ms);
    bool cancel(TimerEntry &entry);
    bool is_scheduled(const TimerEntry &entry);

    // The key (latest expiry) of the earliest monotonic entry, INT64_MAX when none: an idle
    // worker may sleep until then and fire it itself (one wake-up instead of two).
    int64_t next_monotonic_key() const { return monotonic_head_key_.load(std::memory_order_acquire); }
    // A worker whose sleep until next_monotonic_key() ended: posts what is due on the
    // monotonic clock, up to the first entry only the owner may fire. Returns whether it
    // posted anything.
    bool fire_due_on_worker();
    // The key until which an idle worker sleeps, to fire what is then due (INT64_MAX: none).
    // The owner arms its kernel timeout for such entries a little later, as a backstop.
    void set_watcher_key(int64_t key) { watcher_key_.store(key, std::memory_order_relaxed); }

    // Ring owner: posts due expiries and re-arms the kernel timeouts. Cheap when nothing
    // changed.
    bool needs_service() const { return dirty_.load(std::memory_order_acquire); }
    void service(uring::Ring &ring);

private:
    class KernelTimeout final : public uring::Completion {
    public:
        void complete(int32_t res, uint32_t flags) override;
        // The completion of an in-place update of this timeout.
        class Update final : public uring::Completion {
        public:
            void complete(int32_t res, uint32_t flags) override;
            KernelTimeout *timeout = nullptr;
        };
        TimerService *service = nullptr;
        TimerClock clock = TimerClock::monotonic;
        bool in_flight = false;
        bool cancel_requested = false;
        __kernel_timespec when{};
        Update update;
    };
    class IgnoredCompletion final : public uring::Completion {
    public:
        void complete(int32_t, uint32_t) override {}
    };

    // Returns whether it posted anything; off the owner it stops at owner-only targets.
    // How late the owner's backstop fires behind a watching worker: longer than the
    // worker needs to wake and fire, short enough to bound lateness when it got busy.
    static constexpr int64_t watcher_grace_ns = 50'000;

    bool fire_due(TimerClock clock, bool on_owner);
    void publish_head_locked();
    void arm(uring::Ring &ring, TimerClock clock, int64_t key);
    bool unschedule_locked(TimerEntry &entry);
    void mark_dirty();
    void mark_dirty_from_owner();

    RingOwner &owner_;
    WordLock lock_; // held for a heap operation: a plain word lock costs less than std::mutex
    TimerHeap heaps_[timer_clock_count];
    uint32_t reserved_ = 0;
    // What the kernel will wake us for, per clock (INT64_MAX: nothing). Setters compare
    // against it to decide whether the owner must re-arm.
    std::atomic<int64_t> armed_key_[timer_clock_count] = {INT64_MAX, INT64_MAX};
    std::atomic<bool> dirty_{false};
    std::atomic<int64_t> monotonic_head_key_{INT64_MAX};
    std::atomic<int64_t> watcher_key_{INT64_MAX};
    KernelTimeout timeouts_[timer_clock_count];
    IgnoredCompletion ignored_;
    bool initialised_ = false;
};

} // namespace tpuring::pool
