// Worker threads: start, the dispatch loop, parking on a private futex word, retirement.
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <new>
#include <sys/prctl.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/fast_tls.h"
#include "base/spin.h"
#include "pool/pool.h"

namespace tpuring::pool {

namespace {

TPURING_FAST_TLS thread_local Worker *this_thread_worker = nullptr;

// An idle worker leaves after this long without work while above the pool's minimum.
constexpr timespec idle_retire_after{5, 0};

void *worker_thread(void *arg)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr); // signals belong to the application's threads
    // Timed sleeps end on time (the default slack is 50 us): the timer watcher's sleep is a
    // timer's due time.
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    auto *worker = static_cast<Worker *>(arg);
    this_thread_worker = worker;
    worker->pool->worker_main(*worker);
    return nullptr;
}

} // namespace

// Counted before the callback runs, so a finished wait also sees it counted.
static void count_invocation(Worker &worker)
{
    worker.invocations.store(worker.invocations.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

Worker *current_worker() noexcept { return this_thread_worker; }

bool Pool::spawn_worker_locked()
{
    if (shutting_down_)
        return false;
    Worker *worker = spare_records_;
    if (worker) {
        spare_records_ = worker->next_all;
        worker->~Worker();
        new (worker) Worker();
    } else {
        worker = new (std::nothrow) Worker();
        if (!worker)
            return false;
    }
    worker->pool = this;

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (stack_.StackReserve != 0) {
        size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
        size_t size = std::max<size_t>(stack_.StackReserve, PTHREAD_STACK_MIN);
        pthread_attr_setstacksize(&attr, (size + page - 1) / page * page);
    }
    threads_alive_.fetch_add(1);
    pthread_t thread;
    int rc = pthread_create(&thread, &attr, worker_thread, worker);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        threads_alive_.fetch_sub(1);
        worker->next_all = spare_records_;
        spare_records_ = worker;
        return false;
    }
    pthread_getcpuclockid(thread, &worker->cpu_clock);
    worker->next_all = all_workers_;
    worker->prev_all = nullptr;
    if (all_workers_)
        all_workers_->prev_all = worker;
    all_workers_ = worker;
    ++workers_;
    ++starting_;
    ++workers_started_;
    return true;
}

void Pool::take_one_shot_batch_locked(Worker &worker)
{
    // Plain one-shots waiting right behind the one just claimed move to this worker's own
    // queue, a few at a time: fewer trips through the lock, and other workers can still
    // steal them. Pushed newest first, so that they pop in their order of arrival.
    constexpr int batch = 16;
    Dispatchable *taken[batch];
    int count = 0;
    for (Dispatchable *next = run_queue_.front(); next && count < batch && worker.local.size() + count < 128;
         next = run_queue_.front()) {
        if (!next->is_plain_one_shot())
            break;
        unlink_locked(*next);
        taken[count++] = next;
    }
    while (count > 0)
        worker.local.push(*taken[--count]);
}

Dispatchable *Pool::claim_locked(Worker &worker, Dispatchable *&unlinked)
{
    if (busy_ >= max_threads_)
        return nullptr;
    Dispatchable *item = run_queue_.front();
    // The worker's own queue holds normal-priority one-shots: after high-priority objects,
    // before low ones, and taking turns with the normal run queue.
    bool local_first = !item || item->priority() == Priority::low ||
                       (item->priority() == Priority::normal && worker.local_turn);
    Dispatchable *local = local_first ? begin_local_invocation(worker.local.pop()) : nullptr;
    if (!local && !item) {
        for (Worker *other = all_workers_; other && !local; other = other->next_all)
            if (other != &worker)
                local = begin_local_invocation(other->local.steal());
    }
    if (local) {
        worker.local_turn = false;
        worker.busy = true;
        ++busy_;
        count_invocation(worker);
        return local;
    }
    worker.local_turn = true;
    if (!item)
        return nullptr;
    if (item->is_plain_one_shot()) {
        // Posted once, and nobody can wait for its callbacks: its counters need no atomic
        // read-modify-write, and it keeps its one reference.
        item->activity_.store(Dispatchable::one_running | Dispatchable::one_associated, std::memory_order_relaxed);
        item->queued_.store(0, std::memory_order_relaxed);
        unlink_locked(*item);
        if (dispatch_mode() == TPURING_DISPATCH_DIRECT)
            take_one_shot_batch_locked(worker);
    } else {
        item->add_ref(); // the invocation's reference
        // Count it running before it stops counting queued, so waiters never see neither.
        item->activity_.fetch_add(Dispatchable::one_running | Dispatchable::one_associated);
        if (item->queued_.fetch_sub(1) == 1) {
            unlink_locked(*item);
            unlinked = item;
        } else {
            run_queue_.rotate(*item);
        }
    }
    worker.busy = true;
    ++busy_;
    count_invocation(worker);
    if (item->traits().runs_long) {
        worker.marked_long = true;
        ++long_running_;
    }
    if (item->traits().persistent)
        worker.persistent = true;
    return item;
}

void Pool::worker_main(Worker &worker)
{
    std::unique_lock lock(lock_);
    worker.tid = gettid();
    --starting_;
    Inbound::Taken taken; // inbound objects taken before locking
    for (;;) {
        Dispatchable *drained = link_inbound_locked(taken ? taken : inbound_.take_all());
        taken = {};
        Dispatchable *unlinked = nullptr;
        if (Dispatchable *item = claim_locked(worker, unlinked)) {
            Worker *helper = has_ready_locked() ? provide_worker_locked() : nullptr;
            lock.unlock();
            wake(helper);
            release_drained(drained);
            if (unlinked)
                unlinked->release(); // the run queue's reference; ours keeps it alive
            run_claimed(worker, *item);
            // Its own one-shots next, without the lock: all of them while the shared queues
            // are empty, else a few before taking a turn with them. Anything of high
            // priority goes first; a worker whose callback was marked long goes back through
            // the lock first.
            constexpr int turns_before_sharing = 16;
            for (int turn = 0; !worker.marked_long && !high_priority_waiting() &&
                               (turn < turns_before_sharing || !shared_work_waiting());
                 ++turn) {
                Dispatchable *next = begin_local_invocation(worker.local.pop());
                if (!next)
                    break;
                count_invocation(worker);
                run_claimed(worker, *next);
            }
            taken = inbound_.take_all();
            lock.lock();
            worker.busy = false;
            --busy_;
            if (worker.marked_long) {
                worker.marked_long = false;
                --long_running_;
            }
            continue;
        }
        if (drained) {
            lock.unlock();
            release_drained(drained);
            lock.lock();
            continue;
        }
        // Nothing it may claim (the pool is at its maximum): what is left on its own queue
        // goes where any worker can take it, before this one parks or leaves.
        spill_local_locked(worker);
        if (shutting_down_)
            break;
        if (workers_ > max_threads_ && !worker.persistent)
            break; // the maximum was lowered: leave rather than idle
        if (spinning_ == 0 && spin_for_work(lock))
            continue;
        if (!park(lock, worker))
            break;
    }
    retire_locked(worker);
    lock.unlock();
    thread_exited();
}

void Pool::spill_local_locked(Worker &worker)
{
    while (Dispatchable *item = worker.local.pop())
        link_locked(*item);
}

void Pool::run_claimed(Worker &worker, Dispatchable &item)
{
    worker.in_callback.store(true, std::memory_order_relaxed);
    bool associated = item.invoke(worker);
    if (!item.is_plain_one_shot()) { // one post, no waiters: nothing to end or batch
        item.end_invocations(1, associated ? 1 : 0);
        run_batches(worker, item);
    }
    worker.in_callback.store(false, std::memory_order_relaxed);
    item.release(); // the invocation's reference (a plain one-shot's only one)
}

bool Pool::spin_for_work(std::unique_lock<std::mutex> &lock)
{
    // One worker at a time looks for new work for a few microseconds before parking: a
    // post arriving meanwhile needs no futex wake, and the worker no sleep. Posters see
    // spinning_ under the lock; it only drops under the lock, after a last look.
    // Timed, not counted: a pause instruction takes from a few to over a hundred cycles
    // depending on the CPU, and a spinner that outstays its few microseconds holds a CPU
    // that a preempted worker may be waiting for.
    constexpr int64_t spin_ns = 5'000;
    constexpr int rounds_between_clock_reads = 64;
    ++spinning_;
    lock.unlock();
    const int64_t spin_until = monotonic_ns() + spin_ns;
    for (int round = 1;; ++round) {
        if (shared_work_waiting())
            break;
        cpu_relax();
        if (round % rounds_between_clock_reads == 0 && monotonic_ns() >= spin_until)
            break;
    }
    lock.lock();
    --spinning_;
    return has_ready_locked();
}

void Pool::run_batches(Worker &worker, Dispatchable &item)
{
    // While this object is all there is to run and nobody idles, take its queued
    // invocations in small batches without the lock: fewer shared-counter round trips.
    constexpr uint32_t batch_limit = 32;
    auto alone = [&] {
        return linked_count_.load(std::memory_order_relaxed) == 1 && inbound_.empty() && worker.local.empty();
    };
    while (alone() && idle_.load(std::memory_order_relaxed) == 0) {
        uint32_t epoch = item.cancel_epoch();
        uint32_t claimed = item.claim_batch(batch_limit);
        if (claimed == 0)
            return;
        uint32_t started = 0;
        uint32_t unended = 0;
        uint32_t unended_associated = 0;
        for (; started < claimed; ++started) {
            if (started > 0 && item.cancel_epoch() != epoch)
                break; // the rest were cancelled before they started
            if (started > 0 && !alone()) {
                give_back_claimed(item, claimed - started, epoch); // another object's turn
                claimed = started;
                break;
            }
            count_invocation(worker);
            bool associated = item.invoke(worker);
            ++unended;
            unended_associated += associated ? 1 : 0;
            if (item.has_quiescence_waiters()) {
                item.end_invocations(unended, unended_associated);
                unended = unended_associated = 0;
            }
        }
        uint32_t abandoned = claimed - started;
        item.end_invocations(unended + abandoned, unended_associated + abandoned);
    }
}

void Pool::give_back_claimed(Dispatchable &item, uint32_t count, uint32_t epoch)
{
    Worker *to_wake = nullptr;
    {
        std::lock_guard guard(lock_);
        // Under the lock a cancel cannot slip in: if none happened since the claim, the
        // invocations count as queued again; otherwise they were cancelled with the rest.
        // Another worker may have taken the last queued one meanwhile and unlinked it.
        if (item.cancel_epoch() == epoch) {
            item.queued_.fetch_add(count);
            if (!item.linked_) {
                item.add_ref(); // the run queue's reference
                link_locked(item);
                to_wake = provide_worker_locked();
            }
        }
    }
    wake(to_wake);
    item.end_invocations(count, count);
}

bool Pool::park(std::unique_lock<std::mutex> &lock, Worker &worker)
{
    // Shutdown may have begun while this worker spun without the lock: it woke only the
    // idle workers then, so this one would otherwise sleep until it retires.
    if (shutting_down_)
        return false;
    worker.wake_word.store(0, std::memory_order_relaxed);
    push_idle_locked(worker);
    // A poster that saw no idle worker did not take the lock: look once more now that
    // this one counts as idle (see push_inbound()).
    if (!inbound_.empty() || any_local_work_locked()) {
        remove_idle_locked(worker);
        return true;
    }
    // One idle worker watches the clock: it sleeps until the earliest timer at the latest
    // and fires it itself, so that a timer callback costs one wake-up, not the owner's and
    // then a worker's. The owner's kernel timeout stays armed behind it.
    const bool watching = timer_watcher_ == nullptr;
    if (watching)
        timer_watcher_ = &worker;
    lock.unlock();
    for (;;) {
        timespec timeout = idle_retire_after;
        bool timer_due_at_timeout = false;
        if (watching) {
            int64_t key = timers().next_monotonic_key();
            int64_t left = key == INT64_MAX ? INT64_MAX : key - monotonic_ns();
            if (left < idle_retire_after.tv_sec * 1'000'000'000LL) {
                left = std::max<int64_t>(left, 0);
                timeout = {static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
                timer_due_at_timeout = true;
            }
            timers().set_watcher_key(timer_due_at_timeout ? key : INT64_MAX);
        }
        int rc = futex_wait(&worker.wake_word, 0, &timeout);
        int err = rc == 0 ? 0 : errno;
        if (worker.wake_word.load(std::memory_order_acquire) == 1) {
            if (watching) // a waker took it off the idle list, maybe before the store above
                timers().set_watcher_key(INT64_MAX);
            lock.lock();
            --waking_;
            return true;
        }
        if (err != ETIMEDOUT)
            continue;
        lock.lock();
        if (worker.wake_word.load(std::memory_order_acquire) == 1) {
            --waking_; // a waker took us off the idle list meanwhile
            return true;
        }
        if (timer_due_at_timeout) {
            // Leave the idle list as if woken, so that the callback fired below wakes nobody
            // else: this worker takes it.
            remove_idle_locked(worker);
            ++waking_;
            lock.unlock();
            timers().fire_due_on_worker();
            lock.lock();
            --waking_;
            return true;
        }
        if (shutting_down_ || (workers_ > min_threads_ && !worker.persistent)) {
            remove_idle_locked(worker);
            return false;
        }
        lock.unlock();
    }
}

void Pool::retire_locked(Worker &worker)
{
    (worker.prev_all ? worker.prev_all->next_all : all_workers_) = worker.next_all;
    if (worker.next_all)
        worker.next_all->prev_all = worker.prev_all;
    worker.next_all = spare_records_;
    spare_records_ = &worker;
    --workers_;
    ++workers_retired_;
    retired_invocations_ += worker.invocations.load(std::memory_order_relaxed);
}

} // namespace tpuring::pool
