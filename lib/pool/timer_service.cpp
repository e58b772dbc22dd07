#include "pool/timer_service.h"

#include <cerrno>
#include <ctime>

#include "pool/pool.h"
#include "pool/ring_owner.h"

namespace tpuring::pool {

namespace {
uint64_t completion_id(uring::Completion &completion) { return reinterpret_cast<uintptr_t>(&completion); }

} // namespace

int64_t clock_now_ns(TimerClock clock)
{
    timespec now{};
    clock_gettime(clock == TimerClock::realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC, &now);
    return int64_t(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

bool TimerService::reserve_timer()
{
    std::lock_guard guard(lock_);
    uint32_t wanted = reserved_ + 1;
    for (TimerHeap &heap : heaps_)
        if (!heap.reserve(wanted))
            return false;
    reserved_ = wanted;
    return true;
}

void TimerService::unreserve_timer()
{
    std::lock_guard guard(lock_);
    --reserved_;
}

bool TimerService::unschedule_locked(TimerEntry &entry)
{
    if (entry.heap_index < 0)
        return false;
    heaps_[static_cast<int>(entry.clock)].remove(entry);
    return true;
}

void TimerService::publish_head_locked()
{
    TimerEntry *head = heaps_[static_cast<int>(TimerClock::monotonic)].top();
    monotonic_head_key_.store(head ? head->latest_ns : INT64_MAX, std::memory_order_release);
}

void TimerService::mark_dirty_from_owner() { dirty_.store(true, std::memory_order_release); }

void TimerService::mark_dirty()
{
    dirty_.store(true, std::memory_order_release);
    owner_.notify();
}

bool TimerService::schedule(TimerEntry &entry, TimerClock clock, int64_t due_ns, uint32_t period_ms,
                            uint32_t window_ms)
{
    bool cancelled;
    bool refused = false;
    bool earlier_than_armed = false;
    {
        std::lock_guard guard(lock_);
        cancelled = unschedule_locked(entry);
        // A target closing concurrently (say, from its own callback) cancels under this
        // lock after it starts refusing: either it sees this entry or this sees the refusal.
        if (!entry.target()->accepts_timer_schedule()) {
            refused = true;
        } else {
            if (!cancelled)
                entry.target()->add_ref(); // the schedule's reference
            entry.clock = clock;
            entry.period_ms = period_ms;
            entry.window_ms = window_ms;
            entry.latest_ns = saturating_add(due_ns, int64_t(window_ms) * ns_per_ms);
            TimerHeap &heap = heaps_[static_cast<int>(clock)];
            heap.push(entry);
            earlier_than_armed = heap.top() == &entry &&
                                 entry.latest_ns < armed_key_[static_cast<int>(clock)].load(std::memory_order_acquire);
        }
        publish_head_locked();
    }
    // After unlocking: it may be the last reference, and the destructor takes the lock.
    if (refused && cancelled)
        entry.target()->release();
    if (earlier_than_armed)
        mark_dirty();
    return cancelled;
}

bool TimerService::cancel(TimerEntry &entry)
{
    bool cancelled;
    {
        std::lock_guard guard(lock_);
        cancelled = unschedule_locked(entry);
        if (cancelled)
            publish_head_locked();
    }
    // A kernel timeout armed for it just wakes the owner for nothing: cheaper than a
    // system call on every cancel.
    if (cancelled)
        entry.target()->release();
    return cancelled;
}

bool TimerService::is_scheduled(const TimerEntry &entry)
{
    std::lock_guard guard(lock_);
    return entry.heap_index >= 0;
}

bool TimerService::fire_due_on_worker() { return fire_due(TimerClock::monotonic, false); }

bool TimerService::fire_due(TimerClock clock, bool on_owner)
{
    // Expiries are delivered under the lock: a cancel that returns has either removed the
    // entry or seen its callback queued, so a following wait for callbacks covers it.
    // One-shot entries hand back the schedule's reference, dropped after unlocking (the
    // last reference may free the object, whose destructor takes this lock).
    constexpr int batch = 64;
    bool posted = false;
    for (;;) {
        Dispatchable *spent[batch];
        int count = 0;
        bool more = false;
        {
            std::lock_guard guard(lock_);
            TimerHeap &heap = heaps_[static_cast<int>(clock)];
            int64_t now = clock_now_ns(clock);
            // The owner leaves a watching worker what it will fire itself, unless it is
            // overdue by the grace (the worker got busy).
            const int64_t watcher_key = on_owner && clock == TimerClock::monotonic
                                            ? watcher_key_.load(std::memory_order_relaxed)
                                            : INT64_MAX;
            for (;;) {
                TimerEntry *entry = heap.top();
                // Fire everything already due, not just what reached its window's end, so
                // timers whose windows overlap fire together.
                if (!entry || entry->due_ns() > now)
                    break;
                const bool owner_only = entry->target()->expires_on_owner_only();
                if (!on_owner && owner_only)
                    break; // the owner's kernel timeout is armed for it
                if (!owner_only && entry->latest_ns >= watcher_key && entry->latest_ns > now - watcher_grace_ns)
                    break; // service() arms the backstop for its grace's end
                posted = true;
                if (count == batch) {
                    more = true;
                    break;
                }
                heap.remove(*entry);
                entry->target()->timer_expired();
                if (entry->period_ms == 0) {
                    spent[count++] = entry->target();
                    continue;
                }
                // Next expiry one period after the scheduled one; after a stall, skip to the
                // next point of the same grid instead of bursting. An absolute timer
                // continues on the monotonic clock.
                const int64_t period_ns = int64_t(entry->period_ms) * ns_per_ms;
                int64_t next = saturating_add(entry->due_ns(), period_ns);
                if (next <= now)
                    next += ((now - next) / period_ns + 1) * period_ns;
                if (clock == TimerClock::realtime) {
                    next = saturating_add(clock_now_ns(TimerClock::monotonic), next - now);
                    entry->clock = TimerClock::monotonic;
                }
                entry->latest_ns = saturating_add(next, int64_t(entry->window_ms) * ns_per_ms);
                heaps_[static_cast<int>(entry->clock)].push(*entry);
            }
            publish_head_locked();
        }
        for (int i = 0; i < count; ++i)
            spent[i]->release();
        if (!more)
            return posted;
    }
}

void TimerService::service(uring::Ring &ring)
{
    if (!initialised_) {
        for (int i = 0; i < timer_clock_count; ++i) {
            timeouts_[i].service = this;
            timeouts_[i].clock = static_cast<TimerClock>(i);
            timeouts_[i].update.timeout = &timeouts_[i];
        }
        initialised_ = true;
    }
    dirty_.store(false, std::memory_order_relaxed);
    // Fire both clocks first: a periodic absolute timer moves to the monotonic heap.
    for (int i = 0; i < timer_clock_count; ++i)
        fire_due(static_cast<TimerClock>(i), true);
    for (int i = 0; i < timer_clock_count; ++i) {
        auto clock = static_cast<TimerClock>(i);
        int64_t key;
        {
            std::lock_guard guard(lock_);
            TimerEntry *head = heaps_[i].top();
            key = head ? head->latest_ns : INT64_MAX;
            // A worker that sleeps until the head fires it itself, with one wake-up; the
            // kernel timeout is then only its backstop. Armed for the same instant, the
            // owner won the race about half the time in S4, costing the callback a second
            // wake-up.
            if (head && clock == TimerClock::monotonic && !head->target()->expires_on_owner_only() &&
                head->latest_ns >= watcher_key_.load(std::memory_order_relaxed))
                key = saturating_add(key, watcher_grace_ns);
        }
        arm(ring, clock, key);
    }
}

void TimerService::arm(uring::Ring &ring, TimerClock clock, int64_t key)
{
    int index = static_cast<int>(clock);
    KernelTimeout &timeout = timeouts_[index];
    int64_t armed = armed_key_[index].load(std::memory_order_relaxed);
    // Nothing to wait for, or already armed for exactly this: leave the kernel alone. An
    // armed timeout for a cancelled head only wakes the owner early once.
    if (timeout.cancel_requested && timeout.in_flight) {
        timeout.cancel_requested = false;
        io_uring_sqe *sqe = ring.next_sqe();
        io_uring_prep_timeout_remove(sqe, completion_id(timeout), 0);
        sqe->user_data = completion_id(ignored_);
        return;
    }
    if (key == INT64_MAX || (timeout.in_flight && armed == key))
        return;
    timeout.when.tv_sec = key / 1'000'000'000;
    timeout.when.tv_nsec = key % 1'000'000'000;
    unsigned flags = IORING_TIMEOUT_ABS | (clock == TimerClock::realtime ? IORING_TIMEOUT_REALTIME : 0);
    io_uring_sqe *sqe = ring.next_sqe();
    if (timeout.in_flight) {
        // An update keeps the clock the timeout was armed with; only ABS may be given.
        io_uring_prep_timeout_update(sqe, &timeout.when, completion_id(timeout), IORING_TIMEOUT_ABS);
        sqe->user_data = completion_id(timeout.update);
    } else {
        io_uring_prep_timeout(sqe, &timeout.when, 0, flags);
        sqe->user_data = completion_id(timeout);
        timeout.in_flight = true;
    }
    // The kernel copies the timespec at submission; submit now so `when` may change later.
    ring.submit();
    armed_key_[index].store(key, std::memory_order_release);
}

void TimerService::KernelTimeout::Update::complete(int32_t res, uint32_t)
{
    // -ENOENT: the timeout completed first, and its completion re-arms. Any other failure
    // leaves it armed for a stale time: cancel it so that its completion re-arms.
    if (res < 0 && res != -ENOENT)
        {
        timeout->cancel_requested = true;
        timeout->service->mark_dirty_from_owner();
    }
}

void TimerService::KernelTimeout::complete(int32_t, uint32_t)
{
    // Expired (-ETIME) or removed: either way this op is gone; look at the heap again.
    in_flight = false;
    service->armed_key_[static_cast<int>(clock)].store(INT64_MAX, std::memory_order_release);
    service->dirty_.store(true, std::memory_order_release);
}

} // namespace tpuring::pool
