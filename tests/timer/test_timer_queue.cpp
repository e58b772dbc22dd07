// Timer queues (spec/legacy-api.md): CreateTimerQueue, DeleteTimerQueue(Ex) of empty and
// invalid queues, timer handles, and CreateTimerQueueTimer's firing (one-shot, periodic,
// flags), with the matching "Timer queues" items of its "Observed in Wine's tests" list.
// ChangeTimerQueueTimer and the deletion modes are in test_timer_queue_change.cpp and
// test_timer_queue_delete.cpp. Callbacks that must stay busy block on gates the test
// opens, instead of sleeping.
#include "timer_queue_support.h"

#include <set>

namespace {

using namespace tmtest;

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

} // namespace
