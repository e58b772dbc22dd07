// Thread-pool wait objects (spec/wait.md), the basics: CreateThreadpoolWait, the result of
// SetThreadpoolWait for a signal and for each kind of timeout (none, zero, relative,
// absolute), INVALID_HANDLE_VALUE, the mutex deviation and the default pool. Re-arming,
// teardown, cleanup groups and callback environments are in the sibling test_wait_*.cpp
// files of the same executable; acquisition and the 512 waits are in test_wait_acquire.cpp.
#include "wait_support.h"

namespace {

using namespace waittest;

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
TEST_P(WaitTest, ReleaseAfterArmingGivesWaitObject0AndConsumesTheSemaphore)
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
TEST_P(WaitTest, NullTimeoutWaitsUntilSignalled)
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
TEST_P(WaitTest, AlreadySignalledSemaphoreCallsBackPromptlyOnAWorker)
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

TEST_P(WaitTest, AlreadySignalledAutoResetEventCallsBackAndIsReset)
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
TEST_P(WaitTest, ZeroTimeoutTimesOutAtOnce)
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
TEST_P(WaitTest, ZeroTimeoutOnASignalledSemaphoreTimesOutWithoutConsumingIt)
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

using TimeoutIn = FILETIME (*)(int64_t ms);
FILETIME absolute_timeout_in(int64_t ms) { return absolute_in_ms(ms); }

// Arms on an unsignalled semaphore with a timeout 200 ms away: one WAIT_TIMEOUT, not
// early, and the semaphore untouched.
void expect_timeout_not_early(PTP_CALLBACK_ENVIRON env, TimeoutIn timeout_in)
{
    Handle sem = make_semaphore(0, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), env);
    const auto start = Clock::now();
    FILETIME timeout = timeout_in(200);
    SetThreadpoolWait(wait, sem, &timeout);
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_GE(us_between(start, log->first_call()), 199000);
    EXPECT_EQ(1, log->timeouts.load());
    EXPECT_EQ(0, log->signalled.load());
    settle();
    EXPECT_EQ(1, log->total());
    EXPECT_EQ(0, semaphore_count(sem));
}

// Releases the semaphore right after arming with a timeout 600 ms away: WAIT_OBJECT_0, the
// unit consumed, and the timeout never reports afterwards.
void expect_signal_before_timeout_wins(PTP_CALLBACK_ENVIRON env, TimeoutIn timeout_in)
{
    Handle sem = make_semaphore(0, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), env);
    const auto start = Clock::now();
    FILETIME timeout = timeout_in(600);
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

// Wine: relative −200 ms, S not released: one WAIT_TIMEOUT, not before 200 ms; S untouched.
TEST_P(WaitTest, RelativeTimeoutExpiresNotEarly)
{
    expect_timeout_not_early(pool.env(), relative_ms);
}

// Wine: relative timeout, S released before it: WAIT_OBJECT_0, S consumed, and the
// timeout never reports afterwards.
TEST_P(WaitTest, SignalBeforeARelativeTimeoutWins)
{
    expect_signal_before_timeout_wins(pool.env(), relative_ms);
}

// Wine: the same with an absolute timeout (now + 200 ms): WAIT_TIMEOUT, not early.
TEST_P(WaitTest, AbsoluteTimeoutExpiresNotEarly)
{
    expect_timeout_not_early(pool.env(), absolute_timeout_in);
}

TEST_P(WaitTest, SignalBeforeAnAbsoluteTimeoutWins)
{
    expect_signal_before_timeout_wins(pool.env(), absolute_timeout_in);
}

// An absolute time already past times out at once (not after a minute-long delay).
TEST_P(WaitTest, AbsoluteTimeInThePastTimesOutAtOnce)
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
TEST_P(WaitTest, SeveralRelativeTimeoutsAreEachNotEarly)
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
TEST_P(WaitTest, WaitForCallbacksWithCancelKeepsAPendingTimeout)
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

// ---- INVALID_HANDLE_VALUE (the current process) ---------------------------------------------

// Wine: SetThreadpoolWait(wait, INVALID_HANDLE_VALUE, &zero): WAIT_TIMEOUT.
TEST_P(WaitTest, InvalidHandleValueWithZeroTimeoutTimesOut)
{
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    FILETIME zero = zero_timeout();
    SetThreadpoolWait(wait, INVALID_HANDLE_VALUE, &zero);
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->timeouts.load());
}

TEST_P(WaitTest, InvalidHandleValueIsNeverSignalledOnlyTimesOut)
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

// ---- Mutexes (documented deviation) ----------------------------------------------------------------

// libtpuring does not arm on a mutex: last error ERROR_INVALID_PARAMETER, no callback, and
// the mutex is never acquired by the pool.
TEST_P(WaitTest, MutexIsNotArmedAndSetsInvalidParameter)
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

// Once per executable: this covers the WaitTest cases of every file linked with it.
TPTEST_INSTANTIATE_DISPATCH_MODES(WaitTest);

} // namespace
