// Anything that produces callbacks on a pool: the pool's view of a work, timer, wait or
// I/O object. The pool schedules it; the object layer decides what one invocation does.
#pragma once

#include <atomic>
#include <cstdint>

#include "base/futex.h"

namespace tpuring::pool {

class Pool;
struct Worker;

enum class Priority : uint8_t { high = 0, normal = 1, low = 2 };
inline constexpr int priority_count = 3;

class Dispatchable {
public:
    struct Traits {
        Priority priority = Priority::normal;
        bool runs_long = false;  // invocations start marked may-run-long
        bool persistent = false; // invocations need a thread that never exits
        // A one-shot nobody else can reach (no handle, no cleanup group), so the pool may
        // keep it on a worker's own queue.
        bool private_one_shot = false;
    };

    Dispatchable(Pool &pool, Traits traits) : pool_(pool), traits_(traits) {}
    Dispatchable(const Dispatchable &) = delete;
    Dispatchable &operator=(const Dispatchable &) = delete;

    Pool &pool() const { return pool_; }
    Priority priority() const { return traits_.priority; }
    const Traits &traits() const { return traits_; }

    // Private, normal priority, not long, not persistent: may live on a worker's own
    // queue. Such an object is posted once and reached by nobody else, so it keeps its
    // single reference, the creator's, from creation to the end of its invocation: the
    // queues and the invocation borrow it, and the pool drops it when the invocation ends
    // (the object does not close itself).
    bool is_plain_one_shot() const
    {
        return traits_.private_one_shot && traits_.priority == Priority::normal && !traits_.runs_long &&
               !traits_.persistent;
    }

    void add_ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
    // Takes a reference unless the last one is already gone (the object is being freed).
    bool try_add_ref()
    {
        uint32_t refs = refs_.load(std::memory_order_relaxed);
        do {
            if (refs == 0)
                return false;
        } while (!refs_.compare_exchange_weak(refs, refs + 1, std::memory_order_relaxed));
        return true;
    }

    // Drops a reference unless it is the last one (which the caller must then drop later,
    // where freeing is safe). Returns whether it dropped it.
    bool release_unless_last()
    {
        uint32_t refs = refs_.load(std::memory_order_relaxed);
        do {
            if (refs == 1)
                return false;
        } while (!refs_.compare_exchange_weak(refs, refs - 1, std::memory_order_acq_rel, std::memory_order_relaxed));
        return true;
    }

    void release()
    {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
            destroy();
    }

    // Runs one claimed invocation on a worker. `running` and `associated` already count it;
    // the pool ends it afterwards. Returns whether it is still associated (no disassociate).
    virtual bool invoke(Worker &worker) = 0;

    // Called when a timer entry targeting the object expires (under the timer service's
    // lock, by the ring owner or an idle worker that watched the clock); the default queues
    // one invocation.
    virtual void timer_expired();
    // Whether timer_expired() must run on the ring owner (by default any thread may fire it).
    virtual bool expires_on_owner_only() const { return false; }
    // Whether a timer entry targeting the object may be scheduled now (asked under the
    // timer service's lock); a closed timer refuses.
    virtual bool accepts_timer_schedule() const { return true; }

    // Callback counters (spec/README.md, "Per-object counters").
    uint32_t queued() const { return queued_.load(); }
    uint32_t running() const { return static_cast<uint32_t>(activity_.load() >> 32); }
    uint32_t associated() const { return static_cast<uint32_t>(activity_.load()); }

    // Drops the association of a running invocation (DisassociateCurrentThreadFromCallback).
    void disassociate_one()
    {
        uint64_t before = activity_.fetch_sub(one_associated);
        notify_quiescence_waiters_if_near_idle(before - one_associated);
    }

    // Ends invocations claimed by the pool: `running` of them, `associated` of which had
    // not disassociated.
    void end_invocations(uint32_t running, uint32_t associated)
    {
        uint64_t before = activity_.fetch_sub(running * one_running + associated * one_associated);
        notify_quiescence_waiters_if_near_idle(before - (running * one_running + associated * one_associated));
    }

    bool has_quiescence_waiters() const { return (quiescence_.load() & quiescence_waiter_mask) != 0; }

    // The creator's reference is being given up (Close…, or the cleanup group): true for
    // the one call that gets there first.
    bool mark_closed() { return !closed_.exchange(true); }
    bool is_closed() const { return closed_.load(); }

    // Incremented by every cancel of queued invocations, so that a worker running a batch
    // stops when its not-yet-started invocations were cancelled.
    uint32_t cancel_epoch() const { return cancel_epoch_.load(std::memory_order_acquire); }

    // Claims up to `limit` more invocations without the pool lock, for a worker that just
    // ran one of this object's. Leaves at least one queued, so that the object stays on
    // the run queue and nothing needs unlinking. Returns how many were claimed.
    uint32_t claim_batch(uint32_t limit)
    {
        // Count them running before they stop counting queued (see Pool::claim_locked).
        activity_.fetch_add(limit * (one_running | one_associated));
        uint32_t queued = queued_.load();
        uint32_t claimed = 0;
        while (queued > 1) {
            uint32_t want = (queued - 1) / 2;
            want = want == 0 ? 1 : (want > limit ? limit : want);
            if (queued_.compare_exchange_weak(queued, queued - want)) {
                claimed = want;
                break;
            }
        }
        if (claimed < limit)
            end_invocations(limit - claimed, limit - claimed);
        return claimed;
    }

    // Blocks until predicate() holds, re-checking whenever an invocation ends or disassociates.
    template <typename Predicate>
    void wait_until(Predicate &&predicate)
    {
        quiescence_.fetch_add(1);
        for (;;) {
            uint32_t seen = quiescence_.load();
            if (predicate())
                break;
            futex_wait(&quiescence_, seen);
        }
        quiescence_.fetch_sub(1);
    }

protected:
    virtual ~Dispatchable() = default;
    // Called when the last reference goes.
    virtual void destroy() = 0;

private:
    friend class Pool;
    friend class RunQueue;
    friend class Inbound;

    // Waiters wait for "no running" or "no associated" invocation, not counting their own:
    // only a count of at most one can satisfy them.
    void notify_quiescence_waiters_if_near_idle(uint64_t activity)
    {
        if ((activity >> 32) <= 1 || static_cast<uint32_t>(activity) <= 1)
            notify_quiescence_waiters();
    }

    void notify_quiescence_waiters()
    {
        // Pairs with the waiter's increment-then-check: one of the two sees the other.
        if ((quiescence_.load() & quiescence_waiter_mask) != 0) {
            quiescence_.fetch_add(quiescence_change);
            futex_wake_all(&quiescence_);
        }
    }

    // Laid out small (objects are many; see docs/ARCHITECTURE.md, "Object size"): the
    // counters share a cache line, which measured no slower than padding them apart.
    Pool &pool_;
    std::atomic<uint32_t> refs_{1};
    // Posters increment, the claiming worker decrements.
    std::atomic<uint32_t> queued_{0};
    // Running invocations in the high half, still-associated ones in the low half: one
    // atomic operation starts or ends an invocation.
    std::atomic<uint64_t> activity_{0};
    static constexpr uint64_t one_running = uint64_t(1) << 32;
    static constexpr uint64_t one_associated = 1;
    // One futex word: threads waiting for the counters to settle in the low half, a
    // sequence bumped on every change that may satisfy them above it.
    std::atomic<uint32_t> quiescence_{0};
    static constexpr uint32_t quiescence_waiter_mask = 0xffff;
    static constexpr uint32_t quiescence_change = 0x10000;
    std::atomic<uint32_t> cancel_epoch_{0};
    const Traits traits_;
    std::atomic<bool> closed_{false};

    // Waiting in the pool's inbound stack (pushed without the lock, linked by a worker).
    std::atomic<bool> inbound_{false};
    // Run-queue membership and links, guarded by the pool's lock; a plain one-shot's are
    // set by the worker that took it from the inbound stack, before it takes the lock
    // (nobody else can reach the object then: see Inbound).
    bool linked_ = false;

protected:
    // A byte of state for the object kind (a timer's "set" and "one-shot"): the base has
    // room for it here, and objects exist by the hundred thousand.
    std::atomic<uint8_t> kind_state_{0};

private:
    Dispatchable *next_ = nullptr;
    Dispatchable *prev_ = nullptr;
    Dispatchable *next_inbound_ = nullptr;
};

} // namespace tpuring::pool
