// ChangeTimerQueueTimer (spec/legacy-api.md), also from the timer's own callback, timers
// deleting themselves, and the default queue mixed with private ones, with the matching
// "Timer queues" items of its "Observed in Wine's tests" list.
#include "timer_queue_support.h"

namespace {

using namespace tmtest;

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

} // namespace
