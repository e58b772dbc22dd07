// Thread-pool timers, one-shot behaviour (spec/timer.md): creation, relative / absolute /
// zero / NULL due times, IsThreadpoolTimerSet, SetThreadpoolTimerEx's result,
// WaitForThreadpoolTimerCallbacks, CloseThreadpoolTimer, and the "Observed in Wine's tests"
// items about one-shot timers.
#include "timer_support.h"

#include <climits>

namespace {

using namespace tmtest;

// ---- Creation (no arming) ---------------------------------------------------------------

// Spec recommendation (README ⚠ 11, work.md): a NULL callback fails at creation.
TEST(TimerBasics, NullCallbackIsInvalidParameter)
{
    SetLastError(0);
    EXPECT_EQ(nullptr, CreateThreadpoolTimer(nullptr, nullptr, nullptr));
    EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_PARAMETER), GetLastError());
}

// pool-and-environment.md §4: an invalid priority is rejected at creation.
TEST(TimerBasics, InvalidPriorityIsInvalidParameter)
{
    TP_CALLBACK_ENVIRON env;
    InitializeThreadpoolEnvironment(&env);
    env.CallbackPriority = TP_CALLBACK_PRIORITY_INVALID; // an in-range enum value that is no priority
    AtomicCounter count;
    SetLastError(0);
    EXPECT_EQ(nullptr, CreateThreadpoolTimer(count_timer, &count, &env));
    EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_PARAMETER), GetLastError());
    DestroyThreadpoolEnvironment(&env);
}

// timer.md "Observed": a new timer is not set; it never fires until armed. Successful calls
// leave the last error alone (README, error conventions).
TEST(TimerBasics, NewTimerIsNotSetAndNeverFires)
{
    Shared<AtomicCounter> count;
    SetLastError(kSentinelError);
    PTP_TIMER timer = CreateThreadpoolTimer(count_timer, count.get(), nullptr);
    ASSERT_NE(nullptr, timer);
    EXPECT_EQ(kSentinelError, GetLastError());
    EXPECT_FALSE(IsThreadpoolTimerSet(timer));
    WaitForThreadpoolTimerCallbacks(timer, FALSE); // nothing to wait for
    WaitForThreadpoolTimerCallbacks(timer, TRUE);
    EXPECT_FALSE(IsThreadpoolTimerSet(timer));
    sleep_ms(100);
    EXPECT_EQ(0, count->get());
    CloseThreadpoolTimer(timer);
}

TEST(TimerBasics, SetExOnANewTimerReturnsFalse)
{
    Shared<AtomicCounter> count;
    Timer timer(count_timer, count.get(), nullptr);
    ASSERT_TRUE(timer);
    // Unset, NULL due time: nothing to cancel.
    EXPECT_FALSE(timer.disarm_ex());
    EXPECT_FALSE(timer.is_set());
    // Unset, arming: nothing was scheduled before.
    EXPECT_FALSE(timer.set_ex(relative_ms(10'000)));
    EXPECT_TRUE(timer.is_set());
    // The expiry is still scheduled: cancelling it reports TRUE, once.
    EXPECT_TRUE(timer.disarm_ex());
    EXPECT_FALSE(timer.is_set());
    EXPECT_FALSE(timer.disarm_ex());
    EXPECT_EQ(0, count->get());
}

// ---- Behaviour (both dispatch modes) ----------------------------------------------------

class TimerTest : public DispatchTest {};
TPTEST_INSTANTIATE_DISPATCH_MODES(TimerTest);

struct CallbackArguments {
    std::atomic<PTP_CALLBACK_INSTANCE> instance{nullptr};
    std::atomic<PVOID> context{nullptr};
    std::atomic<PTP_TIMER> timer{nullptr};
    std::atomic<DWORD> thread{0};
    AtomicFlag done;
};

void CALLBACK record_arguments(PTP_CALLBACK_INSTANCE instance, PVOID ctx, PTP_TIMER timer)
{
    auto *args = static_cast<CallbackArguments *>(ctx);
    args->instance = instance;
    args->context = ctx;
    args->timer = timer;
    args->thread = GetCurrentThreadId();
    args->done.set();
}

TEST_P(TimerTest, CallbackGetsInstanceContextAndTimerOnAWorkerThread)
{
    Pool pool(mode());
    Shared<CallbackArguments> args;
    Timer timer(record_arguments, args.get(), pool.env());
    ASSERT_TRUE(timer);
    timer.set(relative_ms(10));
    ASSERT_TRUE(args->done.wait());
    EXPECT_NE(nullptr, args->instance.load());
    EXPECT_EQ(args.get(), args->context.load());
    EXPECT_EQ(timer.get(), args->timer.load());
    EXPECT_NE(0u, args->thread.load());
    EXPECT_NE(GetCurrentThreadId(), args->thread.load());
}

TEST_P(TimerTest, NullEnvironmentRunsOnTheDefaultPool)
{
    Shared<CallbackArguments> args;
    Timer timer(record_arguments, args.get(), nullptr);
    ASSERT_TRUE(timer);
    timer.set(relative_ms(5));
    ASSERT_TRUE(args->done.wait());
    EXPECT_EQ(timer.get(), args->timer.load());
    EXPECT_NE(GetCurrentThreadId(), args->thread.load());
}

// timer.md "Observed": relative −200 ms, period 0: set at once; no callback within the
// first 100 ms (here: never early at all); the callback comes (late by at most 500 ms
// here); afterwards the timer is still set.
TEST_P(TimerTest, RelativeDueTimeFiresOnceNotEarlyAndStaysSet)
{
    Pool pool(mode());
    Shared<FireLog> log;
    Timer timer(log_fire, log.get(), pool.env());
    ASSERT_TRUE(timer);
    const int64_t armed = mono_ns();
    timer.set(relative_ms(200));
    EXPECT_TRUE(timer.is_set());
    ASSERT_TRUE(log->wait_for(1));
    EXPECT_ON_TIME(armed + 200 * kNsPerMs, log->at(0).mono);
    EXPECT_NE(GetCurrentThreadId(), log->at(0).thread);
    EXPECT_TRUE(timer.is_set()); // a fired one-shot timer stays set
    sleep_ms(300);
    EXPECT_EQ(1, log->count()); // one-shot: once
    EXPECT_TRUE(timer.is_set());
}

// Sub-millisecond and odd relative due times are honoured too (100 ns units).
TEST_P(TimerTest, ShortRelativeDueTimesAreNeverEarly)
{
    Pool pool(mode());
    const int64_t delays_us[] = {1, 50, 999, 1500, 2345, 5000, 12345};
    for (int64_t delay_us : delays_us) {
        SCOPED_TRACE(delay_us);
        Shared<FireLog> log;
        Timer timer(log_fire, log.get(), pool.env());
        ASSERT_TRUE(timer);
        const int64_t armed = mono_ns();
        timer.set(relative_us(delay_us));
        ASSERT_TRUE(log->wait_for(1));
        EXPECT_ON_TIME(armed + delay_us * 1000, log->at(0).mono);
    }
}

// timer.md "Observed": absolute now + 200 ms behaves like the relative case; measured on
// CLOCK_REALTIME, the clock absolute due times run on.
TEST_P(TimerTest, AbsoluteDueTimeFiresOnceNotEarlyAndStaysSet)
{
    Pool pool(mode());
    Shared<FireLog> log;
    Timer timer(log_fire, log.get(), pool.env());
    ASSERT_TRUE(timer);
    int64_t due_real = 0;
    timer.set(absolute_in_ms(200, &due_real));
    EXPECT_TRUE(timer.is_set());
    ASSERT_TRUE(log->wait_for(1));
    EXPECT_ON_TIME(due_real, log->at(0).real);
    EXPECT_TRUE(timer.is_set());
    sleep_ms(300);
    EXPECT_EQ(1, log->count());
}

// A past absolute time expires at once: one second ago, and 1601 itself (value 1).
TEST_P(TimerTest, AbsoluteDueTimeInThePastFiresAtOnce)
{
    Pool pool(mode());
    for (bool ancient : {false, true}) {
        SCOPED_TRACE(ancient ? "1601" : "one second ago");
        Shared<FireLog> log;
        Timer timer(log_fire, log.get(), pool.env());
        ASSERT_TRUE(timer);
        const int64_t armed = mono_ns();
        if (ancient)
            timer.set(filetime_from(1));
        else
            timer.set(absolute_in_ms(-1000));
        EXPECT_TRUE(timer.is_set());
        ASSERT_TRUE(log->wait_for(1));
        EXPECT_ON_TIME(armed, log->at(0).mono);
        sleep_ms(50);
        EXPECT_EQ(1, log->count());
    }
}

// timer.md "Observed": due time 0 → callback at once (within 50 ms on Windows; late by at
// most 500 ms here), on a worker, and the timer is set.
TEST_P(TimerTest, ZeroDueTimeFiresAtOnceOnAWorker)
{
    Pool pool(mode());
    Shared<FireLog> log;
    Timer timer(log_fire, log.get(), pool.env());
    ASSERT_TRUE(timer);
    const int64_t armed = mono_ns();
    timer.set(due_now());
    EXPECT_TRUE(timer.is_set());
    ASSERT_TRUE(log->wait_for(1));
    EXPECT_ON_TIME(armed, log->at(0).mono);
    EXPECT_NE(GetCurrentThreadId(), log->at(0).thread);
    sleep_ms(100);
    EXPECT_EQ(1, log->count());
    EXPECT_TRUE(timer.is_set());
}

// Due time 0 queues the callback during the call: a wait right after it waits for it.
TEST_P(TimerTest, ZeroDueTimeQueuesTheCallbackDuringTheCall)
{
    Pool pool(mode());
    for (int i = 0; i < 50; ++i) {
        Shared<AtomicCounter> count;
        Timer timer(count_timer, count.get(), pool.env());
        ASSERT_TRUE(timer);
        timer.set(due_now());
        timer.wait(false);
        ASSERT_EQ(1, count->get()) << "iteration " << i;
    }
}

// timer.md: SetThreadpoolTimer(NULL) disarms; IsThreadpoolTimerSet → FALSE.
TEST_P(TimerTest, NullDueTimeDisarms)
{
    Pool pool(mode());
    Shared<AtomicCounter> count;
    Timer timer(count_timer, count.get(), pool.env());
    ASSERT_TRUE(timer);
    timer.set(relative_ms(100), 50, 10);
    EXPECT_TRUE(timer.is_set());
    timer.disarm();
    EXPECT_FALSE(timer.is_set());
    sleep_ms(400);
    EXPECT_EQ(0, count->get());
    EXPECT_FALSE(timer.is_set());
}

// IsThreadpoolTimerSet follows only the last Set… call: not expiry, not a cancelling wait.
TEST_P(TimerTest, IsSetIgnoresExpiryAndCancellingWaits)
{
    Pool pool(mode());
    Shared<AtomicCounter> count;
    Timer timer(count_timer, count.get(), pool.env());
    ASSERT_TRUE(timer);
    EXPECT_FALSE(timer.is_set());
    timer.set(relative_ms(10));
    ASSERT_TRUE(count->wait_for_at_least(1));
    timer.wait(false);
    EXPECT_TRUE(timer.is_set());
    timer.wait(true);
    EXPECT_TRUE(timer.is_set());
    timer.disarm();
    EXPECT_FALSE(timer.is_set());
    timer.wait(true);
    EXPECT_FALSE(timer.is_set());
    timer.set(relative_ms(10'000));
    EXPECT_TRUE(timer.is_set());
    timer.wait(true); // the schedule is untouched
    EXPECT_TRUE(timer.is_set());
    EXPECT_EQ(1, count->get());
}

// ---- SetThreadpoolTimerEx results -------------------------------------------------------------

// "TRUE exactly when the call cancelled a scheduled expiry that had not yet fired".
TEST_P(TimerTest, SetExReportsACancelledScheduledExpiry)
{
    Pool pool(mode());
    Shared<FireLog> log;
    Timer timer(log_fire, log.get(), pool.env());
    ASSERT_TRUE(timer);

    EXPECT_FALSE(timer.set_ex(relative_ms(10'000))); // was unset
    EXPECT_TRUE(timer.set_ex(relative_ms(10'000)));  // replaced a scheduled expiry
    // Replacing by an earlier one: only the new schedule fires.
    const int64_t armed = mono_ns();
    EXPECT_TRUE(timer.set_ex(relative_ms(50)));
    ASSERT_TRUE(log->wait_for(1));
    EXPECT_ON_TIME(armed + 50 * kNsPerMs, log->at(0).mono);
    timer.wait(false);

    // A fired one-shot: nothing scheduled any more.
    EXPECT_FALSE(timer.set_ex(relative_ms(10'000)));
    EXPECT_TRUE(timer.disarm_ex());
    EXPECT_FALSE(timer.disarm_ex());
    EXPECT_FALSE(timer.set_ex(relative_ms(20)));
    ASSERT_TRUE(log->wait_for(2));
    timer.wait(false);
    EXPECT_FALSE(timer.disarm_ex()); // fired one-shot
    EXPECT_FALSE(timer.is_set());

    // An absolute schedule counts the same way.
    EXPECT_FALSE(timer.set_ex(absolute_in_ms(10'000)));
    EXPECT_TRUE(timer.set_ex(absolute_in_ms(10'000)));
    EXPECT_TRUE(timer.disarm_ex());
    sleep_ms(50);
    EXPECT_EQ(2, log->count());
}

// Due time 0 posts during the call: nothing stays scheduled for a one-shot, so a following
// Ex returns FALSE; and a due-0 call that replaced a future expiry reports TRUE.
TEST_P(TimerTest, SetExWithZeroDueTime)
{
    Pool pool(mode());
    Shared<AtomicCounter> count;
    Timer timer(count_timer, count.get(), pool.env());
    ASSERT_TRUE(timer);
    EXPECT_FALSE(timer.set_ex(due_now())); // was unset
    EXPECT_FALSE(timer.disarm_ex());       // the callback is on its way: cannot be recalled
    ASSERT_TRUE(count->wait_for_at_least(1));
    timer.wait(false);

    EXPECT_FALSE(timer.set_ex(relative_ms(10'000)));
    EXPECT_TRUE(timer.set_ex(due_now())); // cancelled the 10 s expiry
    ASSERT_TRUE(count->wait_for_at_least(2));
    timer.wait(false);
    sleep_ms(50);
    EXPECT_EQ(2, count->get());

    // Periodic with due 0: the next expiry is scheduled one period from now.
    EXPECT_FALSE(timer.set_ex(due_now(), 10'000));
    EXPECT_TRUE(timer.disarm_ex());
    ASSERT_TRUE(count->wait_for_at_least(3));
    timer.wait(false);
    EXPECT_EQ(3, count->get());
}

TEST_P(TimerTest, SetExOnAPeriodicTimerWithAFutureExpiryReturnsTrue)
{
    Pool pool(mode());
    Shared<AtomicCounter> count;
    Timer timer(count_timer, count.get(), pool.env());
    ASSERT_TRUE(timer);
    EXPECT_FALSE(timer.set_ex(relative_ms(5), 20));
    ASSERT_TRUE(count->wait_for_at_least(3));
    EXPECT_TRUE(timer.set_ex(relative_ms(5), 20)); // its next expiry was scheduled
    ASSERT_TRUE(count->wait_for_at_least(5));
    EXPECT_TRUE(timer.disarm_ex());
    timer.wait(true);
    const long after = count->get();
    sleep_ms(100);
    EXPECT_EQ(after, count->get());
}

// Re-arming an absolute timer to an earlier absolute time (the kernel timeout of the
// realtime clock is moved earlier) fires at the new time, on CLOCK_REALTIME.
TEST_P(TimerTest, AbsoluteTimerMovedEarlierFiresAtTheNewTime)
{
    Pool pool(mode());
    Shared<FireLog> log, other;
    Timer timer(log_fire, log.get(), pool.env());
    Timer later(log_fire, other.get(), pool.env());
    ASSERT_TRUE(timer && later);
    later.set(absolute_in_ms(5000)); // keeps a later realtime deadline armed
    timer.set(absolute_in_ms(3000));
    sleep_ms(20);
    int64_t due_real = 0;
    timer.set(absolute_in_ms(150, &due_real));
    ASSERT_TRUE(log->wait_for(1));
    EXPECT_ON_TIME(due_real, log->at(0).real);
    EXPECT_EQ(0, other->count());
    EXPECT_TRUE(later.disarm_ex());
}

// Re-setting an armed timer replaces its schedule: the old due time never fires.
TEST_P(TimerTest, ResettingReplacesTheSchedule)
{
    Pool pool(mode());
    Shared<FireLog> log;
    Timer timer(log_fire, log.get(), pool.env());
    ASSERT_TRUE(timer);
    // Earlier → later: nothing at the old time.
    int64_t armed = mono_ns();
    timer.set(relative_ms(30));
    timer.set(relative_ms(300));
    ASSERT_TRUE(log->wait_for(1));
    EXPECT_ON_TIME(armed + 300 * kNsPerMs, log->at(0).mono);
    // Later → earlier: fires at the new time, and not again at the old one.
    armed = mono_ns();
    timer.set(relative_ms(400));
    timer.set(relative_ms(40));
    ASSERT_TRUE(log->wait_for(2));
    EXPECT_ON_TIME(armed + 40 * kNsPerMs, log->at(1).mono);
    // Relative → absolute → relative keeps only the last.
    timer.set(absolute_in_ms(60));
    armed = mono_ns();
    timer.set(relative_ms(120));
    ASSERT_TRUE(log->wait_for(3));
    EXPECT_ON_TIME(armed + 120 * kNsPerMs, log->at(2).mono);
    sleep_ms(500);
    EXPECT_EQ(3, log->count());
}

// ---- WaitForThreadpoolTimerCallbacks ------------------------------------------------------

// timer.md: does not wait for future expiries; on an armed, not yet expired timer it returns
// at once (the expiry here is 10 s away), with or without cancelling, and leaves the
// schedule alone.
TEST_P(TimerTest, WaitOnAnArmedNotExpiredTimerReturnsAtOnce)
{
    Pool pool(mode());
    Shared<AtomicCounter> count;
    Timer timer(count_timer, count.get(), pool.env());
    ASSERT_TRUE(timer);
    timer.set(relative_ms(10'000));
    const auto start = Clock::now();
    timer.wait(false);
    timer.wait(true);
    EXPECT_LT(Clock::now() - start, 5s);
    EXPECT_EQ(0, count->get());
    EXPECT_TRUE(timer.is_set());
    EXPECT_TRUE(timer.disarm_ex()); // the 10 s expiry was still scheduled
}

// The cancelling wait does not touch the schedule: the timer still fires at its due time.
TEST_P(TimerTest, CancellingWaitKeepsTheSchedule)
{
    Pool pool(mode());
    Shared<FireLog> log;
    Timer timer(log_fire, log.get(), pool.env());
    ASSERT_TRUE(timer);
    const int64_t armed = mono_ns();
    timer.set(relative_ms(150));
    timer.wait(true);
    ASSERT_TRUE(log->wait_for(1));
    EXPECT_ON_TIME(armed + 150 * kNsPerMs, log->at(0).mono);
}

// A non-cancelling wait returns only after the running callback finished.
TEST_P(TimerTest, WaitWaitsForTheRunningCallback)
{
    Pool pool(mode());
    struct State {
        AtomicFlag started;
        AtomicFlag gate;
        std::atomic<bool> finished{false};
    };
    Shared<State> state;
    Timer timer(
        [](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_TIMER) {
            auto *s = static_cast<State *>(ctx);
            s->started.set();
            s->gate.wait();
            std::this_thread::sleep_for(20ms);
            s->finished = true;
        },
        state.get(), pool.env());
    ASSERT_TRUE(timer);
    timer.set(due_now());
    ASSERT_TRUE(state->started.wait());
    DelayedAction open(100ms, [&] { state->gate.set(); });
    timer.wait(false);
    EXPECT_TRUE(state->finished.load());
}

// With a single busy worker, the cancelling wait discards the queued callback (it never
// runs) but keeps the period: the next expiry still comes.
TEST_P(TimerTest, CancellingWaitDiscardsQueuedCallbacksButKeepsThePeriod)
{
    Pool pool(mode(), 1);
    Shared<FireLog> log;
    Timer timer(log_fire, log.get(), pool.env());
    ASSERT_TRUE(timer);
    Blocker blocker;
    ASSERT_TRUE(blocker.start(pool.env()));
    const int64_t armed = mono_ns();
    timer.set(due_now(), 2000); // queues one callback now, next expiry in 2 s
    timer.wait(true);           // discards it; nothing of this timer runs
    blocker.release();
    ASSERT_TRUE(blocker.wait_finished());
    ASSERT_TRUE(drain_single_thread_pool(*pool.env()));
    EXPECT_EQ(0, log->count());
    EXPECT_TRUE(timer.is_set());
    ASSERT_TRUE(log->wait_for(1));
    EXPECT_ON_TIME(armed + 2000 * kNsPerMs, log->at(0).mono);
}

// README "Per-object counters": a wait returns as soon as Q == 0 && A == 0, also when
// another thread's cancelling wait is what emptied Q. One thread waits (without cancelling)
// for a callback queued behind a busy single worker; a second thread then cancels it: the
// first wait must return while the worker is still busy.
TEST_P(TimerTest, WaitReturnsWhenAnotherThreadCancelsTheQueuedCallback)
{
    Pool pool(mode(), 1);
    Shared<AtomicCounter> count;
    Timer timer(count_timer, count.get(), pool.env());
    ASSERT_TRUE(timer);
    Blocker blocker;
    ASSERT_TRUE(blocker.start(pool.env()));
    timer.set(due_now()); // queued behind the blocker
    AtomicFlag returned;
    std::thread waiter([&] {
        timer.wait(false);
        returned.set();
    });
    sleep_ms(100); // the waiter is (almost certainly) blocked by now
    EXPECT_FALSE(returned.is_set());
    timer.wait(true); // discards the queued callback: Q == 0, A == 0
    const bool ok = returned.wait(Millis(5000));
    EXPECT_TRUE(ok) << "WaitForThreadpoolTimerCallbacks(FALSE) still blocked after another thread's "
                       "WaitForThreadpoolTimerCallbacks(TRUE) discarded the only queued callback";
    if (!ok) {
        timer.set(due_now()); // an invocation that ends wakes the stuck waiter
        blocker.release();
    }
    waiter.join();
    blocker.release();
    ASSERT_TRUE(blocker.wait_finished());
    ASSERT_TRUE(drain_single_thread_pool(*pool.env()));
    EXPECT_EQ(ok ? 0 : 1, count->get());
}

// timer.md: callbacks that an earlier expiry already queued are not recalled by a Set… call
// (NULL or a new due time), and SetThreadpoolTimerEx says so by returning FALSE.
TEST_P(TimerTest, QueuedCallbackIsNotRecalledBySet)
{
    Pool pool(mode(), 1);
    Shared<AtomicCounter> count;
    Timer timer(count_timer, count.get(), pool.env());
    ASSERT_TRUE(timer);
    {
        Blocker blocker;
        ASSERT_TRUE(blocker.start(pool.env()));
        timer.set(due_now());
        EXPECT_FALSE(timer.disarm_ex());
        EXPECT_FALSE(timer.is_set());
        blocker.release();
        ASSERT_TRUE(blocker.wait_finished());
    }
    ASSERT_TRUE(count->wait_for_at_least(1));
    {
        Blocker blocker;
        ASSERT_TRUE(blocker.start(pool.env()));
        timer.set(due_now());
        EXPECT_FALSE(timer.set_ex(relative_ms(10'000)));
        blocker.release();
        ASSERT_TRUE(blocker.wait_finished());
    }
    ASSERT_TRUE(count->wait_for_at_least(2));
    EXPECT_TRUE(timer.disarm_ex()); // the 10 s expiry
    timer.wait(false);
    EXPECT_EQ(2, count->get());
}

// ---- CloseThreadpoolTimer ----------------------------------------------------------------

// Closing disarms: an armed timer never fires after its close.
TEST_P(TimerTest, CloseDisarms)
{
    Pool pool(mode());
    Shared<AtomicCounter> count;
    PTP_TIMER timer = CreateThreadpoolTimer(count_timer, count.get(), pool.env());
    ASSERT_NE(nullptr, timer);
    FILETIME due = relative_ms(100);
    SetThreadpoolTimer(timer, &due, 20, 0);
    CloseThreadpoolTimer(timer);
    sleep_ms(400);
    EXPECT_EQ(0, count->get());
}

// Closing returns at once and lets already queued callbacks run.
TEST_P(TimerTest, CloseLetsTheQueuedCallbackRun)
{
    Pool pool(mode(), 1);
    Shared<AtomicCounter> count;
    PTP_TIMER timer = CreateThreadpoolTimer(count_timer, count.get(), pool.env());
    ASSERT_NE(nullptr, timer);
    Blocker blocker;
    ASSERT_TRUE(blocker.start(pool.env()));
    FILETIME due = due_now();
    SetThreadpoolTimer(timer, &due, 0, 0);
    CloseThreadpoolTimer(timer);
    EXPECT_EQ(0, count->get());
    blocker.release();
    ASSERT_TRUE(count->wait_for_at_least(1));
    ASSERT_TRUE(drain_single_thread_pool(*pool.env()));
    EXPECT_EQ(1, count->get());
}

// Microsoft's shutdown sequence on a timer in every state, then close.
TEST_P(TimerTest, ShutdownSequenceInEveryState)
{
    Pool pool(mode());
    Shared<AtomicCounter> count;
    for (int state = 0; state < 5; ++state) {
        SCOPED_TRACE(state);
        PTP_TIMER timer = CreateThreadpoolTimer(count_timer, count.get(), pool.env());
        ASSERT_NE(nullptr, timer);
        FILETIME due;
        switch (state) {
        case 0: // never set
            break;
        case 1: // armed, far away
            due = relative_ms(10'000);
            SetThreadpoolTimer(timer, &due, 0, 0);
            break;
        case 2: // periodic, firing
            due = due_now();
            SetThreadpoolTimer(timer, &due, 1, 0);
            break;
        case 3: // absolute
            due = absolute_in_ms(5);
            SetThreadpoolTimer(timer, &due, 0, 0);
            break;
        case 4: // fired one-shot
            due = due_now();
            SetThreadpoolTimer(timer, &due, 0, 0);
            WaitForThreadpoolTimerCallbacks(timer, FALSE);
            break;
        }
        SetThreadpoolTimer(timer, nullptr, 0, 0);
        WaitForThreadpoolTimerCallbacks(timer, TRUE);
        const long after = count->get();
        CloseThreadpoolTimer(timer);
        sleep_ms(30);
        EXPECT_EQ(after, count->get());
    }
}

// ---- Extreme values ----------------------------------------------------------------------

// Far-future relative and absolute times never fire (and do not overflow into the past).
TEST_P(TimerTest, FarFutureDueTimesDoNotFire)
{
    Pool pool(mode());
    Shared<AtomicCounter> count;
    const int64_t values[] = {-INT64_MAX, INT64_MIN, INT64_MAX, -(int64_t(1) << 62), int64_t(1) << 62};
    std::vector<std::unique_ptr<Timer>> timers;
    for (int64_t value : values) {
        timers.push_back(std::make_unique<Timer>(count_timer, count.get(), pool.env()));
        ASSERT_TRUE(*timers.back());
        timers.back()->set(filetime_from(value), 10);
        EXPECT_TRUE(timers.back()->is_set());
    }
    sleep_ms(200);
    EXPECT_EQ(0, count->get());
    for (auto &timer : timers)
        EXPECT_TRUE(timer->disarm_ex()) << "the expiry should still have been scheduled";
}

// The same with a window: due + window must not wrap around into the past (which would fire
// it, or make the ring owner spin on a deadline that is always already passed). The process
// is otherwise idle, so it must use well under a fifth of a CPU while the timers wait.
TEST_P(TimerTest, FarFutureDueTimesWithAWindowDoNotFireOrSpin)
{
    Pool pool(mode());
    Shared<AtomicCounter> count;
    const int64_t values[] = {-INT64_MAX, INT64_MAX};
    std::vector<std::unique_ptr<Timer>> timers;
    for (int64_t value : values) {
        timers.push_back(std::make_unique<Timer>(count_timer, count.get(), pool.env()));
        ASSERT_TRUE(*timers.back());
        timers.back()->set(filetime_from(value), 0, 1000);
    }
    sleep_ms(50);
    const int64_t cpu_before = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    const int64_t wall_before = mono_ns();
    sleep_ms(300);
    const int64_t cpu_used = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu_before;
    const int64_t wall = mono_ns() - wall_before;
    EXPECT_EQ(0, count->get());
    EXPECT_LT(cpu_used, wall / 5) << "the process burned " << ms_of(cpu_used) << " ms of CPU in " << ms_of(wall)
                                  << " ms while only far-future timers were armed";
    for (auto &timer : timers)
        EXPECT_TRUE(timer->disarm_ex());
}

// ⚠ 13 recommended: a period above 0x7FFFFFFF is unsigned milliseconds (about 24.8 days),
// not a negative or tiny period.
TEST_P(TimerTest, HugePeriodIsUnsignedMilliseconds)
{
    Pool pool(mode());
    Shared<AtomicCounter> count;
    Timer timer(count_timer, count.get(), pool.env());
    ASSERT_TRUE(timer);
    timer.set(due_now(), 0x80000000u, 0xFFFFFFFFu);
    ASSERT_TRUE(count->wait_for_at_least(1));
    sleep_ms(200);
    EXPECT_EQ(1, count->get());
    EXPECT_TRUE(timer.disarm_ex()); // the next expiry, weeks away, was scheduled
}

} // namespace
