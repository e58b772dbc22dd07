// Timer queues (spec/legacy-api.md: CreateTimerQueue, CreateTimerQueueTimer,
// ChangeTimerQueueTimer, DeleteTimerQueueTimer, DeleteTimerQueueEx, DeleteTimerQueue), with
// every "Timer queues" item of its "Observed in Wine's tests" list. Callbacks that must stay
// busy block on gates the test opens, instead of sleeping.
#include "timer_support.h"

#include <set>

namespace {

using namespace tmtest;

constexpr DWORD kSentinelError = 0xdeadbeef;

// ---- Helpers ----------------------------------------------------------------------------

struct QueueCounter {
    AtomicCounter count;
    std::atomic<int> not_timed_out{0}; // TimerOrWaitFired must always be TRUE for timers
    FireLog log;
};

void CALLBACK count_queue_timer(PVOID p, BOOLEAN timed_out)
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

void CALLBACK gated_queue_timer(PVOID p, BOOLEAN)
{
    auto *g = static_cast<GatedCallback *>(p);
    g->started.increment();
    if (!g->gate.wait(kLongTimeout))
        g->gate_timed_out = true;
    g->finished.increment();
}

void CALLBACK quick_queue_timer(PVOID p, BOOLEAN)
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

// ---- Queues -----------------------------------------------------------------------------

// legacy-api.md: a new queue is a handle; deleting it without timers succeeds (Vista+: TRUE
// for NULL), and a successful call leaves the last error alone.
TEST(TimerQueue, CreateAndDeleteAnEmptyQueue)
{
    for (HANDLE completion : {HANDLE(nullptr), INVALID_HANDLE_VALUE}) {
        HANDLE queue = CreateTimerQueue();
        ASSERT_NE(nullptr, queue);
        SetLastError(kSentinelError);
        EXPECT_TRUE(DeleteTimerQueueEx(queue, completion));
        EXPECT_EQ(kSentinelError, GetLastError());
    }
    Handle event = make_event(true, false);
    HANDLE queue = CreateTimerQueue();
    ASSERT_NE(nullptr, queue);
    EXPECT_TRUE(DeleteTimerQueueEx(queue, event));
    EXPECT_TRUE(signaled_within(event)); // immediately: nothing outstanding
    queue = CreateTimerQueue();
    ASSERT_NE(nullptr, queue);
    EXPECT_TRUE(DeleteTimerQueue(queue));
}

// legacy-api.md "Observed": DeleteTimerQueueEx(NULL, …) → FALSE, ERROR_INVALID_HANDLE (the
// default queue cannot be deleted); so does DeleteTimerQueue(NULL).
TEST(TimerQueue, DeletingTheDefaultQueueIsInvalidHandle)
{
    for (HANDLE completion : {HANDLE(nullptr), INVALID_HANDLE_VALUE}) {
        SetLastError(kSentinelError);
        EXPECT_FALSE(DeleteTimerQueueEx(nullptr, completion));
        EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_HANDLE), GetLastError());
    }
    SetLastError(kSentinelError);
    EXPECT_FALSE(DeleteTimerQueue(nullptr));
    EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_HANDLE), GetLastError());
    // The default queue still works afterwards.
    Shared<QueueCounter> counter;
    HANDLE timer = nullptr;
    ASSERT_TRUE(CreateTimerQueueTimer(&timer, nullptr, count_queue_timer, counter.get(), 0, 0, 0));
    ASSERT_TRUE(counter->count.wait_for_at_least(1));
    EXPECT_TRUE(DeleteTimerQueueTimer(nullptr, timer, INVALID_HANDLE_VALUE));
}

// legacy-api.md: CreateTimerQueueTimer on a deleted queue → ERROR_INVALID_HANDLE; so does
// deleting the queue again.
TEST(TimerQueue, DeletedQueueIsAnInvalidHandle)
{
    HANDLE queue = CreateTimerQueue();
    ASSERT_NE(nullptr, queue);
    ASSERT_TRUE(DeleteTimerQueueEx(queue, INVALID_HANDLE_VALUE));
    Shared<QueueCounter> counter;
    HANDLE timer = nullptr;
    SetLastError(kSentinelError);
    EXPECT_FALSE(CreateTimerQueueTimer(&timer, queue, count_queue_timer, counter.get(), 0, 0, 0));
    EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_HANDLE), GetLastError());
    SetLastError(kSentinelError);
    EXPECT_FALSE(DeleteTimerQueueEx(queue, nullptr));
    EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_HANDLE), GetLastError());
    // A handle that never was a queue (a made-up value, a timer handle) is invalid too.
    int not_a_queue = 0;
    HANDLE some_timer = nullptr;
    ASSERT_TRUE(CreateTimerQueueTimer(&some_timer, nullptr, count_queue_timer, counter.get(), 10'000, 0, 0));
    for (HANDLE bogus : {HANDLE(&not_a_queue), some_timer}) {
        SetLastError(kSentinelError);
        EXPECT_FALSE(CreateTimerQueueTimer(&timer, bogus, count_queue_timer, counter.get(), 0, 0, 0));
        EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_HANDLE), GetLastError());
        SetLastError(kSentinelError);
        EXPECT_FALSE(DeleteTimerQueueEx(bogus, nullptr));
        EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_HANDLE), GetLastError());
    }
    EXPECT_TRUE(DeleteTimerQueueTimer(nullptr, some_timer, INVALID_HANDLE_VALUE));
    sleep_ms(50);
    EXPECT_EQ(0, counter->count.get());
}

// ---- Timer handles ---------------------------------------------------------------------------

// legacy-api.md: DeleteTimerQueueTimer(q, NULL, …) → FALSE, ERROR_INVALID_PARAMETER.
TEST(TimerQueue, DeletingANullTimerIsInvalidParameter)
{
    Queue queue;
    ASSERT_NE(nullptr, queue.get());
    for (HANDLE q : {HANDLE(nullptr), queue.get()}) {
        for (HANDLE completion : {HANDLE(nullptr), INVALID_HANDLE_VALUE}) {
            SetLastError(kSentinelError);
            EXPECT_FALSE(DeleteTimerQueueTimer(q, nullptr, completion));
            EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_PARAMETER), GetLastError());
        }
    }
}

// A handle that is not a live timer (a made-up value, a queue handle, a deleted timer) →
// FALSE, ERROR_INVALID_HANDLE, for delete and change alike.
TEST(TimerQueue, InvalidTimerHandleIsInvalidHandle)
{
    Queue queue;
    ASSERT_NE(nullptr, queue.get());
    Shared<QueueCounter> counter;
    HANDLE deleted = nullptr;
    ASSERT_TRUE(CreateTimerQueueTimer(&deleted, queue, count_queue_timer, counter.get(), 10'000, 0, 0));
    ASSERT_TRUE(DeleteTimerQueueTimer(queue, deleted, INVALID_HANDLE_VALUE));
    int not_a_timer = 0;
    for (HANDLE bogus : {HANDLE(&not_a_timer), queue.get(), deleted}) {
        SetLastError(kSentinelError);
        EXPECT_FALSE(DeleteTimerQueueTimer(queue, bogus, nullptr));
        EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_HANDLE), GetLastError());
        SetLastError(kSentinelError);
        EXPECT_FALSE(DeleteTimerQueueTimer(nullptr, bogus, INVALID_HANDLE_VALUE));
        EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_HANDLE), GetLastError());
        SetLastError(kSentinelError);
        EXPECT_FALSE(ChangeTimerQueueTimer(queue, bogus, 10, 0));
        EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_HANDLE), GetLastError());
    }
    EXPECT_EQ(0, counter->count.get());
}

// ---- Firing ---------------------------------------------------------------------------------

// legacy-api.md: the callback gets (Parameter, TRUE) on a worker thread; a one-shot fires
// exactly once, not before its due time; NULL queue = the default queue; a private queue
// works the same. *phNewTimer receives a handle.
TEST(TimerQueue, OneShotFiresOnceOnAWorkerInDefaultAndPrivateQueues)
{
    Queue queue;
    ASSERT_NE(nullptr, queue.get());
    for (HANDLE q : {HANDLE(nullptr), queue.get()}) {
        SCOPED_TRACE(q ? "private queue" : "default queue");
        Shared<QueueCounter> counter;
        HANDLE timer = nullptr;
        const int64_t created = mono_ns();
        SetLastError(kSentinelError);
        ASSERT_TRUE(CreateTimerQueueTimer(&timer, q, count_queue_timer, counter.get(), 100, 0, WT_EXECUTEDEFAULT));
        EXPECT_EQ(kSentinelError, GetLastError());
        ASSERT_NE(nullptr, timer);
        ASSERT_TRUE(counter->count.wait_for_at_least(1));
        EXPECT_ON_TIME(created + 100 * kNsPerMs, counter->log.at(0).mono);
        EXPECT_NE(GetCurrentThreadId(), counter->log.at(0).thread);
        sleep_ms(300);
        EXPECT_EQ(1, counter->count.get());
        EXPECT_EQ(0, counter->not_timed_out.load());
        // A fired one-shot still needs deleting; it has nothing outstanding.
        SetLastError(kSentinelError);
        EXPECT_TRUE(DeleteTimerQueueTimer(q, timer, nullptr));
        EXPECT_EQ(kSentinelError, GetLastError());
    }
}

// legacy-api.md "Observed" (the synchronous-deletion block): one-shot due 0 → exactly 1
// callback; period 100 vs period 10 over 500 ms → the faster fired more often; due 10000 →
// never fired before the queue was deleted; due 0 with period 10000 → exactly 1 callback;
// blocking deletes of a timer and of the queue succeed.
TEST(TimerQueue, WineSynchronousDeletionOfQueueAndRunningTimers)
{
    HANDLE queue = CreateTimerQueue();
    ASSERT_NE(nullptr, queue);
    Shared<QueueCounter> n1, n2, n3, n4, n5;
    HANDLE t1 = nullptr, t2 = nullptr, t3 = nullptr, t4 = nullptr, t5 = nullptr;
    ASSERT_TRUE(CreateTimerQueueTimer(&t1, queue, count_queue_timer, n1.get(), 0, 0, 0));
    ASSERT_TRUE(CreateTimerQueueTimer(&t2, queue, count_queue_timer, n2.get(), 0, 100, 0));
    ASSERT_TRUE(CreateTimerQueueTimer(&t3, queue, count_queue_timer, n3.get(), 0, 10, 0));
    ASSERT_TRUE(CreateTimerQueueTimer(&t4, queue, count_queue_timer, n4.get(), 10'000, 10, 0));
    ASSERT_TRUE(CreateTimerQueueTimer(&t5, queue, count_queue_timer, n5.get(), 0, 10'000, 0));
    EXPECT_TRUE(t1 && t2 && t3 && t4 && t5);
    sleep_ms(500);
    EXPECT_TRUE(DeleteTimerQueueTimer(queue, t1, INVALID_HANDLE_VALUE));
    EXPECT_TRUE(DeleteTimerQueueTimer(queue, t2, INVALID_HANDLE_VALUE));
    EXPECT_TRUE(DeleteTimerQueueEx(queue, INVALID_HANDLE_VALUE));
    EXPECT_EQ(1, n1->count.get());
    EXPECT_LT(n2->count.get(), n3->count.get());
    EXPECT_GE(n3->count.get(), 5) << "a 10 ms timer over 500 ms";
    EXPECT_EQ(0, n4->count.get());
    EXPECT_EQ(1, n5->count.get());
    // Nothing runs after the blocking queue delete.
    const long total = n1->count.get() + n2->count.get() + n3->count.get() + n5->count.get();
    sleep_ms(100);
    EXPECT_EQ(total, n1->count.get() + n2->count.get() + n3->count.get() + n5->count.get());
}

// legacy-api.md "Observed": a due-0 / period-300 timer deleted immediately with a NULL
// event → FALSE / ERROR_IO_PENDING (its first callback is already queued by the create
// call), and that queued callback still runs, once. TRUE is only right if that callback has
// already run to completion by the time of the delete (a fast worker may get there first).
TEST(TimerQueue, DueZeroTimerDeletedAtOnceStillRunsItsQueuedCallback)
{
    struct State {
        AtomicCounter count;
        AtomicFlag finished; // the callback's last action
    };
    const int iterations = 20;
    int pending = 0, ran_once = 0, true_while_outstanding = 0, wrong_error = 0;
    for (int i = 0; i < iterations; ++i) {
        HANDLE queue = CreateTimerQueue();
        ASSERT_NE(nullptr, queue);
        Shared<State> state;
        HANDLE t0 = nullptr;
        ASSERT_TRUE(CreateTimerQueueTimer(
            &t0, queue,
            [](PVOID p, BOOLEAN) {
                auto *s = static_cast<State *>(p);
                s->count.increment();
                s->finished.set();
            },
            state.get(), 0, 300, 0));
        SetLastError(kSentinelError);
        const BOOL deleted = DeleteTimerQueueTimer(queue, t0, nullptr);
        const DWORD error = GetLastError();
        const bool finished_by_then = state->finished.is_set();
        if (deleted)
            true_while_outstanding += !finished_by_then;
        else
            wrong_error += error != ERROR_IO_PENDING;
        pending += !deleted;
        ASSERT_TRUE(DeleteTimerQueueEx(queue, INVALID_HANDLE_VALUE));
        ran_once += state->count.get() == 1;
        EXPECT_LE(state->count.get(), 1);
    }
    RecordProperty("pending", std::to_string(pending));
    EXPECT_EQ(0, true_while_outstanding) << "DeleteTimerQueueTimer right after a due-0 create returned TRUE "
                                            "although the callback the create call queued had not run yet";
    EXPECT_EQ(0, wrong_error);
    EXPECT_EQ(iterations, ran_once) << "the due-0 callback should run once although the timer was deleted";
}

// legacy-api.md: WT_EXECUTEONLYONCE with a non-zero period fires once (⚠ 24 recommended:
// honour the flag).
TEST(TimerQueue, ExecuteOnlyOnceWithAPeriodFiresOnce)
{
    Queue queue;
    Shared<QueueCounter> counter;
    HANDLE timer = nullptr;
    ASSERT_TRUE(CreateTimerQueueTimer(&timer, queue, count_queue_timer, counter.get(), 0, 10, WT_EXECUTEONLYONCE));
    ASSERT_TRUE(counter->count.wait_for_at_least(1));
    sleep_ms(300);
    EXPECT_EQ(1, counter->count.get());
    EXPECT_TRUE(DeleteTimerQueueTimer(queue, timer, INVALID_HANDLE_VALUE));
}

// A periodic queue timer: every expiry one period after the previous scheduled one.
TEST(TimerQueue, PeriodicTimerFiresOnItsGrid)
{
    Queue queue;
    Shared<QueueCounter> counter;
    HANDLE timer = nullptr;
    const int64_t created = mono_ns();
    ASSERT_TRUE(CreateTimerQueueTimer(&timer, queue, count_queue_timer, counter.get(), 50, 50, 0));
    ASSERT_TRUE(counter->count.wait_for_at_least(6));
    EXPECT_TRUE(DeleteTimerQueueTimer(queue, timer, INVALID_HANDLE_VALUE));
    const auto fires = counter->log.fires();
    for (size_t k = 0; k < 6; ++k)
        EXPECT_ON_TIME(created + int64_t(k + 1) * 50 * kNsPerMs, fires[k].mono) << "callback " << k;
}

// legacy-api.md: a periodic timer calls back every period whether or not the previous
// callback finished: slow callbacks overlap on different threads.
TEST(TimerQueue, SlowPeriodicCallbacksOverlap)
{
    Queue queue;
    struct State {
        ConcurrencyTracker tracker;
        std::mutex mutex;
        std::set<DWORD> threads;
        AtomicCounter count;
    };
    Shared<State> state;
    HANDLE timer = nullptr;
    ASSERT_TRUE(CreateTimerQueueTimer(
        &timer, queue,
        [](PVOID p, BOOLEAN) {
            auto *s = static_cast<State *>(p);
            ConcurrencyTracker::Scope scope(s->tracker);
            {
                std::lock_guard lock(s->mutex);
                s->threads.insert(GetCurrentThreadId());
            }
            std::this_thread::sleep_for(150ms);
            s->count.increment();
        },
        state.get(), 20, 20, 0));
    ASSERT_TRUE(state->count.wait_for_at_least(8));
    EXPECT_TRUE(DeleteTimerQueueTimer(queue, timer, INVALID_HANDLE_VALUE));
    EXPECT_GE(state->tracker.peak(), 2);
    std::lock_guard lock(state->mutex);
    EXPECT_GE(state->threads.size(), 2u);
}

// legacy-api.md flag table: every flag is accepted for timers and the callback runs once
// (WT_EXECUTEINTIMERTHREAD callbacks may run on a worker here: there is no timer thread).
TEST(TimerQueue, EveryFlagIsAcceptedAndTheCallbackRuns)
{
    Queue queue;
    ULONG with_limit = WT_EXECUTEDEFAULT;
    WT_SET_MAX_THREADPOOL_THREADS(with_limit, 8);
    const ULONG flags[] = {WT_EXECUTEDEFAULT,
                           WT_EXECUTEINIOTHREAD,
                           WT_EXECUTEONLYONCE,
                           WT_EXECUTELONGFUNCTION,
                           WT_EXECUTEINTIMERTHREAD,
                           WT_EXECUTEINPERSISTENTTHREAD,
                           WT_TRANSFER_IMPERSONATION,
                           with_limit,
                           WT_EXECUTELONGFUNCTION | WT_EXECUTEINTIMERTHREAD | WT_EXECUTEONLYONCE};
    for (ULONG flag : flags) {
        SCOPED_TRACE(flag);
        Shared<QueueCounter> counter;
        HANDLE timer = nullptr;
        ASSERT_TRUE(CreateTimerQueueTimer(&timer, queue, count_queue_timer, counter.get(), 10, 0, flag));
        ASSERT_TRUE(counter->count.wait_for_at_least(1));
        EXPECT_TRUE(DeleteTimerQueueTimer(queue, timer, INVALID_HANDLE_VALUE));
        EXPECT_EQ(1, counter->count.get());
        EXPECT_EQ(0, counter->not_timed_out.load());
    }
}

// legacy-api.md "Recommended: store *phNewTimer before the timer can fire": inside a
// DueTime-0 callback the handle variable already holds the new timer, and deleting it there
// reports ERROR_IO_PENDING (its own callback is outstanding).
TEST(TimerQueue, NewTimerHandleIsValidInsideADueZeroCallback)
{
    Queue queue;
    struct State {
        HANDLE timer = nullptr;
        HANDLE seen = nullptr;
        BOOL delete_result = -1;
        DWORD delete_error = 0;
        AtomicFlag done;
    };
    const int iterations = static_cast<int>(scaled(100, 20));
    for (int i = 0; i < iterations; ++i) {
        SCOPED_TRACE(i);
        Shared<State> state;
        HANDLE q = (i % 2) ? queue.get() : nullptr;
        ASSERT_TRUE(CreateTimerQueueTimer(
            &state->timer, q,
            [](PVOID p, BOOLEAN) {
                auto *s = static_cast<State *>(p);
                s->seen = s->timer;
                SetLastError(kSentinelError);
                s->delete_result = s->seen ? DeleteTimerQueueTimer(nullptr, s->seen, nullptr) : -1;
                s->delete_error = GetLastError();
                s->done.set();
            },
            state.get(), 0, 0, 0));
        ASSERT_TRUE(state->done.wait());
        EXPECT_NE(nullptr, state->seen);
        EXPECT_EQ(state->timer, state->seen);
        EXPECT_FALSE(state->delete_result);
        EXPECT_EQ(static_cast<DWORD>(ERROR_IO_PENDING), state->delete_error);
        // Deleted from its callback: the handle is gone.
        SetLastError(kSentinelError);
        EXPECT_FALSE(DeleteTimerQueueTimer(nullptr, state->timer, INVALID_HANDLE_VALUE));
        EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_HANDLE), GetLastError());
    }
}

// ---- ChangeTimerQueueTimer ---------------------------------------------------------------------

// legacy-api.md "Observed": changing a not-yet-fired one-shot (due 10000 → 0) works: one
// callback. Changing it once more after it fired returns TRUE but it does not fire again.
TEST(TimerQueue, ChangeOneShotBeforeAndAfterItFired)
{
    Queue queue;
    Shared<QueueCounter> counter;
    HANDLE timer = nullptr;
    ASSERT_TRUE(CreateTimerQueueTimer(&timer, queue, count_queue_timer, counter.get(), 10'000, 0, 0));
    SetLastError(kSentinelError);
    EXPECT_TRUE(ChangeTimerQueueTimer(queue, timer, 0, 0));
    EXPECT_EQ(kSentinelError, GetLastError());
    ASSERT_TRUE(counter->count.wait_for_at_least(1));
    sleep_ms(100);
    EXPECT_TRUE(ChangeTimerQueueTimer(queue, timer, 0, 0));
    EXPECT_TRUE(ChangeTimerQueueTimer(queue, timer, 20, 20));
    sleep_ms(300);
    EXPECT_EQ(1, counter->count.get());
    EXPECT_TRUE(DeleteTimerQueueTimer(queue, timer, INVALID_HANDLE_VALUE));
}

// ChangeTimerQueueTimer re-programs a periodic timer: next expiry DueTime from now, then the
// new period.
TEST(TimerQueue, ChangeReprogramsAPeriodicTimer)
{
    Queue queue;
    Shared<QueueCounter> counter;
    HANDLE timer = nullptr;
    ASSERT_TRUE(CreateTimerQueueTimer(&timer, queue, count_queue_timer, counter.get(), 10'000, 10'000, 0));
    const int64_t changed = mono_ns();
    EXPECT_TRUE(ChangeTimerQueueTimer(nullptr, timer, 100, 40));
    ASSERT_TRUE(counter->count.wait_for_at_least(4));
    EXPECT_TRUE(DeleteTimerQueueTimer(queue, timer, INVALID_HANDLE_VALUE));
    const auto fires = counter->log.fires();
    for (size_t k = 0; k < 4; ++k)
        EXPECT_ON_TIME(changed + (100 + int64_t(k) * 40) * kNsPerMs, fires[k].mono) << "callback " << k;
}

struct SelfData {
    std::atomic<int> num_calls{0};
    int max_calls = 0;
    HANDLE queue = nullptr;
    HANDLE timer = nullptr;
    std::atomic<BOOL> result{-1};
    std::atomic<DWORD> error{0};
    AtomicFlag reached;
};

// legacy-api.md "Observed": a callback that on its 3rd run calls
// DeleteTimerQueueTimer(q, self, NULL) gets FALSE / ERROR_IO_PENDING and runs exactly 3
// times. (Period 50 ms instead of Wine's 10 ms: a 4th expiry queued before the delete would
// legitimately run.)
TEST(TimerQueue, TimerDeletingItselfOnItsThirdRun)
{
    Queue queue;
    Shared<SelfData> d;
    d->max_calls = 3;
    d->queue = queue;
    // The create call stores the handle where the callback reads it, before the timer can
    // fire (legacy-api.md recommendation).
    ASSERT_TRUE(CreateTimerQueueTimer(
        &d->timer, queue,
        [](PVOID p, BOOLEAN) {
            auto *s = static_cast<SelfData *>(p);
            if (++s->num_calls == s->max_calls) {
                SetLastError(kSentinelError);
                s->result = DeleteTimerQueueTimer(s->queue, s->timer, nullptr);
                s->error = GetLastError();
                s->reached.set();
            }
        },
        d.get(), 50, 50, 0));
    const HANDLE timer = d->timer;
    ASSERT_TRUE(d->reached.wait());
    sleep_ms(400);
    EXPECT_EQ(3, d->num_calls.load());
    EXPECT_FALSE(d->result.load());
    EXPECT_EQ(static_cast<DWORD>(ERROR_IO_PENDING), d->error.load());
    // The timer is deleted: its handle is no longer valid.
    SetLastError(kSentinelError);
    EXPECT_FALSE(DeleteTimerQueueTimer(queue, timer, nullptr));
    EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_HANDLE), GetLastError());
    EXPECT_TRUE(DeleteTimerQueueEx(queue.release(), INVALID_HANDLE_VALUE));
}

// legacy-api.md "Observed": a callback that on its 4th run calls
// ChangeTimerQueueTimer(q, self, 10000, 0) gets TRUE and runs exactly 4 times.
TEST(TimerQueue, TimerChangingItselfOnItsFourthRun)
{
    Queue queue;
    Shared<SelfData> d;
    d->max_calls = 4;
    d->queue = queue;
    // The create call stores the handle where the callback reads it, before the timer can
    // fire (legacy-api.md recommendation).
    ASSERT_TRUE(CreateTimerQueueTimer(
        &d->timer, queue,
        [](PVOID p, BOOLEAN) {
            auto *s = static_cast<SelfData *>(p);
            if (++s->num_calls == s->max_calls) {
                s->result = ChangeTimerQueueTimer(s->queue, s->timer, 10'000, 0);
                s->reached.set();
            }
        },
        d.get(), 50, 50, 0));
    ASSERT_TRUE(d->reached.wait());
    sleep_ms(400);
    EXPECT_EQ(4, d->num_calls.load());
    EXPECT_TRUE(d->result.load());
    EXPECT_TRUE(DeleteTimerQueueEx(queue.release(), INVALID_HANDLE_VALUE));
    EXPECT_EQ(4, d->num_calls.load());
}

// legacy-api.md "Observed": a one-shot callback calling ChangeTimerQueueTimer(q, self, 50,
// 50) gets TRUE but runs only once.
TEST(TimerQueue, OneShotChangingItselfFromItsCallbackRunsOnce)
{
    Queue queue;
    Shared<SelfData> d;
    d->queue = queue;
    // The create call stores the handle where the callback reads it, before the timer can
    // fire (legacy-api.md recommendation).
    ASSERT_TRUE(CreateTimerQueueTimer(
        &d->timer, queue,
        [](PVOID p, BOOLEAN) {
            auto *s = static_cast<SelfData *>(p);
            s->result = ChangeTimerQueueTimer(s->queue, s->timer, 50, 50);
            ++s->num_calls;
            s->reached.set();
        },
        d.get(), 10, 0, 0));
    ASSERT_TRUE(d->reached.wait());
    sleep_ms(400);
    EXPECT_EQ(1, d->num_calls.load());
    EXPECT_TRUE(d->result.load());
    EXPECT_TRUE(DeleteTimerQueueEx(queue.release(), INVALID_HANDLE_VALUE));
    EXPECT_EQ(1, d->num_calls.load());
}

// legacy-api.md "Observed": a callback (period 100, WT_EXECUTELONGFUNCTION) that deletes
// itself (NULL event → ERROR_IO_PENDING), then creates and blocking-deletes another timer on
// the same queue, then stays 500 ms in the callback, never runs a second time; then
// DeleteTimerQueueEx(q, NULL) succeeds.
TEST(TimerQueue, SelfDeletedTimerNeverRunsAgainAfterAFasterTimerCameAndWent)
{
    HANDLE queue = CreateTimerQueue();
    ASSERT_NE(nullptr, queue);
    struct State {
        std::atomic<int> num_calls{0};
        HANDLE queue = nullptr;
        HANDLE timer = nullptr; // written by the create call before the timer can fire
        QueueCounter other_counter;
        std::atomic<BOOL> delete_self{-1};
        std::atomic<DWORD> delete_self_error{0};
        std::atomic<BOOL> create_other{-1};
        std::atomic<BOOL> delete_other{-1};
        AtomicFlag finished;
    };
    Shared<State> s;
    s->queue = queue;
    ASSERT_TRUE(CreateTimerQueueTimer(
        &s->timer, queue,
        [](PVOID p, BOOLEAN) {
            auto *st = static_cast<State *>(p);
            if (st->num_calls++ != 0)
                return;
            SetLastError(kSentinelError);
            st->delete_self = DeleteTimerQueueTimer(st->queue, st->timer, nullptr);
            st->delete_self_error = GetLastError();
            HANDLE other = nullptr;
            st->create_other =
                CreateTimerQueueTimer(&other, st->queue, count_queue_timer, &st->other_counter, 100, 0, 0);
            st->delete_other = other ? DeleteTimerQueueTimer(st->queue, other, INVALID_HANDLE_VALUE) : FALSE;
            std::this_thread::sleep_for(500ms);
            st->finished.set();
        },
        s.get(), 100, 100, WT_EXECUTELONGFUNCTION));
    ASSERT_TRUE(s->finished.wait());
    sleep_ms(250);
    SetLastError(kSentinelError);
    EXPECT_TRUE(DeleteTimerQueueEx(queue, nullptr));
    EXPECT_EQ(1, s->num_calls.load());
    EXPECT_FALSE(s->delete_self.load());
    EXPECT_EQ(static_cast<DWORD>(ERROR_IO_PENDING), s->delete_self_error.load());
    EXPECT_TRUE(s->create_other.load());
    EXPECT_TRUE(s->delete_other.load());
    sleep_ms(200);
    EXPECT_EQ(1, s->num_calls.load());
}

// legacy-api.md "Observed": on the default queue, create (NULL queue), change and blocking
// delete all succeed; timers of the default queue and of a private queue can be changed and
// deleted passing the other queue's handle.
TEST(TimerQueue, DefaultQueueAndMixedQueueHandles)
{
    Shared<QueueCounter> n1;
    HANDLE t1 = nullptr;
    ASSERT_TRUE(CreateTimerQueueTimer(&t1, nullptr, count_queue_timer, n1.get(), 1000, 1000, 0));
    ASSERT_NE(nullptr, t1);
    EXPECT_TRUE(ChangeTimerQueueTimer(nullptr, t1, 2000, 2000));
    EXPECT_TRUE(DeleteTimerQueueTimer(nullptr, t1, INVALID_HANDLE_VALUE));
    EXPECT_EQ(0, n1->count.get());

    HANDLE queue = CreateTimerQueue();
    ASSERT_NE(nullptr, queue);
    Shared<QueueCounter> n2, n3;
    HANDLE t2 = nullptr, t3 = nullptr;
    ASSERT_TRUE(CreateTimerQueueTimer(&t2, queue, count_queue_timer, n2.get(), 1000, 1000, 0));
    ASSERT_TRUE(CreateTimerQueueTimer(&t3, nullptr, count_queue_timer, n3.get(), 1000, 1000, 0));
    EXPECT_TRUE(ChangeTimerQueueTimer(nullptr, t2, 2000, 2000));
    EXPECT_TRUE(ChangeTimerQueueTimer(queue, t3, 2000, 2000));
    EXPECT_TRUE(DeleteTimerQueueTimer(nullptr, t2, INVALID_HANDLE_VALUE));
    EXPECT_TRUE(DeleteTimerQueueTimer(queue, t3, INVALID_HANDLE_VALUE));
    SetLastError(kSentinelError);
    EXPECT_TRUE(DeleteTimerQueueEx(queue, nullptr));
    EXPECT_EQ(0, n2->count.get());
    EXPECT_EQ(0, n3->count.get());

    // The queue handle passed really is ignored for firing too: a change through the other
    // queue's handle takes effect.
    HANDLE t4 = nullptr;
    Shared<QueueCounter> n4;
    ASSERT_TRUE(CreateTimerQueueTimer(&t4, nullptr, count_queue_timer, n4.get(), 10'000, 0, 0));
    Queue other;
    EXPECT_TRUE(ChangeTimerQueueTimer(other, t4, 10, 0));
    ASSERT_TRUE(n4->count.wait_for_at_least(1));
    EXPECT_TRUE(DeleteTimerQueueTimer(other, t4, INVALID_HANDLE_VALUE));
}

// ---- DeleteTimerQueueTimer completion modes ------------------------------------------------------

// legacy-api.md "Observed" (deletion with event triggers): a finished timer + NULL → TRUE;
// a running callback + NULL → FALSE / ERROR_IO_PENDING; a finished timer + event → TRUE,
// last error unchanged, event signaled; a running callback + event → FALSE /
// ERROR_IO_PENDING, the event signaled only after the callback ended; DeleteTimerQueueEx(q,
// event) → TRUE, event signaled when everything is done.
TEST(TimerQueue, WineDeletionWithCompletionEvents)
{
    HANDLE queue = CreateTimerQueue();
    ASSERT_NE(nullptr, queue);
    Handle e = make_event(true, false), et1 = make_event(true, false), et2 = make_event(true, false);
    Shared<GatedCallback> quick1, slow2, quick3, slow4;
    HANDLE t1 = nullptr, t2 = nullptr, t3 = nullptr, t4 = nullptr;
    ASSERT_TRUE(CreateTimerQueueTimer(&t1, queue, quick_queue_timer, quick1.get(), 0, 0, 0));
    ASSERT_TRUE(CreateTimerQueueTimer(&t2, queue, gated_queue_timer, slow2.get(), 0, 0, 0));
    ASSERT_TRUE(CreateTimerQueueTimer(&t3, queue, quick_queue_timer, quick3.get(), 0, 0, 0));
    ASSERT_TRUE(CreateTimerQueueTimer(&t4, queue, gated_queue_timer, slow4.get(), 0, 0, 0));
    ASSERT_TRUE(quick1->finished.wait_for_at_least(1));
    ASSERT_TRUE(quick3->finished.wait_for_at_least(1));
    ASSERT_TRUE(slow2->started.wait_for_at_least(1));
    ASSERT_TRUE(slow4->started.wait_for_at_least(1));
    sleep_ms(20); // the quick callbacks have returned from the pool's point of view too

    SetLastError(kSentinelError);
    EXPECT_TRUE(DeleteTimerQueueTimer(queue, t1, nullptr));
    EXPECT_EQ(kSentinelError, GetLastError());

    SetLastError(kSentinelError);
    EXPECT_FALSE(DeleteTimerQueueTimer(queue, t2, nullptr));
    EXPECT_EQ(static_cast<DWORD>(ERROR_IO_PENDING), GetLastError());

    SetLastError(kSentinelError);
    EXPECT_TRUE(DeleteTimerQueueTimer(queue, t3, et1));
    EXPECT_EQ(kSentinelError, GetLastError());
    EXPECT_TRUE(signaled_within(et1, 5000));

    SetLastError(kSentinelError);
    EXPECT_FALSE(DeleteTimerQueueTimer(queue, t4, et2));
    EXPECT_EQ(static_cast<DWORD>(ERROR_IO_PENDING), GetLastError());
    sleep_ms(50);
    EXPECT_FALSE(signaled_now(et2)) << "signaled while the callback still runs";

    SetLastError(kSentinelError);
    EXPECT_TRUE(DeleteTimerQueueEx(queue, e));
    EXPECT_EQ(kSentinelError, GetLastError());
    sleep_ms(50);
    EXPECT_FALSE(signaled_now(e)) << "queue event signaled while callbacks still run";

    slow4->gate.set();
    ASSERT_TRUE(signaled_within(et2));
    EXPECT_EQ(1, slow4->finished.get());
    EXPECT_FALSE(signaled_now(e)) << "queue event signaled while t2's callback still runs";
    slow2->gate.set();
    ASSERT_TRUE(signaled_within(e));
    EXPECT_EQ(1, slow2->finished.get());
    EXPECT_FALSE(slow2->gate_timed_out.load() || slow4->gate_timed_out.load());
}

// A blocking delete returns only after the running callback finished.
TEST(TimerQueue, BlockingDeleteWaitsForTheRunningCallback)
{
    Queue queue;
    Shared<GatedCallback> gated;
    HANDLE timer = nullptr;
    ASSERT_TRUE(CreateTimerQueueTimer(&timer, queue, gated_queue_timer, gated.get(), 0, 0, 0));
    ASSERT_TRUE(gated->started.wait_for_at_least(1));
    DelayedAction open(150ms, [&] { gated->gate.set(); });
    SetLastError(kSentinelError);
    EXPECT_TRUE(DeleteTimerQueueTimer(queue, timer, INVALID_HANDLE_VALUE));
    EXPECT_EQ(kSentinelError, GetLastError());
    EXPECT_EQ(1, gated->finished.get());
}

// A non-blocking delete of a periodic timer while its callback runs: FALSE /
// ERROR_IO_PENDING, the running callback completes, and no further expiry comes.
TEST(TimerQueue, NonBlockingDeleteOfARunningPeriodicTimerStopsIt)
{
    Queue queue;
    Shared<GatedCallback> gated;
    HANDLE timer = nullptr;
    ASSERT_TRUE(CreateTimerQueueTimer(&timer, queue, gated_queue_timer, gated.get(), 0, 20, 0));
    ASSERT_TRUE(gated->started.wait_for_at_least(1));
    SetLastError(kSentinelError);
    EXPECT_FALSE(DeleteTimerQueueTimer(queue, timer, nullptr));
    EXPECT_EQ(static_cast<DWORD>(ERROR_IO_PENDING), GetLastError());
    const long started = gated->started.get();
    gated->gate.set();
    ASSERT_TRUE(gated->finished.wait_for_at_least(started));
    sleep_ms(200);
    // Callbacks queued before the delete may still have started; none afterwards.
    EXPECT_EQ(gated->started.get(), gated->finished.get());
    EXPECT_LE(gated->started.get(), started + 1);
}

// legacy-api.md: the blocking delete returns once the timer's queued and running callbacks
// completed, and the timer never fires again. Raced against the expiry itself (64 timers due
// in ~1 ms, deleted in order right around that time): no callback may start after its
// blocking delete returned.
TEST(TimerQueue, BlockingDeleteRacingTheExpiry)
{
    Queue queue;
    ASSERT_NE(nullptr, queue.get());
    constexpr int kTimers = 64;
    struct Slot {
        std::atomic<bool> deleted{false};
    };
    struct State {
        Slot slots[kTimers];
        std::atomic<long> violations{0};
        std::atomic<long> calls{0};
    };
    struct Ctx {
        State *state;
        int index;
    };
    Shared<State> state;
    Ctx contexts[kTimers];
    for (int i = 0; i < kTimers; ++i)
        contexts[i] = {state.get(), i};
    const long rounds = scaled(100, 10);
    for (long round = 0; round < rounds; ++round) {
        HANDLE timers[kTimers];
        for (int i = 0; i < kTimers; ++i) {
            state->slots[i].deleted = false;
            ASSERT_TRUE(CreateTimerQueueTimer(
                &timers[i], queue,
                [](PVOID p, BOOLEAN) {
                    auto *c = static_cast<Ctx *>(p);
                    if (c->state->slots[c->index].deleted.load())
                        c->state->violations.fetch_add(1);
                    c->state->calls.fetch_add(1);
                },
                &contexts[i], 1, 0, 0));
        }
        const int64_t until = mono_ns() + (700 + int64_t(round % 7) * 100) * 1000;
        while (mono_ns() < until) {
        }
        for (int i = 0; i < kTimers; ++i) {
            EXPECT_TRUE(DeleteTimerQueueTimer(queue, timers[i], INVALID_HANDLE_VALUE));
            state->slots[i].deleted = true;
        }
    }
    sleep_ms(100);
    EXPECT_EQ(0, state->violations.load())
        << "callbacks started after DeleteTimerQueueTimer(…, INVALID_HANDLE_VALUE) had returned (of "
        << state->calls.load() << " callbacks)";
}

// ---- DeleteTimerQueueEx completion modes -----------------------------------------------------------

// INVALID_HANDLE_VALUE: blocks until all callbacks of all timers of the queue finished, and
// stops every timer.
TEST(TimerQueue, BlockingQueueDeleteWaitsForEveryCallbackAndStopsAllTimers)
{
    HANDLE queue = CreateTimerQueue();
    ASSERT_NE(nullptr, queue);
    Shared<GatedCallback> g1, g2;
    Shared<QueueCounter> periodic;
    HANDLE t1 = nullptr, t2 = nullptr, t3 = nullptr;
    ASSERT_TRUE(CreateTimerQueueTimer(&t1, queue, gated_queue_timer, g1.get(), 0, 0, 0));
    ASSERT_TRUE(CreateTimerQueueTimer(&t2, queue, gated_queue_timer, g2.get(), 0, 0, 0));
    ASSERT_TRUE(CreateTimerQueueTimer(&t3, queue, count_queue_timer, periodic.get(), 0, 5, 0));
    ASSERT_TRUE(g1->started.wait_for_at_least(1));
    ASSERT_TRUE(g2->started.wait_for_at_least(1));
    ASSERT_TRUE(periodic->count.wait_for_at_least(3));
    DelayedAction open1(100ms, [&] { g1->gate.set(); });
    DelayedAction open2(200ms, [&] { g2->gate.set(); });
    SetLastError(kSentinelError);
    EXPECT_TRUE(DeleteTimerQueueEx(queue, INVALID_HANDLE_VALUE));
    EXPECT_EQ(kSentinelError, GetLastError());
    EXPECT_EQ(1, g1->finished.get());
    EXPECT_EQ(1, g2->finished.get());
    const long after = periodic->count.get();
    sleep_ms(100);
    EXPECT_EQ(after, periodic->count.get());
}

// NULL: returns at once with TRUE (Vista+, ⚠ 25 recommended) while a callback still runs;
// the callback finishes, and no timer of the queue fires afterwards.
TEST(TimerQueue, NonBlockingQueueDeleteReturnsAtOnce)
{
    HANDLE queue = CreateTimerQueue();
    ASSERT_NE(nullptr, queue);
    Shared<GatedCallback> gated;
    Shared<QueueCounter> periodic;
    HANDLE t1 = nullptr, t2 = nullptr, t3 = nullptr;
    ASSERT_TRUE(CreateTimerQueueTimer(&t1, queue, gated_queue_timer, gated.get(), 0, 0, 0));
    ASSERT_TRUE(CreateTimerQueueTimer(&t2, queue, count_queue_timer, periodic.get(), 0, 5, 0));
    Shared<QueueCounter> future;
    ASSERT_TRUE(CreateTimerQueueTimer(&t3, queue, count_queue_timer, future.get(), 300, 0, 0));
    ASSERT_TRUE(gated->started.wait_for_at_least(1));
    ASSERT_TRUE(periodic->count.wait_for_at_least(2));
    SetLastError(kSentinelError);
    EXPECT_TRUE(DeleteTimerQueueEx(queue, nullptr));
    EXPECT_EQ(kSentinelError, GetLastError());
    EXPECT_EQ(0, gated->finished.get()); // did not wait
    sleep_ms(50);
    const long after = periodic->count.get();
    gated->gate.set();
    ASSERT_TRUE(gated->finished.wait_for_at_least(1));
    sleep_ms(400);
    EXPECT_EQ(after, periodic->count.get());
    EXPECT_EQ(0, future->count.get());
}

// An event: returns at once (TRUE), and the event is signaled when all callbacks of all
// timers are done — not before.
TEST(TimerQueue, QueueDeleteWithAnEventSignalsItWhenAllCallbacksAreDone)
{
    HANDLE queue = CreateTimerQueue();
    ASSERT_NE(nullptr, queue);
    Handle event = make_event(true, false);
    Shared<GatedCallback> g1, g2;
    HANDLE t1 = nullptr, t2 = nullptr;
    ASSERT_TRUE(CreateTimerQueueTimer(&t1, queue, gated_queue_timer, g1.get(), 0, 0, 0));
    ASSERT_TRUE(CreateTimerQueueTimer(&t2, queue, gated_queue_timer, g2.get(), 0, 0, 0));
    ASSERT_TRUE(g1->started.wait_for_at_least(1));
    ASSERT_TRUE(g2->started.wait_for_at_least(1));
    // t1 is deleted individually first: the queue still waits for its callback.
    EXPECT_FALSE(DeleteTimerQueueTimer(queue, t1, nullptr));
    SetLastError(kSentinelError);
    EXPECT_TRUE(DeleteTimerQueueEx(queue, event));
    EXPECT_EQ(kSentinelError, GetLastError());
    sleep_ms(50);
    EXPECT_FALSE(signaled_now(event));
    g1->gate.set();
    ASSERT_TRUE(g1->finished.wait_for_at_least(1));
    sleep_ms(50);
    EXPECT_FALSE(signaled_now(event)) << "signaled while t2's callback still runs";
    g2->gate.set();
    ASSERT_TRUE(signaled_within(event));
    EXPECT_EQ(1, g2->finished.get());
}

// DeleteTimerQueue is DeleteTimerQueueEx(q, NULL): it does not wait for callbacks.
TEST(TimerQueue, DeleteTimerQueueDoesNotWait)
{
    HANDLE queue = CreateTimerQueue();
    ASSERT_NE(nullptr, queue);
    Shared<GatedCallback> gated;
    HANDLE timer = nullptr;
    ASSERT_TRUE(CreateTimerQueueTimer(&timer, queue, gated_queue_timer, gated.get(), 0, 0, 0));
    ASSERT_TRUE(gated->started.wait_for_at_least(1));
    EXPECT_TRUE(DeleteTimerQueue(queue));
    EXPECT_EQ(0, gated->finished.get());
    gated->gate.set();
    ASSERT_TRUE(gated->finished.wait_for_at_least(1));
}

// Many timers on many queues, deleted in every mode: every callback that started finished,
// and nothing fires after the deletes (sanitizer builds check the lifetimes).
TEST(TimerQueue, ManyQueuesAndTimersDeletedInEveryMode)
{
    const int queues = static_cast<int>(scaled(20, 4));
    constexpr int kTimersPerQueue = 16;
    Shared<QueueCounter> counter;
    std::vector<Handle> events;
    for (int q = 0; q < queues; ++q) {
        HANDLE queue = CreateTimerQueue();
        ASSERT_NE(nullptr, queue);
        std::vector<HANDLE> timers(kTimersPerQueue, nullptr);
        for (int i = 0; i < kTimersPerQueue; ++i)
            ASSERT_TRUE(CreateTimerQueueTimer(&timers[i], queue, count_queue_timer, counter.get(), i % 4,
                                              (i % 3) ? i % 7 : 0, 0));
        sleep_ms(5);
        for (int i = 0; i < kTimersPerQueue; i += 3) {
            HANDLE completion = (i % 2) ? INVALID_HANDLE_VALUE : nullptr;
            BOOL ok = DeleteTimerQueueTimer(queue, timers[i], completion);
            EXPECT_TRUE(ok || GetLastError() == ERROR_IO_PENDING);
        }
        switch (q % 3) {
        case 0:
            EXPECT_TRUE(DeleteTimerQueueEx(queue, INVALID_HANDLE_VALUE));
            break;
        case 1:
            EXPECT_TRUE(DeleteTimerQueueEx(queue, nullptr));
            break;
        case 2:
            events.push_back(make_event(true, false));
            EXPECT_TRUE(DeleteTimerQueueEx(queue, events.back()));
            break;
        }
    }
    for (auto &event : events)
        EXPECT_TRUE(signaled_within(event));
    sleep_ms(100);
    const long after = counter->count.get();
    sleep_ms(100);
    EXPECT_EQ(after, counter->count.get());
    EXPECT_EQ(0, counter->not_timed_out.load());
}

} // namespace
