// Thread-pool waits (spec/wait.md) armed again: disarming with a NULL handle, re-arming
// that replaces the previous arming, one callback per arming, re-arming from the callback,
// and SetThreadpoolWaitEx's result.
#include "wait_support.h"

namespace {

using namespace waittest;

// ---- NULL handle: disarm -----------------------------------------------------------------

// Wine: armed −250 ms, then SetThreadpoolWait(wait, NULL, 0xdeadbeef), then S released: no
// callback (neither signal nor timeout) and S stays signalled. The timeout pointer is not
// dereferenced (a crash otherwise).
TEST_P(WaitTest, NullHandleDisarmsWithoutReadingTheTimeout)
{
    Handle sem = make_semaphore(0, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    FILETIME timeout = relative_ms(250);
    SetThreadpoolWait(wait, sem, &timeout);
    SetThreadpoolWait(wait, nullptr, reinterpret_cast<PFILETIME>(0xdeadbeef));
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    settle(600ms);
    EXPECT_EQ(0, log->total());
    EXPECT_TRUE(semaphore_full(sem));
    // Ex too: it reports that it disarmed nothing now.
    EXPECT_FALSE(SetThreadpoolWaitEx(wait, nullptr, reinterpret_cast<PFILETIME>(0xdeadbeef), nullptr));
}

TEST_P(WaitTest, NullHandleOnANeverArmedWaitDoesNothing)
{
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    SetThreadpoolWait(wait, nullptr, reinterpret_cast<PFILETIME>(0xdeadbeef));
    SetThreadpoolWait(wait, nullptr, nullptr);
    settle(100ms);
    EXPECT_EQ(0, log->total());
}

// Callbacks already queued when the wait is disarmed still run; SetThreadpoolWaitEx
// reports FALSE for such a triggered arming and does not recall its callback.
TEST_P(WaitTest, DisarmingLetsAnAlreadyQueuedCallbackRun)
{
    Pool single(mode(), 1);
    Handle sem = make_semaphore(1, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), single.env());
    Blocker blocker;
    ASSERT_TRUE(queue_behind_blocker(blocker, single.env(), wait, sem));
    EXPECT_FALSE(SetThreadpoolWaitEx(wait, nullptr, nullptr, nullptr)); // triggered: nothing recalled
    SetThreadpoolWait(wait, nullptr, nullptr);
    EXPECT_EQ(0, log->total());
    blocker.release();
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->signalled.load());
    settle();
    EXPECT_EQ(1, log->total());
}

// ---- Re-arming replaces the previous arming ------------------------------------------------

// Wine: armed on S (−250 ms), re-armed on INVALID_HANDLE_VALUE with a zero timeout, then S
// released: one WAIT_TIMEOUT, no WAIT_OBJECT_0, S stays signalled.
TEST_P(WaitTest, RearmingOnInvalidHandleValueReplacesTheSemaphore)
{
    Handle sem = make_semaphore(0, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    FILETIME timeout = relative_ms(250);
    SetThreadpoolWait(wait, sem, &timeout);
    FILETIME zero = zero_timeout();
    SetThreadpoolWait(wait, INVALID_HANDLE_VALUE, &zero);
    ASSERT_TRUE(log->wait_calls(1));
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    settle(600ms);
    EXPECT_EQ(1, log->total());
    EXPECT_EQ(1, log->timeouts.load());
    EXPECT_EQ(0, log->signalled.load());
    EXPECT_TRUE(semaphore_full(sem));
}

TEST_P(WaitTest, RearmingOnAnotherObjectReplacesTheFirst)
{
    Handle first = make_semaphore(0, 1);
    Handle second = make_semaphore(0, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    SetThreadpoolWait(wait, first, nullptr);
    SetThreadpoolWait(wait, second, nullptr);
    ASSERT_TRUE(ReleaseSemaphore(first, 1, nullptr));
    settle();
    EXPECT_EQ(0, log->total());
    ASSERT_TRUE(ReleaseSemaphore(second, 1, nullptr));
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->signalled.load());
    EXPECT_EQ(0, semaphore_count(second));
    settle();
    EXPECT_EQ(1, log->total());
    EXPECT_TRUE(semaphore_full(first)); // the replaced arming took nothing
}

// The new arming's timeout replaces the old one in both directions.
TEST_P(WaitTest, RearmingReplacesTheTimeout)
{
    Handle sem = make_semaphore(0, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    FILETIME short_timeout = relative_ms(100);
    SetThreadpoolWait(wait, sem, &short_timeout);
    SetThreadpoolWait(wait, sem, nullptr); // no timeout any more
    settle(500ms);
    EXPECT_EQ(0, log->total());
    const auto start = Clock::now();
    FILETIME again = relative_ms(150);
    SetThreadpoolWait(wait, sem, &again);
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->timeouts.load());
    EXPECT_GE(us_between(start, log->first_call()), 149000);
}

// Re-arming the same semaphore several times in a row leaves a single arming.
TEST_P(WaitTest, RepeatedRearmingLeavesOneArming)
{
    Handle sem = make_semaphore(0, 2);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    for (int i = 0; i < 50; ++i)
        SetThreadpoolWait(wait, sem, nullptr);
    ASSERT_TRUE(ReleaseSemaphore(sem, 2, nullptr));
    ASSERT_TRUE(log->wait_calls(1));
    settle();
    EXPECT_EQ(1, log->total());
    EXPECT_EQ(1, semaphore_count(sem)); // exactly one unit taken
}

// ---- One callback per arming; re-arming from the callback -----------------------------------

// A manual-reset event stays signalled, so a wait that re-armed itself would report again
// and again: one arming gives exactly one callback.
TEST_P(WaitTest, OneCallbackPerArmingEvenOnAManualResetEvent)
{
    Handle event = make_event(true, true);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    SetThreadpoolWait(wait, event, nullptr);
    ASSERT_TRUE(log->wait_calls(1));
    settle(500ms);
    EXPECT_EQ(1, log->total());
    EXPECT_TRUE(signaled_now(event)); // manual reset: not reset
    SetThreadpoolWait(wait, event, nullptr);
    ASSERT_TRUE(log->wait_calls(2));
    settle();
    EXPECT_EQ(2, log->total());
    EXPECT_EQ(2, log->signalled.load());
}

struct Rearm {
    HANDLE object = nullptr;
    long limit = 0;
    std::atomic<long> calls{0};
    std::atomic<long> signalled{0};
    std::atomic<BOOL> ex_result{TRUE};
    std::atomic<bool> use_ex{false};
    Counter done;
};

void CALLBACK rearming_wait(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WAIT wait, TP_WAIT_RESULT result)
{
    auto *r = static_cast<Rearm *>(ctx);
    long n = ++r->calls;
    if (result == WAIT_OBJECT_0)
        ++r->signalled;
    if (n < r->limit) {
        if (r->use_ex) {
            // This arming has triggered and its callback runs: nothing untriggered replaced.
            BOOL replaced = SetThreadpoolWaitEx(wait, r->object, nullptr, nullptr);
            if (replaced)
                r->ex_result = TRUE;
            else if (n == 1)
                r->ex_result = FALSE;
        } else {
            SetThreadpoolWait(wait, r->object, nullptr);
        }
    }
    r->done.increment();
}

// Spec: a manual-reset event stays signalled, so re-arming from the callback fires again at
// once; the chain stops exactly when the callback stops re-arming.
TEST_P(WaitTest, RearmingFromTheCallbackOnASignalledManualEvent)
{
    Handle event = make_event(true, true);
    Shared<Rearm> r;
    r->object = event;
    r->limit = 10;
    WaitObject wait(rearming_wait, r.get(), pool.env());
    SetThreadpoolWait(wait, event, nullptr);
    ASSERT_TRUE(r->done.wait_for_at_least(10));
    settle();
    EXPECT_EQ(10, r->calls.load());
    EXPECT_EQ(10, r->signalled.load());
}

TEST_P(WaitTest, RearmingFromTheCallbackReportsEachRelease)
{
    Handle sem = make_semaphore(0, 1);
    Shared<Rearm> r;
    r->object = sem;
    r->limit = 1000;
    WaitObject wait(rearming_wait, r.get(), pool.env());
    SetThreadpoolWait(wait, sem, nullptr);
    for (long i = 1; i <= 5; ++i) {
        ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
        ASSERT_TRUE(r->done.wait_for_at_least(i)) << "release " << i;
    }
    settle(100ms);
    EXPECT_EQ(5, r->calls.load());
    EXPECT_EQ(5, r->signalled.load());
    SetThreadpoolWait(wait, nullptr, nullptr);
    EXPECT_EQ(0, semaphore_count(sem));
}

// ---- SetThreadpoolWaitEx ----------------------------------------------------------------------

TEST_P(WaitTest, ExReturnsTrueExactlyWhenItReplacesAnUntriggeredArming)
{
    Handle sem = make_semaphore(0, 1);
    Handle other = make_semaphore(0, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    EXPECT_FALSE(SetThreadpoolWaitEx(wait, sem, nullptr, nullptr));  // was unset
    EXPECT_TRUE(SetThreadpoolWaitEx(wait, other, nullptr, nullptr)); // replaced an armed one
    EXPECT_TRUE(SetThreadpoolWaitEx(wait, nullptr, nullptr, nullptr)); // disarmed an armed one
    EXPECT_FALSE(SetThreadpoolWaitEx(wait, nullptr, nullptr, nullptr)); // unset again
    FILETIME zero = zero_timeout();
    EXPECT_FALSE(SetThreadpoolWaitEx(wait, sem, &zero, nullptr));
    ASSERT_TRUE(log->wait_calls(1)); // the zero timeout triggered and its callback ran
    EXPECT_FALSE(SetThreadpoolWaitEx(wait, sem, nullptr, nullptr)); // after the trigger
    EXPECT_TRUE(SetThreadpoolWaitEx(wait, sem, nullptr, nullptr));  // that one had not triggered
    // After a signal has been reported, too.
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    ASSERT_TRUE(log->wait_calls(2));
    EXPECT_EQ(1, log->signalled.load());
    EXPECT_FALSE(SetThreadpoolWaitEx(wait, nullptr, nullptr, nullptr));
    settle(100ms);
    EXPECT_EQ(2, log->total()); // the replaced armings gave nothing
}

// The Ex result is a promise about the callback: FALSE after a set arming means its callback
// is in progress or about to start and a later WaitForThreadpoolWaitCallbacks completes
// after it; TRUE means the arming had not triggered, so no callback comes and nothing was
// consumed. Raced many times against an arming on an already-signalled semaphore.
TEST_P(WaitTest, ExResultTellsWhetherACallbackWillRun)
{
    Handle sem = make_semaphore(1, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    const long iterations = scaled(3000, 200);
    long expected_calls = 0, replaced = 0;
    for (long i = 0; i < iterations; ++i) {
        SetThreadpoolWait(wait, sem, nullptr);
        jitter(i);
        const BOOL was_untriggered = SetThreadpoolWaitEx(wait, nullptr, nullptr, nullptr);
        WaitForThreadpoolWaitCallbacks(wait, FALSE);
        if (was_untriggered) {
            ++replaced;
            ASSERT_EQ(expected_calls, log->total()) << "iteration " << i << ": TRUE, yet a callback ran";
            ASSERT_TRUE(semaphore_full(sem)) << "iteration " << i << ": TRUE, yet the unit was taken";
        } else {
            ++expected_calls;
            ASSERT_EQ(expected_calls, log->total())
                << "iteration " << i << ": FALSE, but WaitForThreadpoolWaitCallbacks returned before the callback";
            ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr)) << "iteration " << i;
        }
    }
    settle(100ms);
    EXPECT_EQ(expected_calls, log->total());
    EXPECT_EQ(expected_calls, log->signalled.load());
    RecordProperty("replaced", static_cast<int>(replaced));
}

// The Ex call from the callback itself: its own arming triggered, so FALSE; the new arming
// still works.
TEST_P(WaitTest, ExFromTheCallbackReturnsFalseAndRearms)
{
    Handle sem = make_semaphore(0, 1);
    Shared<Rearm> r;
    r->object = sem;
    r->limit = 2;
    r->use_ex = true;
    WaitObject wait(rearming_wait, r.get(), pool.env());
    SetThreadpoolWait(wait, sem, nullptr);
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    ASSERT_TRUE(r->done.wait_for_at_least(1));
    EXPECT_FALSE(r->ex_result.load());
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    ASSERT_TRUE(r->done.wait_for_at_least(2));
    EXPECT_EQ(2, r->signalled.load());
}

TEST_P(WaitTest, ExWithNonNullReservedIsInvalidParameter)
{
    Handle sem = make_semaphore(1, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    SetLastError(0);
    int reserved = 0;
    EXPECT_FALSE(SetThreadpoolWaitEx(wait, sem, nullptr, &reserved));
    EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_PARAMETER), GetLastError());
    settle(200ms);
    EXPECT_EQ(0, log->total());
    EXPECT_TRUE(semaphore_full(sem));
}

} // namespace
