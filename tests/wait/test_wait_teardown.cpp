// Thread-pool waits (spec/wait.md) wound down: WaitForThreadpoolWaitCallbacks with and
// without cancel, CloseThreadpoolWait (also from the callback), the safe teardown sequence,
// and kernel handles closed while a wait is armed on them.
#include "wait_support.h"

#include <sys/timerfd.h>
#include <unistd.h>

namespace {

using namespace waittest;

// ---- WaitForThreadpoolWaitCallbacks -----------------------------------------------------------

TEST_P(WaitTest, WaitForCallbacksReturnsAtOnceForAnArmedUntriggeredWait)
{
    Handle event = make_event(false, false);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    SetThreadpoolWait(wait, event, nullptr);
    for (BOOL cancel : {FALSE, TRUE}) {
        GuardedCall call([&] { WaitForThreadpoolWaitCallbacks(wait, cancel); });
        bool returned = call.finished_within(kTimeout);
        EXPECT_TRUE(returned) << "cancel=" << cancel;
        if (!returned)
            SetEvent(event); // let the waiting call end
    }
    EXPECT_EQ(0, log->total());
    // TRUE did not cancel the arming.
    ASSERT_TRUE(SetEvent(event));
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->signalled.load());
}

TEST_P(WaitTest, WaitForCallbacksWaitsForARunningCallback)
{
    Handle sem = make_semaphore(0, 1);
    Shared<Entered> e;
    WaitObject wait(gated_wait, e.get(), pool.env());
    SetThreadpoolWait(wait, sem, nullptr);
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    ASSERT_TRUE(e->entered.wait());
    {
        GuardedCall call([&] { WaitForThreadpoolWaitCallbacks(wait, FALSE); });
        EXPECT_FALSE(call.finished_within(300ms));
        e->gate.set();
        ASSERT_TRUE(call.finished_within(kTimeout));
        EXPECT_TRUE(e->finished.is_set());
    }
    EXPECT_EQ(WAIT_OBJECT_0, e->result.load());
}

// TRUE discards a queued callback that has not started; the wait is then idle at once even
// though the pool's only worker is still busy.
TEST_P(WaitTest, WaitForCallbacksWithCancelDiscardsAQueuedCallback)
{
    Pool single(mode(), 1);
    Handle sem = make_semaphore(1, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), single.env());
    Blocker blocker;
    ASSERT_TRUE(queue_behind_blocker(blocker, single.env(), wait, sem));
    {
        GuardedCall call([&] { WaitForThreadpoolWaitCallbacks(wait, TRUE); });
        EXPECT_TRUE(call.finished_within(kTimeout));
        blocker.release();
    }
    ASSERT_TRUE(blocker.wait_finished());
    ASSERT_TRUE(drain_single_thread_pool(*single.env()));
    EXPECT_EQ(0, log->total());
    // The wait is usable again.
    SetThreadpoolWait(wait, sem, nullptr);
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->signalled.load());
}

// WaitForThreadpoolWaitCallbacks(TRUE) racing with triggers: discarded callbacks are gone,
// but a callback that does run reports what its arming saw — never WAIT_TIMEOUT for armings
// that had no timeout — and no more callbacks run than units were taken.
TEST_P(WaitTest, CancellingWhileTriggersArriveNeverTurnsASignalIntoATimeout)
{
    Handle sem = make_semaphore(0, 1 << 24);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    const long iterations = scaled(5000, 300);
    for (long i = 0; i < iterations; ++i) {
        SetThreadpoolWait(wait, sem, nullptr);
        ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
        jitter(i);
        WaitForThreadpoolWaitCallbacks(wait, TRUE);
    }
    SetThreadpoolWait(wait, nullptr, nullptr);
    WaitForThreadpoolWaitCallbacks(wait, FALSE);
    settle(100ms);
    const long taken = iterations - drain_units(sem);
    EXPECT_EQ(0, log->timeouts.load()) << "a signalled arming was reported as WAIT_TIMEOUT";
    EXPECT_EQ(0, log->other.load());
    EXPECT_LE(log->signalled.load(), taken);
    RecordProperty("callbacks", static_cast<int>(log->total()));
}

// FALSE lets the queued callback run first.
TEST_P(WaitTest, WaitForCallbacksWithoutCancelRunsAQueuedCallback)
{
    Pool single(mode(), 1);
    Handle sem = make_semaphore(1, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), single.env());
    Blocker blocker;
    ASSERT_TRUE(queue_behind_blocker(blocker, single.env(), wait, sem));
    {
        GuardedCall call([&] { WaitForThreadpoolWaitCallbacks(wait, FALSE); });
        EXPECT_FALSE(call.finished_within(200ms));
        blocker.release();
        ASSERT_TRUE(call.finished_within(kTimeout));
        EXPECT_EQ(1, log->total());
    }
    EXPECT_EQ(1, log->signalled.load());
}

// ---- CloseThreadpoolWait ------------------------------------------------------------------------

TEST_P(WaitTest, CloseDisarms)
{
    Handle sem = make_semaphore(0, 1);
    Shared<WaitLog> log;
    PTP_WAIT wait = CreateThreadpoolWait(log_wait, log.get(), pool.env());
    ASSERT_NE(nullptr, wait);
    FILETIME timeout = relative_ms(200);
    SetThreadpoolWait(wait, sem, &timeout);
    CloseThreadpoolWait(wait);
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    settle(600ms); // past the timeout too
    EXPECT_EQ(0, log->total());
    EXPECT_TRUE(semaphore_full(sem));
}

struct SelfClose {
    std::atomic<long> calls{0};
    Flag done;
};

void CALLBACK closing_wait(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WAIT wait, TP_WAIT_RESULT)
{
    auto *s = static_cast<SelfClose *>(ctx);
    ++s->calls;
    CloseThreadpoolWait(wait);
    std::this_thread::sleep_for(20ms); // the object must stay valid until the callback returns
    s->done.set();
}

TEST_P(WaitTest, CloseFromTheCallback)
{
    Handle event = make_event(true, true);
    Shared<SelfClose> s;
    PTP_WAIT wait = CreateThreadpoolWait(closing_wait, s.get(), pool.env());
    ASSERT_NE(nullptr, wait);
    SetThreadpoolWait(wait, event, nullptr);
    ASSERT_TRUE(s->done.wait());
    settle();
    EXPECT_EQ(1, s->calls.load());
}

// Close never cancels a queued callback: it runs, and the object is freed afterwards.
TEST_P(WaitTest, CloseLetsAQueuedCallbackRun)
{
    Pool single(mode(), 1);
    Handle sem = make_semaphore(1, 1);
    Shared<WaitLog> log;
    PTP_WAIT wait = CreateThreadpoolWait(log_wait, log.get(), single.env());
    ASSERT_NE(nullptr, wait);
    Blocker blocker;
    ASSERT_TRUE(queue_behind_blocker(blocker, single.env(), wait, sem));
    CloseThreadpoolWait(wait);
    blocker.release();
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->signalled.load());
    EXPECT_EQ(wait, log->wait.load());
}

// The safe teardown (disarm, WaitForThreadpoolWaitCallbacks(TRUE), close) is the point after
// which the context may be freed: no callback may start after it, even when the arming was
// being satisfied at that very moment. Raced many times; each wait has its own context.
struct TornDown {
    std::atomic<bool> torn_down{false};
    std::atomic<long> calls{0};
    std::atomic<long> late{0};
};

void CALLBACK note_if_late(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WAIT, TP_WAIT_RESULT)
{
    auto *t = static_cast<TornDown *>(ctx);
    if (t->torn_down.load())
        ++t->late;
    ++t->calls;
}

TEST_P(WaitTest, NoCallbackStartsAfterTheSafeTeardown)
{
    const long n = scaled(3000, 200);
    Handle sem = make_semaphore(0, 1 << 24);
    Shared<std::vector<TornDown>> states(n);
    for (long i = 0; i < n; ++i) {
        TornDown &state = (*states)[i];
        PTP_WAIT wait = CreateThreadpoolWait(note_if_late, &state, pool.env());
        ASSERT_NE(nullptr, wait);
        SetThreadpoolWait(wait, sem, nullptr);
        ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
        jitter(i);
        SetThreadpoolWait(wait, nullptr, nullptr);
        WaitForThreadpoolWaitCallbacks(wait, TRUE);
        CloseThreadpoolWait(wait);
        state.torn_down = true;
    }
    settle();
    long late = 0, calls = 0;
    for (const TornDown &state : *states) {
        late += state.late.load();
        calls += state.calls.load();
    }
    EXPECT_EQ(0, late) << "callbacks started after SetThreadpoolWait(NULL) + WaitForThreadpoolWaitCallbacks";
    EXPECT_LE(calls, n);
    RecordProperty("callbacks", static_cast<int>(calls));
}

// The documented safe teardown, with the handle closed last.
TEST_P(WaitTest, SafeTeardownSequence)
{
    Shared<WaitLog> log;
    HANDLE event = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    ASSERT_NE(nullptr, event);
    PTP_WAIT wait = CreateThreadpoolWait(log_wait, log.get(), pool.env());
    ASSERT_NE(nullptr, wait);
    SetThreadpoolWait(wait, event, nullptr);
    SetThreadpoolWait(wait, nullptr, nullptr);
    WaitForThreadpoolWaitCallbacks(wait, TRUE);
    CloseThreadpoolWait(wait);
    EXPECT_TRUE(CloseHandle(event));
    settle(100ms);
    EXPECT_EQ(0, log->total());
}

// ---- Handles closed while armed ------------------------------------------------------------------

// Wine: wait 1 armed on a waitable timer (due in 100 ms) whose handle is then closed, wait
// 2 on S1: wait 1 still reports WAIT_OBJECT_0; then releasing S1 triggers wait 2. libtpuring
// has no CreateWaitableTimer: a timerfd descriptor handle plays the waitable timer.
TEST_P(WaitTest, ClosedTimerHandleStillFiresAndOtherWaitsAreUnaffected)
{
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    ASSERT_GE(tfd, 0);
    HANDLE timer = tpuring_handle_from_fd(tfd);
    ASSERT_NE(nullptr, timer);
    Handle sem1 = make_semaphore(0, 1);
    Shared<WaitLog> log1, log2;
    WaitObject wait1(log_wait, log1.get(), pool.env());
    WaitObject wait2(log_wait, log2.get(), pool.env());
    SetThreadpoolWait(wait1, timer, nullptr);
    SetThreadpoolWait(wait2, sem1, nullptr);
    itimerspec due{};
    due.it_value.tv_nsec = 100 * 1000 * 1000;
    ASSERT_EQ(0, timerfd_settime(tfd, 0, &due, nullptr));
    EXPECT_TRUE(CloseHandle(timer));
    ASSERT_TRUE(log1->wait_calls(1));
    EXPECT_EQ(1, log1->signalled.load());
    EXPECT_EQ(0, log2->total());
    ASSERT_TRUE(ReleaseSemaphore(sem1, 1, nullptr));
    ASSERT_TRUE(log2->wait_calls(1));
    EXPECT_EQ(1, log2->signalled.load());
    EXPECT_EQ(1, log1->total());
}

// Wine: wait 1 armed on S1 (−200 ms) whose handle is then closed, wait 2 on S2: releasing S2
// triggers wait 2 promptly; wait 1 reports WAIT_TIMEOUT after its 200 ms. An object created
// afterwards (which may reuse the handle value) does not satisfy wait 1.
TEST_P(WaitTest, ClosedSemaphoreHandleStillTimesOut)
{
    HANDLE sem1 = CreateSemaphoreA(nullptr, 0, 1, nullptr);
    ASSERT_NE(nullptr, sem1);
    Handle sem2 = make_semaphore(0, 1);
    Shared<WaitLog> log1, log2;
    WaitObject wait1(log_wait, log1.get(), pool.env());
    WaitObject wait2(log_wait, log2.get(), pool.env());
    const auto start = Clock::now();
    FILETIME timeout = relative_ms(200);
    SetThreadpoolWait(wait1, sem1, &timeout);
    SetThreadpoolWait(wait2, sem2, nullptr);
    EXPECT_TRUE(CloseHandle(sem1));
    Handle reused = make_semaphore(0, 1);
    ASSERT_TRUE(ReleaseSemaphore(reused, 1, nullptr));
    ASSERT_TRUE(ReleaseSemaphore(sem2, 1, nullptr));
    ASSERT_TRUE(log2->wait_calls(1));
    EXPECT_EQ(1, log2->signalled.load());
    ASSERT_TRUE(log1->wait_calls(1));
    EXPECT_EQ(1, log1->timeouts.load());
    EXPECT_EQ(0, log1->signalled.load());
    EXPECT_GE(us_between(start, log1->first_call()), 199000);
    EXPECT_TRUE(semaphore_full(reused));
}

// An auto-reset event closed while armed: the wait keeps the object alive and reports the
// timeout; nothing crashes when the wait is closed afterwards (ASan checks the lifetime).
TEST_P(WaitTest, ClosedEventHandleKeepsTheObjectForTheWait)
{
    HANDLE event = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    ASSERT_NE(nullptr, event);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    FILETIME timeout = relative_ms(100);
    SetThreadpoolWait(wait, event, &timeout);
    EXPECT_TRUE(CloseHandle(event));
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->timeouts.load());
}

} // namespace
