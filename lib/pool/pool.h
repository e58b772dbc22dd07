// A thread pool: one io_uring with its owner thread, ready queues by priority, and a
// dynamically sized set of worker threads that run the callbacks.
//
// Locking: lock_ guards the run queue, the worker lists and counts, and the limits. No
// callback ever runs under it. Object counters are atomics (see Dispatchable). Posting
// threads do not take it: a first post pushes the object onto a lock-free inbound stack,
// which a worker moves onto the run queue under the lock when it looks for work.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

#include <tpuring/tpuring.h>

#include "pool/inbound.h"
#include "pool/dispatchable.h"
#include "pool/ring_owner.h"
#include "pool/run_queue.h"
#include "pool/worker.h"

namespace tpuring::pool {

class Pool {
public:
    // A new pool with its ring-owner thread running; nullptr with *error set on failure.
    // An immortal pool (the default one) is never freed and counts no references.
    static Pool *create(DWORD *error, bool immortal = false);

    // The process's default pool, created on first use; nullptr with the last error set
    // when it cannot be created.
    static Pool *default_pool();

    // References: the creator's, and one per bound object. When the last goes the pool
    // drains its queues and its threads exit; the last thread frees it.
    // Every object holds one: on the default pool, which lives for the process, counting
    // them would only make every thread that creates or frees an object contend for
    // one cache line.
    void add_ref()
    {
        if (!immortal_)
            refs_.fetch_add(1, std::memory_order_relaxed);
    }
    void release();

    void set_max_threads(DWORD count);
    bool set_min_threads(DWORD count);
    void set_stack(const TP_POOL_STACK_INFORMATION &info);
    TP_POOL_STACK_INFORMATION stack() const;
    void set_dispatch_mode(tpuring_dispatch_mode mode) { dispatch_mode_.store(mode, std::memory_order_relaxed); }
    tpuring_dispatch_mode dispatch_mode() const { return dispatch_mode_.load(std::memory_order_relaxed); }
    void query_stats(tpuring_pool_stats &stats);

    // Queues one invocation of item. Never fails, never blocks on a callback.
    void post(Dispatchable &item)
    {
        if (post_deferring_wake(item))
            provide_worker_after_post();
    }

    // Queues the single invocation of a new one-shot object. Submitted by one of this
    // pool's workers in direct mode, a plain private one goes to that worker's own queue,
    // which then owns the caller's reference.
    void post_one_shot(Dispatchable &item);

    // post() in two halves, for a poster that holds a lock the woken worker may want:
    // queues the invocation and returns whether a worker is owed; then, with the lock
    // released, provide_worker_after_post() if it is.
    bool post_deferring_wake(Dispatchable &item)
    {
        if (item.is_plain_one_shot())
            item.queued_.store(1, std::memory_order_relaxed); // its only post
        else if (item.queued_.fetch_add(1) != 0)
            return false;
        if (dispatch_mode() == TPURING_DISPATCH_RING) {
            owner_.post(item);
            return false;
        }
        return push_inbound(item);
    }
    // After a post no worker may have seen: wakes or starts one if that is needed.
    void provide_worker_after_post();

    // Queues one invocation from the ring owner itself (timer expiries, wait completions):
    // always straight onto the run queue.
    void post_from_owner(Dispatchable &item)
    {
        if (item.queued_.fetch_add(1) == 0)
            enqueue_direct(item);
    }

    TimerService &timers() { return owner_.timers(); }
    bool run_on_owner(OwnerCommand &command) { return owner_.schedule(command); }

    // Discards item's queued invocations that have not started; returns how many.
    uint32_t cancel_queued(Dispatchable &item);

    // CallbackMayRunLong for the invocation running on worker.
    bool may_run_long(Worker &worker);

    // Ring owner: an object posted as a completion has arrived.
    void enqueue_posted(Dispatchable &item);
    // Ring owner, about every millisecond while monitoring: grows the pool when queued
    // callbacks wait behind blocked ones. Returns whether to keep monitoring.
    bool monitor_tick();
    // Ring owner and workers: a pool thread has finished.
    void thread_exited();

    void worker_main(Worker &worker);

private:
    explicit Pool(bool immortal);
    ~Pool() = default;

    void enqueue_direct(Dispatchable &item);
    // Returns whether a worker is owed (provide_worker_after_post).
    bool push_inbound(Dispatchable &item);
    // Moves inbound objects onto the run queue: all of them, or a chain taken from the
    // stack beforehand (without the lock, so that walking it is not done under the lock).
    // Returns those that needed no link (cancelled or linked meanwhile) and whose last
    // reference the stack held, chained by next_inbound_: release them after unlocking.
    [[nodiscard]] Dispatchable *drain_inbound_locked() { return link_inbound_locked(inbound_.take_all()); }
    [[nodiscard]] Dispatchable *link_inbound_locked(const Inbound::Taken &taken);
    static void release_drained(Dispatchable *drained);
    bool has_ready_locked() const { return !run_queue_.empty() || !inbound_.empty() || any_local_work_locked(); }
    bool any_local_work_locked() const;
    // Whether anything of high priority waits (read without the lock, as a hint).
    bool high_priority_waiting() const
    {
        return linked_high_.load(std::memory_order_relaxed) != 0 || inbound_.high_priority_waiting();
    }
    // Whether the shared queues hold anything (read without the lock, as a hint).
    bool shared_work_waiting() const
    {
        return linked_count_.load(std::memory_order_relaxed) != 0 || !inbound_.empty();
    }
    // Starts an invocation of a plain one-shot taken from a worker's queue: counted
    // running (it keeps its one reference). Passes nullptr through.
    static Dispatchable *begin_local_invocation(Dispatchable *item);
    void run_claimed(Worker &worker, Dispatchable &item);
    // Makes sure someone will run the queued work: wakes an idle worker, starts one, or
    // asks the owner to watch for stalls. Returns the worker to wake after unlocking.
    Worker *provide_worker_locked();
    bool spawn_worker_locked();
    void wake(Worker *worker);
    void begin_shutdown();
    Dispatchable *claim_locked(Worker &worker, Dispatchable *&unlinked);
    void take_one_shot_batch_locked(Worker &worker);
    void spill_local_locked(Worker &worker);
    bool park(std::unique_lock<std::mutex> &lock, Worker &worker);
    void run_batches(Worker &worker, Dispatchable &item);
    bool spin_for_work(std::unique_lock<std::mutex> &lock);
    void give_back_claimed(Dispatchable &item, uint32_t count, uint32_t epoch);
    void retire_locked(Worker &worker);

    uint64_t invocations_locked() const;
    void link_locked(Dispatchable &item);
    void unlink_locked(Dispatchable &item);
    void push_idle_locked(Worker &worker);
    Worker *pop_idle_locked();
    void remove_idle_locked(Worker &worker);

    // Cache lines apart: what every object's creation and destruction touches, what
    // posting threads push to, what they read, and what the lock guards.
    alignas(64) std::atomic<uint32_t> refs_{1};
    const bool immortal_;

    alignas(64) std::atomic<uint32_t> threads_alive_{0}; // workers and the owner; the last one frees the pool
    std::atomic<tpuring_dispatch_mode> dispatch_mode_{TPURING_DISPATCH_DIRECT};
    RingOwner owner_;

    Inbound inbound_;

    // Written under lock_, read by posters without it.
    alignas(64) std::atomic<uint32_t> idle_{0};
    std::atomic<bool> monitoring_{false}; // the owner is watching the run queue for stalls

    alignas(64) mutable std::mutex lock_;
    RunQueue run_queue_;
    std::atomic<uint32_t> linked_count_{0}; // objects on the run queue; read as a hint without lock_
    std::atomic<uint32_t> linked_high_{0};  // of them, high priority; likewise
    Worker *all_workers_ = nullptr;
    Worker *idle_workers_ = nullptr; // LIFO: the most recently parked is woken first
    Worker *timer_watcher_ = nullptr; // the idle worker sleeping until the earliest timer
    Worker *spare_records_ = nullptr;
    uint32_t workers_ = 0;       // alive, including starting
    uint32_t starting_ = 0;      // created, not yet looking for work
    uint32_t waking_ = 0;        // taken off the idle list, not yet looking for work
    uint32_t spinning_ = 0;      // looking for work for a moment before parking
    uint32_t busy_ = 0;          // running an invocation
    uint32_t long_running_ = 0;  // of the busy, marked may-run-long
    uint32_t max_threads_ = 500;
    uint32_t min_threads_ = 0;
    TP_POOL_STACK_INFORMATION stack_{1024 * 1024, 4096};
    bool shutting_down_ = false;
    uint64_t invocations_at_tick_ = 0;
    uint64_t retired_invocations_ = 0; // of workers that are gone
    uint64_t workers_started_ = 0;
    uint64_t workers_retired_ = 0;
    const uint32_t cpu_count_;
};

} // namespace tpuring::pool
