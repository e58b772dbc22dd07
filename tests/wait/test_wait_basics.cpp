// Thread-pool wait objects (spec/wait.md): CreateThreadpoolWait, SetThreadpoolWait(Ex),
// WaitForThreadpoolWaitCallbacks, CloseThreadpoolWait — results, timeouts (none, zero,
// relative, absolute), disarming, re-arming, INVALID_HANDLE_VALUE, one callback per arming,
// the Ex return value, closing, handles closed while armed, the mutex deviation, cleanup
// groups, priorities and callback-instance actions. Every "Observed in Wine's tests" item
// of wait.md that is not about acquisition or the 512 waits is here (those are in
// test_wait_acquire.cpp).
#include "wait_support.h"

#include <sys/timerfd.h>
#include <unistd.h>

namespace {

using namespace waittest;

constexpr DWORD kSentinelError = 0x7654321;

// A private pool per test (waits post from the ring owner, so the dispatch mode does not
// change how their callbacks arrive).
class WaitTest : public ::testing::Test {
protected:
    Pool pool{TPURING_DISPATCH_DIRECT};
};

// Lets an armed-but-not-due arming "not fire" for a while.
void settle(Millis how_long = 300ms) { std::this_thread::sleep_for(how_long); }

// ---- Creation ---------------------------------------------------------------------------

// ⚠ UNCERTAIN 11: libtpuring rejects a NULL callback at creation.
TEST(WaitCreate, NullCallbackIsInvalidParameter)
{
    SetLastError(0);
    EXPECT_EQ(nullptr, CreateThreadpoolWait(nullptr, nullptr, nullptr));
    EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_PARAMETER), GetLastError());
}

TEST(WaitCreate, NewWaitIsUnsetIdleAndLeavesLastErrorAlone)
{
    Shared<WaitLog> log;
    SetLastError(kSentinelError);
    PTP_WAIT wait = CreateThreadpoolWait(log_wait, log.get(), nullptr);
    ASSERT_NE(nullptr, wait);
    EXPECT_EQ(kSentinelError, GetLastError());
    // Never armed: "unset", so Ex with NULL replaces nothing.
    EXPECT_FALSE(SetThreadpoolWaitEx(wait, nullptr, nullptr, nullptr));
    WaitForThreadpoolWaitCallbacks(wait, FALSE); // nothing queued: returns at once
    WaitForThreadpoolWaitCallbacks(wait, TRUE);
    CloseThreadpoolWait(wait);
    EXPECT_EQ(0, log->total());
}

// ---- Signalled ---------------------------------------------------------------------------

// Wine: armed on S with no timeout, then S released: one WAIT_OBJECT_0 callback; S consumed.
TEST_F(WaitTest, ReleaseAfterArmingGivesWaitObject0AndConsumesTheSemaphore)
{
    Handle sem = make_semaphore(0, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    SetLastError(kSentinelError);
    SetThreadpoolWait(wait, sem, nullptr);
    EXPECT_EQ(kSentinelError, GetLastError());
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->signalled.load());
    EXPECT_EQ(WAIT_OBJECT_0, log->last_result.load());
    EXPECT_NE(nullptr, log->instance.load());
    EXPECT_EQ(log.get(), log->context.load());
    EXPECT_EQ(wait.get(), log->wait.load());
    EXPECT_NE(GetCurrentThreadId(), log->thread.load());
    EXPECT_EQ(0, semaphore_count(sem)); // consumed by the wait
    settle();
    EXPECT_EQ(1, log->total());
}

// NULL timeout: no deadline; the wait is still armed long after.
TEST_F(WaitTest, NullTimeoutWaitsUntilSignalled)
{
    Handle event = make_event(false, false);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    SetThreadpoolWait(wait, event, nullptr);
    settle(700ms);
    EXPECT_EQ(0, log->total());
    ASSERT_TRUE(SetEvent(event));
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->signalled.load());
    EXPECT_EQ(0, log->timeouts.load());
}

// Already signalled when armed: queued promptly with WAIT_OBJECT_0 (a minute-long timeout
// shows it is not the timeout), never inline in the arming thread.
TEST_F(WaitTest, AlreadySignalledSemaphoreCallsBackPromptlyOnAWorker)
{
    Handle sem = make_semaphore(1, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    FILETIME timeout = relative_ms(60000);
    SetThreadpoolWait(wait, sem, &timeout);
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->signalled.load());
    EXPECT_NE(GetCurrentThreadId(), log->thread.load());
    EXPECT_EQ(0, semaphore_count(sem));
}

TEST_F(WaitTest, AlreadySignalledAutoResetEventCallsBackAndIsReset)
{
    Handle event = make_event(false, true);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    FILETIME timeout = relative_ms(60000);
    SetThreadpoolWait(wait, event, &timeout);
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->signalled.load());
    EXPECT_EQ(WAIT_TIMEOUT, WaitForSingleObject(event, 0));
}

// ---- Timeouts ----------------------------------------------------------------------------

// Wine: timeout 0 with S not signalled: immediate WAIT_TIMEOUT.
TEST_F(WaitTest, ZeroTimeoutTimesOutAtOnce)
{
    Handle sem = make_semaphore(0, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    FILETIME zero = zero_timeout();
    SetThreadpoolWait(wait, sem, &zero);
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->timeouts.load());
    EXPECT_EQ(0, log->signalled.load());
    EXPECT_EQ(0, semaphore_count(sem));
    settle();
    EXPECT_EQ(1, log->total());
}

// ⚠ UNCERTAIN 14, recommended (Wine): zero timeout is "time out now", even on a signalled
// object, and the signal is not consumed.
TEST_F(WaitTest, ZeroTimeoutOnASignalledSemaphoreTimesOutWithoutConsumingIt)
{
    Handle sem = make_semaphore(1, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    FILETIME zero = zero_timeout();
    SetThreadpoolWait(wait, sem, &zero);
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->timeouts.load());
    EXPECT_EQ(0, log->signalled.load());
    settle(100ms);
    EXPECT_TRUE(semaphore_full(sem));
}

// Wine: relative −200 ms, S not released: one WAIT_TIMEOUT, not before 200 ms; S untouched.
TEST_F(WaitTest, RelativeTimeoutExpiresNotEarly)
{
    Handle sem = make_semaphore(0, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    const auto start = Clock::now();
    FILETIME timeout = relative_ms(200);
    SetThreadpoolWait(wait, sem, &timeout);
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_GE(us_between(start, log->first_call()), 199000);
    EXPECT_EQ(1, log->timeouts.load());
    EXPECT_EQ(0, log->signalled.load());
    settle();
    EXPECT_EQ(1, log->total());
    EXPECT_EQ(0, semaphore_count(sem));
}

// Wine: relative timeout, S released before it: WAIT_OBJECT_0, S consumed, and the
// timeout never reports afterwards.
TEST_F(WaitTest, SignalBeforeARelativeTimeoutWins)
{
    Handle sem = make_semaphore(0, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    const auto start = Clock::now();
    FILETIME timeout = relative_ms(600);
    SetThreadpoolWait(wait, sem, &timeout);
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    const int64_t release_delay = ms_since(start);
    ASSERT_TRUE(log->wait_calls(1));
    if (release_delay > 400)
        GTEST_SKIP() << "the machine stalled " << release_delay << " ms between arming and releasing";
    EXPECT_EQ(1, log->signalled.load());
    EXPECT_EQ(0, log->timeouts.load());
    EXPECT_EQ(0, semaphore_count(sem));
    std::this_thread::sleep_until(start + 900ms);
    EXPECT_EQ(1, log->total());
}

// Wine: the same with an absolute timeout (now + 200 ms): WAIT_TIMEOUT, not early.
TEST_F(WaitTest, AbsoluteTimeoutExpiresNotEarly)
{
    Handle sem = make_semaphore(0, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    const auto start = Clock::now();
    FILETIME timeout = absolute_in_ms(200);
    SetThreadpoolWait(wait, sem, &timeout);
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_GE(us_between(start, log->first_call()), 199000);
    EXPECT_EQ(1, log->timeouts.load());
    settle();
    EXPECT_EQ(1, log->total());
    EXPECT_EQ(0, semaphore_count(sem));
}

TEST_F(WaitTest, SignalBeforeAnAbsoluteTimeoutWins)
{
    Handle sem = make_semaphore(0, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    const auto start = Clock::now();
    FILETIME timeout = absolute_in_ms(600);
    SetThreadpoolWait(wait, sem, &timeout);
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    const int64_t release_delay = ms_since(start);
    ASSERT_TRUE(log->wait_calls(1));
    if (release_delay > 400)
        GTEST_SKIP() << "the machine stalled " << release_delay << " ms between arming and releasing";
    EXPECT_EQ(1, log->signalled.load());
    EXPECT_EQ(0, log->timeouts.load());
    EXPECT_EQ(0, semaphore_count(sem));
    std::this_thread::sleep_until(start + 900ms);
    EXPECT_EQ(1, log->total());
}

// An absolute time already past times out at once (not after a minute-long delay).
TEST_F(WaitTest, AbsoluteTimeInThePastTimesOutAtOnce)
{
    Handle sem = make_semaphore(0, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    FILETIME past = absolute_in_ms(-60000);
    SetThreadpoolWait(wait, sem, &past);
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->timeouts.load());
    // 1601-01-01 plus 100 ns, the smallest positive FILETIME.
    FILETIME epoch = filetime_from(1);
    SetThreadpoolWait(wait, sem, &epoch);
    ASSERT_TRUE(log->wait_calls(2));
    EXPECT_EQ(2, log->timeouts.load());
    EXPECT_EQ(0, log->signalled.load());
}

// Relative deadlines count from each SetThreadpoolWait call; neither of two waits with
// different deadlines is early.
TEST_F(WaitTest, SeveralRelativeTimeoutsAreEachNotEarly)
{
    Handle sem = make_semaphore(0, 1);
    Shared<WaitLog> late_log, early_log;
    WaitObject late(log_wait, late_log.get(), pool.env());
    WaitObject early(log_wait, early_log.get(), pool.env());
    const auto start = Clock::now();
    FILETIME t300 = relative_ms(300), t100 = relative_ms(100);
    SetThreadpoolWait(late, sem, &t300);
    SetThreadpoolWait(early, sem, &t100);
    ASSERT_TRUE(late_log->wait_calls(1));
    ASSERT_TRUE(early_log->wait_calls(1));
    EXPECT_GE(us_between(start, early_log->first_call()), 99000);
    EXPECT_GE(us_between(start, late_log->first_call()), 299000);
    EXPECT_EQ(1, early_log->timeouts.load());
    EXPECT_EQ(1, late_log->timeouts.load());
}

// Wine: WaitForThreadpoolWaitCallbacks(wait, TRUE) while the −300 ms arming is pending
// returns at once and does not cancel it: the timeout still reports (current Windows).
TEST_F(WaitTest, WaitForCallbacksWithCancelKeepsAPendingTimeout)
{
    Handle sem = make_semaphore(0, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    const auto start = Clock::now();
    FILETIME timeout = relative_ms(300);
    SetThreadpoolWait(wait, sem, &timeout);
    {
        GuardedCall call([&] { WaitForThreadpoolWaitCallbacks(wait, TRUE); });
        EXPECT_TRUE(call.finished_within(kTimeout));
    }
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->timeouts.load());
    EXPECT_GE(us_between(start, log->first_call()), 299000);
}

// ---- NULL handle: disarm -----------------------------------------------------------------

// Wine: armed −250 ms, then SetThreadpoolWait(wait, NULL, 0xdeadbeef), then S released: no
// callback (neither signal nor timeout) and S stays signalled. The timeout pointer is not
// dereferenced (a crash otherwise).
TEST_F(WaitTest, NullHandleDisarmsWithoutReadingTheTimeout)
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

TEST_F(WaitTest, NullHandleOnANeverArmedWaitDoesNothing)
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
struct Entered {
    Flag entered;
    Flag gate;
    Flag finished;
    std::atomic<DWORD> result{0xDEAD};
    std::atomic<long> calls{0};
};

void CALLBACK gated_wait(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WAIT, TP_WAIT_RESULT result)
{
    auto *e = static_cast<Entered *>(ctx);
    e->result = result;
    ++e->calls;
    e->entered.set();
    if (!e->gate.wait(kLongTimeout))
        ADD_FAILURE() << "gate never opened";
    e->finished.set();
}

TEST_F(WaitTest, DisarmingLetsAnAlreadyQueuedCallbackRun)
{
    Pool single(TPURING_DISPATCH_DIRECT, 1);
    Handle sem = make_semaphore(1, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), single.env());
    Blocker blocker;
    ASSERT_TRUE(blocker.start(single.env()));
    SetThreadpoolWait(wait, sem, nullptr);
    // The wait takes the unit when it triggers; its callback then waits for the worker.
    ASSERT_TRUE(eventually([&] { return !semaphore_full(sem); }));
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
TEST_F(WaitTest, RearmingOnInvalidHandleValueReplacesTheSemaphore)
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

TEST_F(WaitTest, RearmingOnAnotherObjectReplacesTheFirst)
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
TEST_F(WaitTest, RearmingReplacesTheTimeout)
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
TEST_F(WaitTest, RepeatedRearmingLeavesOneArming)
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

// ---- INVALID_HANDLE_VALUE (the current process) ---------------------------------------------

// Wine: SetThreadpoolWait(wait, INVALID_HANDLE_VALUE, &zero): WAIT_TIMEOUT.
TEST_F(WaitTest, InvalidHandleValueWithZeroTimeoutTimesOut)
{
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    FILETIME zero = zero_timeout();
    SetThreadpoolWait(wait, INVALID_HANDLE_VALUE, &zero);
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->timeouts.load());
}

TEST_F(WaitTest, InvalidHandleValueIsNeverSignalledOnlyTimesOut)
{
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    SetThreadpoolWait(wait, INVALID_HANDLE_VALUE, nullptr);
    settle(500ms);
    EXPECT_EQ(0, log->total());
    const auto start = Clock::now();
    FILETIME timeout = relative_ms(200);
    SetThreadpoolWait(wait, INVALID_HANDLE_VALUE, &timeout);
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->timeouts.load());
    EXPECT_EQ(0, log->signalled.load());
    EXPECT_GE(us_between(start, log->first_call()), 199000);
}

// ---- One callback per arming; re-arming from the callback -----------------------------------

// A manual-reset event stays signalled, so a wait that re-armed itself would report again
// and again: one arming gives exactly one callback.
TEST_F(WaitTest, OneCallbackPerArmingEvenOnAManualResetEvent)
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
TEST_F(WaitTest, RearmingFromTheCallbackOnASignalledManualEvent)
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

TEST_F(WaitTest, RearmingFromTheCallbackReportsEachRelease)
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

TEST_F(WaitTest, ExReturnsTrueExactlyWhenItReplacesAnUntriggeredArming)
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
TEST_F(WaitTest, ExResultTellsWhetherACallbackWillRun)
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
TEST_F(WaitTest, ExFromTheCallbackReturnsFalseAndRearms)
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

TEST_F(WaitTest, ExWithNonNullReservedIsInvalidParameter)
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

// ---- WaitForThreadpoolWaitCallbacks -----------------------------------------------------------

TEST_F(WaitTest, WaitForCallbacksReturnsAtOnceForAnArmedUntriggeredWait)
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

TEST_F(WaitTest, WaitForCallbacksWaitsForARunningCallback)
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
TEST_F(WaitTest, WaitForCallbacksWithCancelDiscardsAQueuedCallback)
{
    Pool single(TPURING_DISPATCH_DIRECT, 1);
    Handle sem = make_semaphore(1, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), single.env());
    Blocker blocker;
    ASSERT_TRUE(blocker.start(single.env()));
    SetThreadpoolWait(wait, sem, nullptr);
    ASSERT_TRUE(eventually([&] { return !semaphore_full(sem); })); // triggered, callback queued
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
TEST_F(WaitTest, CancellingWhileTriggersArriveNeverTurnsASignalIntoATimeout)
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
TEST_F(WaitTest, WaitForCallbacksWithoutCancelRunsAQueuedCallback)
{
    Pool single(TPURING_DISPATCH_DIRECT, 1);
    Handle sem = make_semaphore(1, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), single.env());
    Blocker blocker;
    ASSERT_TRUE(blocker.start(single.env()));
    SetThreadpoolWait(wait, sem, nullptr);
    ASSERT_TRUE(eventually([&] { return !semaphore_full(sem); }));
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

TEST_F(WaitTest, CloseDisarms)
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

TEST_F(WaitTest, CloseFromTheCallback)
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
TEST_F(WaitTest, CloseLetsAQueuedCallbackRun)
{
    Pool single(TPURING_DISPATCH_DIRECT, 1);
    Handle sem = make_semaphore(1, 1);
    Shared<WaitLog> log;
    PTP_WAIT wait = CreateThreadpoolWait(log_wait, log.get(), single.env());
    ASSERT_NE(nullptr, wait);
    Blocker blocker;
    ASSERT_TRUE(blocker.start(single.env()));
    SetThreadpoolWait(wait, sem, nullptr);
    ASSERT_TRUE(eventually([&] { return !semaphore_full(sem); }));
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

TEST_F(WaitTest, NoCallbackStartsAfterTheSafeTeardown)
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
TEST_F(WaitTest, SafeTeardownSequence)
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
TEST_F(WaitTest, ClosedTimerHandleStillFiresAndOtherWaitsAreUnaffected)
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
TEST_F(WaitTest, ClosedSemaphoreHandleStillTimesOut)
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
TEST_F(WaitTest, ClosedEventHandleKeepsTheObjectForTheWait)
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

// ---- Mutexes (documented deviation) ----------------------------------------------------------------

// libtpuring does not arm on a mutex: last error ERROR_INVALID_PARAMETER, no callback, and
// the mutex is never acquired by the pool.
TEST_F(WaitTest, MutexIsNotArmedAndSetsInvalidParameter)
{
    Handle mutex = make_mutex(false);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    SetLastError(0);
    SetThreadpoolWait(wait, mutex, nullptr);
    EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_PARAMETER), GetLastError());
    SetLastError(0);
    EXPECT_FALSE(SetThreadpoolWaitEx(wait, mutex, nullptr, nullptr));
    EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_PARAMETER), GetLastError());
    FILETIME zero = zero_timeout();
    SetThreadpoolWait(wait, mutex, &zero); // not even the timeout
    settle();
    EXPECT_EQ(0, log->total());
    // Another thread can take the mutex: nobody owns it.
    std::atomic<DWORD> result{0xDEAD};
    std::thread other([&] {
        result = WaitForSingleObject(mutex, 0);
        if (result == WAIT_OBJECT_0)
            ReleaseMutex(mutex);
    });
    other.join();
    EXPECT_EQ(WAIT_OBJECT_0, result.load());
}

// ---- Cleanup groups ----------------------------------------------------------------------------------

struct CancelLog {
    std::atomic<long> calls{0};
    std::atomic<PVOID> object_context{nullptr};
    std::atomic<PVOID> cleanup_context{nullptr};
    std::atomic<DWORD> thread{0};
    std::atomic<bool> callback_finished_first{true};
    Entered *watched = nullptr;
};

void CALLBACK record_cancel(PVOID object_context, PVOID cleanup_context)
{
    auto *c = static_cast<CancelLog *>(cleanup_context);
    c->object_context = object_context;
    c->cleanup_context = cleanup_context;
    c->thread = GetCurrentThreadId();
    if (c->watched && c->watched->calls.load() > 0 && !c->watched->finished.is_set())
        c->callback_finished_first = false;
    ++c->calls;
}

class WaitGroupTest : public WaitTest {
protected:
    void SetUp() override
    {
        group = CreateThreadpoolCleanupGroup();
        ASSERT_NE(nullptr, group);
        env = *pool.env();
        SetThreadpoolCallbackCleanupGroup(&env, group, record_cancel);
    }
    void TearDown() override
    {
        if (group)
            CloseThreadpoolCleanupGroup(group);
    }
    PTP_CLEANUP_GROUP group = nullptr;
    TP_CALLBACK_ENVIRON env{};
};

// Fine point: the cancel callback runs once per member, also for a wait never set, on the
// thread that calls CloseThreadpoolCleanupGroupMembers, with the object's context.
TEST_F(WaitGroupTest, NeverSetWaitGetsTheCancelCallbackOnce)
{
    Shared<WaitLog> log;
    Shared<CancelLog> cancel;
    PTP_WAIT wait = CreateThreadpoolWait(log_wait, log.get(), &env);
    ASSERT_NE(nullptr, wait);
    CloseThreadpoolCleanupGroupMembers(group, TRUE, cancel.get());
    EXPECT_EQ(1, cancel->calls.load());
    EXPECT_EQ(log.get(), cancel->object_context.load());
    EXPECT_EQ(cancel.get(), cancel->cleanup_context.load());
    EXPECT_EQ(GetCurrentThreadId(), cancel->thread.load());
    EXPECT_EQ(0, log->total());
}

// An armed wait is disarmed by the group: later signals produce nothing and are not taken.
TEST_F(WaitGroupTest, ArmedWaitIsDisarmedAndCancelledOnce)
{
    Handle sem = make_semaphore(0, 1);
    Shared<WaitLog> log;
    Shared<CancelLog> cancel;
    PTP_WAIT wait = CreateThreadpoolWait(log_wait, log.get(), &env);
    ASSERT_NE(nullptr, wait);
    FILETIME timeout = relative_ms(200);
    SetThreadpoolWait(wait, sem, &timeout);
    CloseThreadpoolCleanupGroupMembers(group, TRUE, cancel.get());
    EXPECT_EQ(1, cancel->calls.load());
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    settle(500ms);
    EXPECT_EQ(0, log->total());
    EXPECT_TRUE(semaphore_full(sem));
}

TEST_F(WaitGroupTest, ArmedWaitWithoutCancelGetsNoCancelCallbackAndStops)
{
    Handle sem = make_semaphore(0, 1);
    Shared<WaitLog> log;
    Shared<CancelLog> cancel;
    PTP_WAIT wait = CreateThreadpoolWait(log_wait, log.get(), &env);
    ASSERT_NE(nullptr, wait);
    SetThreadpoolWait(wait, sem, nullptr);
    CloseThreadpoolCleanupGroupMembers(group, FALSE, cancel.get());
    EXPECT_EQ(0, cancel->calls.load());
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    settle();
    EXPECT_EQ(0, log->total());
    EXPECT_TRUE(semaphore_full(sem));
}

// A queued callback is discarded with TRUE (cancel callback once), run with FALSE.
TEST_F(WaitGroupTest, QueuedCallbackIsDiscardedWithCancel)
{
    Pool single(TPURING_DISPATCH_DIRECT, 1);
    TP_CALLBACK_ENVIRON single_env = *single.env();
    SetThreadpoolCallbackCleanupGroup(&single_env, group, record_cancel);
    Handle sem = make_semaphore(1, 1);
    Shared<WaitLog> log;
    Shared<CancelLog> cancel;
    PTP_WAIT wait = CreateThreadpoolWait(log_wait, log.get(), &single_env);
    ASSERT_NE(nullptr, wait);
    Blocker blocker;
    ASSERT_TRUE(blocker.start(single.env()));
    SetThreadpoolWait(wait, sem, nullptr);
    ASSERT_TRUE(eventually([&] { return !semaphore_full(sem); }));
    {
        GuardedCall call([&] { CloseThreadpoolCleanupGroupMembers(group, TRUE, cancel.get()); });
        EXPECT_TRUE(call.finished_within(kTimeout)); // nothing of the member is running
        blocker.release();
    }
    ASSERT_TRUE(blocker.wait_finished());
    ASSERT_TRUE(drain_single_thread_pool(single_env));
    EXPECT_EQ(0, log->total());
    EXPECT_EQ(1, cancel->calls.load());
}

TEST_F(WaitGroupTest, QueuedCallbackRunsWithoutCancelBeforeTheCallReturns)
{
    Pool single(TPURING_DISPATCH_DIRECT, 1);
    TP_CALLBACK_ENVIRON single_env = *single.env();
    SetThreadpoolCallbackCleanupGroup(&single_env, group, record_cancel);
    Handle sem = make_semaphore(1, 1);
    Shared<WaitLog> log;
    Shared<CancelLog> cancel;
    PTP_WAIT wait = CreateThreadpoolWait(log_wait, log.get(), &single_env);
    ASSERT_NE(nullptr, wait);
    Blocker blocker;
    ASSERT_TRUE(blocker.start(single.env()));
    SetThreadpoolWait(wait, sem, nullptr);
    ASSERT_TRUE(eventually([&] { return !semaphore_full(sem); }));
    {
        GuardedCall call([&] { CloseThreadpoolCleanupGroupMembers(group, FALSE, cancel.get()); });
        EXPECT_FALSE(call.finished_within(200ms));
        blocker.release();
        ASSERT_TRUE(call.finished_within(kTimeout));
        EXPECT_EQ(1, log->total());
    }
    EXPECT_EQ(1, log->signalled.load());
    EXPECT_EQ(0, cancel->calls.load());
}

// Cleanup-group rule: the cancel callback runs only after the member's running callback.
TEST_F(WaitGroupTest, CancelCallbackRunsAfterTheRunningCallbackEnded)
{
    Handle event = make_event(true, true);
    Shared<Entered> e;
    Shared<CancelLog> cancel;
    cancel->watched = e.get();
    PTP_WAIT wait = CreateThreadpoolWait(gated_wait, e.get(), &env);
    ASSERT_NE(nullptr, wait);
    SetThreadpoolWait(wait, event, nullptr);
    ASSERT_TRUE(e->entered.wait());
    {
        GuardedCall call([&] { CloseThreadpoolCleanupGroupMembers(group, TRUE, cancel.get()); });
        EXPECT_FALSE(call.finished_within(200ms));
        EXPECT_EQ(0, cancel->calls.load());
        e->gate.set();
        ASSERT_TRUE(call.finished_within(kTimeout));
    }
    EXPECT_EQ(1, cancel->calls.load());
    EXPECT_TRUE(cancel->callback_finished_first.load());
}

// Wine: a wait member armed on INVALID_HANDLE_VALUE with a zero timeout whose callback
// closes its own wait (200 ms after signalling) while the main thread is inside
// CloseThreadpoolCleanupGroupMembers(FALSE): no crash, no double release, no cancel
// callback, and the call returns after the callback ended.
struct ClosingMember {
    Flag entered;
    Flag finished;
};

void CALLBACK member_closing_itself(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WAIT wait, TP_WAIT_RESULT)
{
    auto *m = static_cast<ClosingMember *>(ctx);
    m->entered.set();
    std::this_thread::sleep_for(200ms);
    CloseThreadpoolWait(wait);
    m->finished.set();
}

TEST_F(WaitGroupTest, MemberClosingItselfDuringCloseMembersWithoutCancel)
{
    Shared<ClosingMember> m;
    Shared<CancelLog> cancel;
    PTP_WAIT wait = CreateThreadpoolWait(member_closing_itself, m.get(), &env);
    ASSERT_NE(nullptr, wait);
    FILETIME zero = zero_timeout();
    SetThreadpoolWait(wait, INVALID_HANDLE_VALUE, &zero);
    ASSERT_TRUE(m->entered.wait());
    CloseThreadpoolCleanupGroupMembers(group, FALSE, cancel.get());
    EXPECT_TRUE(m->finished.is_set());
    EXPECT_EQ(0, cancel->calls.load());
}

// The same with cancel: the object closed itself, so it gets no cancel callback.
TEST_F(WaitGroupTest, MemberClosingItselfDuringCloseMembersWithCancel)
{
    Shared<ClosingMember> m;
    Shared<CancelLog> cancel;
    PTP_WAIT wait = CreateThreadpoolWait(member_closing_itself, m.get(), &env);
    ASSERT_NE(nullptr, wait);
    FILETIME zero = zero_timeout();
    SetThreadpoolWait(wait, INVALID_HANDLE_VALUE, &zero);
    ASSERT_TRUE(m->entered.wait());
    CloseThreadpoolCleanupGroupMembers(group, TRUE, cancel.get());
    EXPECT_TRUE(m->finished.is_set());
    EXPECT_EQ(0, cancel->calls.load());
}

// ---- Priorities ---------------------------------------------------------------------------------------

struct PriorityLog {
    OrderLog order;
    Counter calls;
};

struct PriorityContext {
    PriorityLog *log;
    int label;
};

void CALLBACK priority_wait(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WAIT, TP_WAIT_RESULT result)
{
    auto *c = static_cast<PriorityContext *>(ctx);
    c->log->order.add(result == WAIT_OBJECT_0 ? c->label : -c->label);
    c->log->calls.increment();
}

// Triggered waits queue their callbacks at the priority of their environment: on a busy
// one-thread pool, HIGH starts before NORMAL before LOW whatever the order of triggering.
TEST_F(WaitTest, QueuedWaitCallbacksStartByPriority)
{
    Pool single(TPURING_DISPATCH_DIRECT, 1);
    Shared<PriorityLog> log;
    const TP_CALLBACK_PRIORITY priorities[3] = {TP_CALLBACK_PRIORITY_LOW, TP_CALLBACK_PRIORITY_NORMAL,
                                                 TP_CALLBACK_PRIORITY_HIGH};
    const int labels[3] = {3, 2, 1}; // expected start order 1, 2, 3
    Shared<std::vector<PriorityContext>> contexts;
    std::vector<Handle> sems;
    std::vector<std::unique_ptr<WaitObject>> waits;
    for (int i = 0; i < 3; ++i) {
        contexts->push_back({log.get(), labels[i]});
        sems.push_back(make_semaphore(1, 1));
    }
    for (int i = 0; i < 3; ++i) {
        TP_CALLBACK_ENVIRON env = env_with_priority(*single.env(), priorities[i]);
        waits.push_back(std::make_unique<WaitObject>(priority_wait, &(*contexts)[i], &env));
    }
    Blocker blocker;
    ASSERT_TRUE(blocker.start(single.env()));
    for (int i = 0; i < 3; ++i) {
        SetThreadpoolWait(*waits[i], sems[i], nullptr);
        ASSERT_TRUE(eventually([&] { return !semaphore_full(sems[i]); })) << i;
    }
    blocker.release();
    ASSERT_TRUE(log->calls.wait_for_at_least(3));
    EXPECT_EQ((std::vector<int>{1, 2, 3}), log->order.labels());
    waits.clear();
}

// ---- Callback instances -----------------------------------------------------------------------------------

struct Actions {
    CRITICAL_SECTION cs;
    HANDLE mutex = nullptr;
    HANDLE sem = nullptr;
    HANDLE event = nullptr;
    std::atomic<bool> event_set_during_callback{true};
    std::atomic<LONG> sem_count_during_callback{-1};
    std::atomic<bool> owned_mutex{false};
    std::atomic<BOOL> may_run_long{FALSE};
    Flag entered;
    Flag gate;
};

void CALLBACK wait_with_actions(PTP_CALLBACK_INSTANCE instance, PVOID ctx, PTP_WAIT, TP_WAIT_RESULT)
{
    auto *a = static_cast<Actions *>(ctx);
    EnterCriticalSection(&a->cs);
    LeaveCriticalSectionWhenCallbackReturns(instance, &a->cs);
    a->owned_mutex = WaitForSingleObject(a->mutex, 0) == WAIT_OBJECT_0;
    ReleaseMutexWhenCallbackReturns(instance, a->mutex);
    ReleaseSemaphoreWhenCallbackReturns(instance, a->sem, 2);
    SetEventWhenCallbackReturns(instance, a->event);
    a->may_run_long = CallbackMayRunLong(instance);
    a->entered.set();
    a->gate.wait();
    a->event_set_during_callback = WaitForSingleObject(a->event, 0) == WAIT_OBJECT_0;
    a->sem_count_during_callback = semaphore_count(a->sem);
}

// The four handle/lock actions run after a wait callback returns, and are done by the time
// WaitForThreadpoolWaitCallbacks returns.
TEST_F(WaitTest, ReturnActionsRunAfterTheWaitCallback)
{
    Handle trigger = make_event(false, false);
    Handle mutex = make_mutex(false);
    Handle sem = make_semaphore(0, 5);
    Handle event = make_event(true, false);
    Shared<Actions> a;
    InitializeCriticalSection(&a->cs);
    a->mutex = mutex;
    a->sem = sem;
    a->event = event;
    WaitObject wait(wait_with_actions, a.get(), pool.env());
    SetThreadpoolWait(wait, trigger, nullptr);
    ASSERT_TRUE(SetEvent(trigger));
    ASSERT_TRUE(a->entered.wait());
    a->gate.set();
    WaitForThreadpoolWaitCallbacks(wait, FALSE);
    EXPECT_TRUE(a->owned_mutex.load());
    EXPECT_FALSE(a->event_set_during_callback.load());
    EXPECT_EQ(0, a->sem_count_during_callback.load());
    EXPECT_TRUE(a->may_run_long.load()); // the pool may start another worker
    EXPECT_TRUE(signaled_now(event));
    EXPECT_EQ(2, semaphore_count(sem));
    EXPECT_TRUE(TryEnterCriticalSection(&a->cs));
    LeaveCriticalSection(&a->cs);
    std::atomic<DWORD> mutex_result{0xDEAD};
    std::thread other([&] {
        mutex_result = WaitForSingleObject(mutex, 0);
        if (mutex_result == WAIT_OBJECT_0)
            ReleaseMutex(mutex);
    });
    other.join();
    EXPECT_EQ(WAIT_OBJECT_0, mutex_result.load());
    wait.reset();
    DeleteCriticalSection(&a->cs);
}

struct Finalization {
    std::atomic<PTP_CALLBACK_INSTANCE> callback_instance{nullptr};
    std::atomic<PTP_CALLBACK_INSTANCE> final_instance{nullptr};
    std::atomic<PVOID> final_context{nullptr};
    std::atomic<DWORD> callback_thread{0}, final_thread{0};
    std::atomic<bool> callback_done_first{false};
    std::atomic<bool> callback_done{false};
    Counter finals;
};

void CALLBACK finalized_wait(PTP_CALLBACK_INSTANCE instance, PVOID ctx, PTP_WAIT, TP_WAIT_RESULT)
{
    auto *f = static_cast<Finalization *>(ctx);
    f->callback_instance = instance;
    f->callback_thread = GetCurrentThreadId();
    f->callback_done = true;
}

void CALLBACK wait_finalizer(PTP_CALLBACK_INSTANCE instance, PVOID ctx)
{
    auto *f = static_cast<Finalization *>(ctx);
    f->final_instance = instance;
    f->final_context = ctx;
    f->final_thread = GetCurrentThreadId();
    f->callback_done_first = f->callback_done.load();
    f->finals.increment();
}

TEST_F(WaitTest, FinalizationCallbackFollowsTheWaitCallback)
{
    Handle event = make_event(false, true);
    Shared<Finalization> f;
    TP_CALLBACK_ENVIRON env = *pool.env();
    TpSetCallbackFinalizationCallback(&env, wait_finalizer);
    WaitObject wait(finalized_wait, f.get(), &env);
    SetThreadpoolWait(wait, event, nullptr);
    ASSERT_TRUE(f->finals.wait_for_at_least(1));
    EXPECT_TRUE(f->callback_done_first.load());
    EXPECT_EQ(f->callback_instance.load(), f->final_instance.load());
    EXPECT_EQ(f.get(), f->final_context.load());
    EXPECT_EQ(f->callback_thread.load(), f->final_thread.load());
}

struct Disassociating {
    Flag disassociated;
    Flag gate;
    Flag finished;
};

void CALLBACK disassociating_wait(PTP_CALLBACK_INSTANCE instance, PVOID ctx, PTP_WAIT, TP_WAIT_RESULT)
{
    auto *d = static_cast<Disassociating *>(ctx);
    DisassociateCurrentThreadFromCallback(instance);
    d->disassociated.set();
    d->gate.wait();
    d->finished.set();
}

TEST_F(WaitTest, DisassociatedWaitCallbackNoLongerHoldsWaitForCallbacks)
{
    Handle event = make_event(false, true);
    Shared<Disassociating> d;
    WaitObject wait(disassociating_wait, d.get(), pool.env());
    SetThreadpoolWait(wait, event, nullptr);
    ASSERT_TRUE(d->disassociated.wait());
    {
        GuardedCall call([&] { WaitForThreadpoolWaitCallbacks(wait, FALSE); });
        EXPECT_TRUE(call.finished_within(kTimeout));
        EXPECT_FALSE(d->finished.is_set());
    }
    d->gate.set();
    ASSERT_TRUE(d->finished.wait());
}

// Wine: CallbackMayRunLong on a pool with maximum 1 from its only running callback: FALSE.
void CALLBACK ask_may_run_long(PTP_CALLBACK_INSTANCE instance, PVOID ctx, PTP_WAIT, TP_WAIT_RESULT)
{
    auto *a = static_cast<Actions *>(ctx);
    a->may_run_long = CallbackMayRunLong(instance);
    a->entered.set();
}

TEST_F(WaitTest, CallbackMayRunLongIsFalseOnAFullOneThreadPool)
{
    Pool single(TPURING_DISPATCH_DIRECT, 1);
    Handle event = make_event(false, true);
    Shared<Actions> a;
    a->may_run_long = TRUE;
    WaitObject wait(ask_may_run_long, a.get(), single.env());
    SetThreadpoolWait(wait, event, nullptr);
    ASSERT_TRUE(a->entered.wait());
    EXPECT_FALSE(a->may_run_long.load());
}

// A return action may re-signal the object the wait re-armed on: the chain continues after
// each callback returns, never inside it.
struct Chain {
    HANDLE event = nullptr;
    std::atomic<long> calls{0};
    std::atomic<long> overlapping{0};
    std::atomic<bool> inside{false};
    Counter done;
};

void CALLBACK chaining_wait(PTP_CALLBACK_INSTANCE instance, PVOID ctx, PTP_WAIT wait, TP_WAIT_RESULT result)
{
    auto *c = static_cast<Chain *>(ctx);
    if (c->inside.exchange(true))
        ++c->overlapping;
    long n = ++c->calls;
    if (result == WAIT_OBJECT_0 && n < 5) {
        SetThreadpoolWait(wait, c->event, nullptr);
        SetEventWhenCallbackReturns(instance, c->event);
        std::this_thread::sleep_for(10ms);
    }
    c->inside = false;
    c->done.increment();
}

TEST_F(WaitTest, SetEventWhenCallbackReturnsRetriggersTheRearmedWait)
{
    Handle event = make_event(false, true);
    Shared<Chain> c;
    c->event = event;
    WaitObject wait(chaining_wait, c.get(), pool.env());
    SetThreadpoolWait(wait, event, nullptr);
    ASSERT_TRUE(c->done.wait_for_at_least(5));
    settle();
    EXPECT_EQ(5, c->calls.load());
    EXPECT_EQ(0, c->overlapping.load());
    EXPECT_EQ(WAIT_TIMEOUT, WaitForSingleObject(event, 0)); // the last one consumed the last set
}

// The default pool (NULL environment) serves waits too.
TEST(WaitDefaultPool, NullEnvironmentWaitsOnTheDefaultPool)
{
    Handle sem = make_semaphore(0, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), nullptr);
    SetThreadpoolWait(wait, sem, nullptr);
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->signalled.load());
    EXPECT_NE(GetCurrentThreadId(), log->thread.load());
}

} // namespace
