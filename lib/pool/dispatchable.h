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
    };

    Dispatchable(Pool &pool, Traits traits) : pool_(pool), traits_(traits) {}
    Dispatchable(const Dispatchable &) = delete;
    Dispatchable &operator=(const Dispatchable &) = delete;

    Pool &pool() const { return pool_; }
    Priority priority() const { return traits_.priority; }
    const Traits &traits() const { return traits_; }

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

    void release()
    {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
            destroy();
    }

    // Runs one claimed invocation on a worker. On entry `running` and `associated` already
    // count it; the invocation must end with end_invocation().
    virtual void invoke(Worker &worker) = 0;

    // Callback counters (spec/README.md, "Per-object counters").
    uint32_t queued() const { return queued_.load(); }
    uint32_t running() const { return running_.load(); }
    uint32_t associated() const { return associated_.load(); }

    // Drops the association of a running invocation (DisassociateCurrentThreadFromCallback).
    void disassociate_one()
    {
        associated_.fetch_sub(1);
        notify_quiescence_waiters();
    }

    // Ends an invocation claimed by the pool; `still_associated` is false after a disassociate.
    void end_invocation(bool still_associated)
    {
        if (still_associated)
            associated_.fetch_sub(1);
        running_.fetch_sub(1);
        notify_quiescence_waiters();
    }

    // Blocks until predicate() holds, re-checking whenever an invocation ends or disassociates.
    template <typename Predicate>
    void wait_until(Predicate &&predicate)
    {
        quiescence_waiters_.fetch_add(1);
        for (;;) {
            uint32_t seen = quiescence_seq_.load();
            if (predicate())
                break;
            futex_wait(&quiescence_seq_, seen);
        }
        quiescence_waiters_.fetch_sub(1);
    }

protected:
    virtual ~Dispatchable() = default;
    // Called when the last reference goes.
    virtual void destroy() = 0;

private:
    friend class Pool;
    friend class RunQueue;
    friend class RingOwner;

    void notify_quiescence_waiters()
    {
        // Pairs with the waiter's increment-then-check: one of the two sees the other.
        if (quiescence_waiters_.load() != 0) {
            quiescence_seq_.fetch_add(1);
            futex_wake_all(&quiescence_seq_);
        }
    }

    Pool &pool_;
    const Traits traits_;
    std::atomic<uint32_t> refs_{1};

    // Hot: posters increment, the claiming worker decrements (under the pool lock).
    alignas(64) std::atomic<uint32_t> queued_{0};
    std::atomic<uint32_t> running_{0};
    std::atomic<uint32_t> associated_{0};
    std::atomic<uint32_t> quiescence_waiters_{0};
    std::atomic<uint32_t> quiescence_seq_{0};

    // Run-queue links and the ring-mode post command; guarded by the pool's lock.
    Dispatchable *next_ = nullptr;
    Dispatchable *prev_ = nullptr;
    bool linked_ = false;
    Dispatchable *next_command_ = nullptr;  // owner's NOP post stack (ring mode without MSG_RING)
    std::atomic<bool> nop_post_pending_{false};
};

} // namespace tpuring::pool
