#include "pool/pool.h"

#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <new>
#include <unistd.h>

#include "base/last_error.h"
#include "uring/support.h"

namespace tpuring::pool {

namespace {
// Whether a thread of this process is asleep (blocked), as /proc reports its state.
bool thread_is_sleeping(pid_t tid)
{
    char path[64];
    std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", static_cast<int>(tid));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    char buffer[256];
    ssize_t length = read(fd, buffer, sizeof buffer - 1);
    close(fd);
    if (length <= 0)
        return false;
    buffer[length] = 0;
    const char *name_end = std::strrchr(buffer, ')'); // the name may contain spaces
    if (!name_end || name_end[1] != ' ')
        return false;
    char state = name_end[2];
    return state == 'S' || state == 'D';
}

uint32_t online_cpus()
{
    long count = sysconf(_SC_NPROCESSORS_ONLN);
    return count > 0 ? static_cast<uint32_t>(count) : 1;
}
} // namespace

void Dispatchable::timer_expired() { pool_.post_from_owner(*this); }

Pool::Pool(bool immortal) : immortal_(immortal), owner_(*this), cpu_count_(online_cpus()) {}

Pool *Pool::create(DWORD *error, bool immortal)
{
    if (uring::unsupported_reason()) {
        *error = ERROR_NOT_SUPPORTED;
        return nullptr;
    }
    Pool *pool = new (std::nothrow) Pool(immortal);
    if (!pool) {
        *error = ERROR_NOT_ENOUGH_MEMORY;
        return nullptr;
    }
    pool->threads_alive_.store(1); // the ring owner
    int rc = pool->owner_.start();
    if (rc < 0) {
        delete pool;
        *error = (rc == -ENOMEM || rc == -EAGAIN) ? ERROR_NOT_ENOUGH_MEMORY : ERROR_NOT_SUPPORTED;
        return nullptr;
    }
    return pool;
}

Pool *Pool::default_pool()
{
    struct Holder {
        Pool *pool;
        DWORD error = ERROR_SUCCESS;
        Holder() { pool = Pool::create(&error, true); }
    };
    static Holder holder; // lives for the process; never released
    if (!holder.pool)
        set_last_error(holder.error);
    return holder.pool;
}

void Pool::release()
{
    if (!immortal_ && refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
        begin_shutdown();
}

void Pool::begin_shutdown()
{
    Worker *to_wake = nullptr;
    {
        std::lock_guard guard(lock_);
        shutting_down_ = true;
        // Idle workers leave; busy ones leave when their invocation ends.
        while (Worker *worker = pop_idle_locked()) {
            worker->next_idle = to_wake;
            to_wake = worker;
        }
    }
    // The pool's threads free it when the last one leaves, possibly before stop() returns:
    // count this thread among them until it is done touching the pool.
    threads_alive_.fetch_add(1);
    while (to_wake) {
        Worker *next = to_wake->next_idle;
        wake(to_wake);
        to_wake = next;
    }
    owner_.stop();
    thread_exited();
}

void Pool::thread_exited()
{
    if (threads_alive_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        while (all_workers_) {
            Worker *next = all_workers_->next_all;
            delete all_workers_;
            all_workers_ = next;
        }
        while (spare_records_) {
            Worker *next = spare_records_->next_all;
            delete spare_records_;
            spare_records_ = next;
        }
        delete this;
    }
}

void Pool::set_max_threads(DWORD count)
{
    Worker *to_wake = nullptr;
    {
        std::lock_guard guard(lock_);
        max_threads_ = count == 0 ? 1 : count;
        if (min_threads_ > max_threads_)
            min_threads_ = max_threads_;
        if (has_ready_locked())
            to_wake = provide_worker_locked();
    }
    wake(to_wake);
}

bool Pool::set_min_threads(DWORD count)
{
    std::lock_guard guard(lock_);
    while (workers_ < count) {
        if (!spawn_worker_locked()) {
            set_last_error(ERROR_NOT_ENOUGH_MEMORY);
            return false;
        }
    }
    if (max_threads_ < count)
        max_threads_ = count;
    min_threads_ = count;
    return true;
}

void Pool::set_stack(const TP_POOL_STACK_INFORMATION &info)
{
    std::lock_guard guard(lock_);
    stack_ = info;
}

TP_POOL_STACK_INFORMATION Pool::stack() const
{
    std::lock_guard guard(lock_);
    return stack_;
}

void Pool::query_stats(tpuring_pool_stats &stats)
{
    std::unique_lock lock(lock_);
    Dispatchable *drained = drain_inbound_locked(); // so that ready_objects counts them
    stats.workers = workers_;
    stats.idle_workers = idle_;
    stats.max_workers = max_threads_;
    stats.min_workers = min_threads_;
    stats.ready_objects = linked_count_.load(std::memory_order_relaxed);
    for (Worker *worker = all_workers_; worker; worker = worker->next_all)
        stats.ready_objects += worker->local.size();
    stats.callbacks_run = invocations_locked();
    stats.workers_started = workers_started_;
    stats.workers_retired = workers_retired_;
    lock.unlock();
    release_drained(drained);
}

void Pool::post_one_shot(Dispatchable &item)
{
    Worker *worker = current_worker();
    if (!worker || worker->pool != this || !item.is_plain_one_shot() || dispatch_mode() != TPURING_DISPATCH_DIRECT) {
        post(item);
        return;
    }
    item.queued_.store(1, std::memory_order_relaxed);
    if (!worker->local.push(item)) {
        item.queued_.store(0, std::memory_order_relaxed);
        post(item); // full: the shared queues take it
        return;
    }
    // If this worker has not run it by then, whoever looks for work next steals it.
    provide_worker_after_post();
}

void Pool::provide_worker_after_post()
{
    // Every worker busy and the owner watching for blocked ones: the next worker to look
    // for work takes it, and nothing here could add one. Pairs with the store-then-check
    // of park() and monitor_tick(), so one side always sees the other.
    if (idle_.load() == 0 && monitoring_.load())
        return;
    Worker *to_wake;
    {
        std::lock_guard guard(lock_);
        to_wake = provide_worker_locked();
    }
    wake(to_wake);
}

Dispatchable *Pool::begin_local_invocation(Dispatchable *item)
{
    if (item) {
        // Nobody can wait for a plain one-shot's callbacks (see claim_locked).
        item->activity_.store(Dispatchable::one_running | Dispatchable::one_associated, std::memory_order_relaxed);
        item->queued_.store(0, std::memory_order_relaxed);
    }
    return item;
}

bool Pool::any_local_work_locked() const
{
    for (Worker *worker = all_workers_; worker; worker = worker->next_all)
        if (!worker->local.empty())
            return true;
    return false;
}

bool Pool::push_inbound(Dispatchable &item)
{
    if (!item.is_plain_one_shot()) {
        // Once in the stack is enough: the drain links it with whatever count it has then.
        if (item.inbound_.exchange(true))
            return false;
        item.add_ref(); // the inbound stack's reference; the run queue takes it over
    }
    return inbound_.push(item); // else whoever pushed onto the empty stack saw to a worker
}

Dispatchable *Pool::link_inbound_locked(const Inbound::Taken &taken)
{
    Dispatchable *unlinked = nullptr;
    Inbound::visit_runs(taken, [&](Dispatchable &item) {
        if (Inbound::Taken::is_plain_run(item)) { // posted once, cancelled never
            run_queue_.push_back_run(item, Inbound::Taken::last_of_plain_run(item));
            return;
        }
        // Cleared before the count is read: a post that finds it set is seen by that read.
        item.inbound_.store(false);
        if (!item.linked_ && item.queued_.load() != 0) {
            link_locked(item);
        } else if (!item.release_unless_last()) {
            // Ours is the only reference, so nobody can post it again meanwhile: its
            // inbound link is free to chain it until the lock is gone.
            item.next_inbound_ = unlinked;
            unlinked = &item;
        }
    });
    if (taken.plain != 0)
        linked_count_.fetch_add(taken.plain, std::memory_order_relaxed);
    return unlinked;
}

void Pool::release_drained(Dispatchable *drained)
{
    while (drained) {
        Dispatchable *next = drained->next_inbound_;
        drained->release();
        drained = next;
    }
}

void Pool::enqueue_direct(Dispatchable &item)
{
    Worker *to_wake = nullptr;
    {
        std::lock_guard guard(lock_);
        // A concurrent cancel may have emptied the count since the post that got here.
        if (item.linked_ || item.queued_.load() == 0)
            return;
        if (!item.is_plain_one_shot())
            item.add_ref(); // the run queue's reference, dropped when unlinked
        link_locked(item);
        to_wake = provide_worker_locked();
    }
    wake(to_wake);
}

void Pool::enqueue_posted(Dispatchable &item) { enqueue_direct(item); }

uint32_t Pool::cancel_queued(Dispatchable &item)
{
    uint32_t discarded;
    bool was_linked;
    {
        std::lock_guard guard(lock_);
        discarded = item.queued_.exchange(0);
        item.cancel_epoch_.fetch_add(1, std::memory_order_release);
        was_linked = item.linked_;
        if (was_linked)
            unlink_locked(item);
    }
    // Another thread may be waiting for exactly this: nothing queued any more.
    if (discarded > 0)
        item.notify_quiescence_waiters();
    if (was_linked)
        item.release();
    return discarded;
}

Worker *Pool::provide_worker_locked()
{
    // A worker on its way to the run queue takes this work, and wakes the next one itself
    // if more is waiting: one wake-up at a time, not one per post.
    if (waking_ > 0 || starting_ > 0 || spinning_ > 0)
        return nullptr;
    if (Worker *idle = pop_idle_locked())
        return idle;
    if (shutting_down_ || workers_ >= max_threads_)
        return nullptr;
    // Start another thread only while the pool has fewer threads than CPUs, not counting
    // those in callbacks marked long; beyond that the owner's monitor decides, from
    // whether the busy ones are actually blocked.
    if (workers_ - long_running_ < cpu_count_ && spawn_worker_locked())
        return nullptr;
    if (!monitoring_.load(std::memory_order_relaxed)) {
        monitoring_.store(true);
        owner_.request_monitoring();
    }
    return nullptr;
}

bool Pool::monitor_tick()
{
    std::lock_guard guard(lock_);
    if (shutting_down_ || workers_ >= max_threads_) {
        monitoring_.store(false);
        return false;
    }
    // Cleared before looking, so that a poster skipping the lock (push_inbound) either
    // sees it cleared or its object is seen here.
    monitoring_.store(false);
    if (!has_ready_locked())
        return false;
    monitoring_.store(true);
    if (idle_workers_ || starting_ > 0 || waking_ > 0 || spinning_ > 0)
        return true; // someone is about to take the work
    // Callbacks started since the last tick: the queue is moving, nobody is stuck.
    uint64_t invocations = invocations_locked();
    bool progressed = invocations != invocations_at_tick_;
    invocations_at_tick_ = invocations;
    if (progressed)
        return true;
    // Nothing started for a tick. Workers count as available unless they are in a
    // callback, got almost no CPU since the last look, and sleep: those are blocked, and the
    // queued callbacks need other threads. (Little CPU alone can mean waiting for a CPU.)
    constexpr int64_t min_cpu_ns = 300'000; // of a ~1 ms tick
    uint32_t available = 0;
    for (Worker *worker = all_workers_; worker; worker = worker->next_all) {
        timespec now{};
        int64_t cpu_ns = worker->cpu_ns_at_tick;
        if (clock_gettime(worker->cpu_clock, &now) == 0)
            cpu_ns = int64_t(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
        bool blocked = worker->marked_long ||
                       (worker->in_callback.load(std::memory_order_relaxed) &&
                        cpu_ns - worker->cpu_ns_at_tick < min_cpu_ns && thread_is_sleeping(worker->tid));
        if (!blocked)
            ++available;
        worker->cpu_ns_at_tick = cpu_ns;
    }
    while (available < cpu_count_ && workers_ < max_threads_) {
        if (!spawn_worker_locked())
            break;
        ++available;
    }
    return true;
}

bool Pool::may_run_long(Worker &worker)
{
    std::lock_guard guard(lock_);
    if (worker.marked_long)
        return true;
    worker.marked_long = true;
    ++long_running_;
    if (idle_ > 0 || starting_ > 0 || waking_ > 0 || spinning_ > 0)
        return true;
    if (workers_ < max_threads_)
        return spawn_worker_locked();
    return false;
}

uint64_t Pool::invocations_locked() const
{
    uint64_t total = retired_invocations_;
    for (Worker *worker = all_workers_; worker; worker = worker->next_all)
        total += worker->invocations.load(std::memory_order_relaxed);
    return total;
}

void Pool::link_locked(Dispatchable &item)
{
    run_queue_.push_back(item);
    linked_count_.fetch_add(1, std::memory_order_relaxed);
    if (item.priority() == Priority::high)
        linked_high_.fetch_add(1, std::memory_order_relaxed);
}

void Pool::unlink_locked(Dispatchable &item)
{
    run_queue_.remove(item);
    linked_count_.fetch_sub(1, std::memory_order_relaxed);
    if (item.priority() == Priority::high)
        linked_high_.fetch_sub(1, std::memory_order_relaxed);
}

void Pool::wake(Worker *worker)
{
    if (worker)
        futex_wake(&worker->wake_word, 1);
}

void Pool::push_idle_locked(Worker &worker)
{
    worker.idle = true;
    worker.prev_idle = nullptr;
    worker.next_idle = idle_workers_;
    if (idle_workers_)
        idle_workers_->prev_idle = &worker;
    idle_workers_ = &worker;
    idle_.fetch_add(1); // sequentially consistent: see push_inbound()
}

void Pool::remove_idle_locked(Worker &worker)
{
    (worker.prev_idle ? worker.prev_idle->next_idle : idle_workers_) = worker.next_idle;
    if (worker.next_idle)
        worker.next_idle->prev_idle = worker.prev_idle;
    worker.next_idle = worker.prev_idle = nullptr;
    worker.idle = false;
    if (timer_watcher_ == &worker) {
        timer_watcher_ = nullptr;
        timers().set_watcher_key(INT64_MAX);
    }
    idle_.fetch_sub(1, std::memory_order_relaxed);
}

Worker *Pool::pop_idle_locked()
{
    Worker *worker = idle_workers_;
    if (!worker)
        return nullptr;
    remove_idle_locked(*worker);
    ++waking_;
    worker->wake_word.store(1, std::memory_order_release);
    return worker;
}

} // namespace tpuring::pool
