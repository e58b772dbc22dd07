// Signal hand-off (lib/kobj/signal_watcher.h): in a direct-dispatch pool an armed wait on an
// event or semaphore is satisfied by the signalling thread itself, which acquires the
// object and queues the callback; the ring owner cleans up afterwards. These tests pin what
// that path must keep from the general contract: callbacks run on workers, never inside
// SetEvent; a repeating registration re-arms before its callback ends, so signals that
// arrive during a long callback are not merged; a cancelled hand-over leaves the wait
// usable; a handed-over arming's timeout never fires; arming survives a change of dispatch
// mode.
#include "wait_support.h"

namespace {

using namespace waittest;

// The first callback blocks until the gate opens; later ones only count.
struct BlockingRegistration {
    std::atomic<bool> first_claimed{false};
    Flag first_entered;
    Flag gate;
    Flag first_finished;
    std::atomic<long> fired{0};
    std::atomic<long> timed_out{0};
    Counter calls;
};

void CALLBACK block_first_registration_call(PVOID ctx, BOOLEAN timer_or_wait_fired)
{
    auto *r = static_cast<BlockingRegistration *>(ctx);
    ++(timer_or_wait_fired ? r->timed_out : r->fired);
    if (!r->first_claimed.exchange(true)) {
        r->first_entered.set();
        if (!r->gate.wait(kLongTimeout))
            ADD_FAILURE() << "gate never opened";
        r->first_finished.set();
    }
    r->calls.increment();
}

// Releases one unit, waits until the first callback blocks, then releases two more one at
// a time: each must be taken by the registration (not merged, not left in the semaphore)
// while the first callback still blocks.
void expect_every_release_taken_during_a_blocked_callback(DWORD timeout_ms)
{
    Handle sem = make_semaphore(0, 10);
    Shared<BlockingRegistration> r;
    HANDLE h = nullptr;
    ASSERT_TRUE(RegisterWaitForSingleObject(&h, sem, block_first_registration_call, r.get(), timeout_ms,
                                            WT_EXECUTEDEFAULT));
    settle(50ms); // linked: the first release is handed over too
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    ASSERT_TRUE(r->first_entered.wait());
    for (long more = 1; more <= 2; ++more) {
        ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
        EXPECT_TRUE(eventually([&] { return r->fired.load() == 1 + more; })) << "release " << more + 1;
    }
    EXPECT_FALSE(r->first_finished.is_set());
    r->gate.set();
    EXPECT_TRUE(r->calls.wait_for_at_least(3));
    EXPECT_TRUE(UnregisterWaitEx(h, INVALID_HANDLE_VALUE));
    EXPECT_EQ(3, r->fired.load());
    EXPECT_EQ(0, r->timed_out.load());
    EXPECT_EQ(0, drain_units(sem)) << "a release was left in the semaphore";
}

TEST(WaitHandoff, RepeatingRegistrationTakesEveryReleaseDuringItsBlockedCallback)
{
    expect_every_release_taken_during_a_blocked_callback(INFINITE);
}

// With a timeout every trigger restarts it, which is the owner's work: that must still
// happen before the callback ends.
TEST(WaitHandoff, RepeatingRegistrationWithATimeoutTakesEveryReleaseDuringItsBlockedCallback)
{
    expect_every_release_taken_during_a_blocked_callback(60000);
}

TEST(WaitHandoff, CallbackRunsOnAWorkerNotInsideSetEvent)
{
    Pool pool(TPURING_DISPATCH_DIRECT);
    Handle event = make_event(false, false);
    Shared<Entered> e;
    WaitObject wait(gated_wait, e.get(), pool.env());
    SetThreadpoolWait(wait, event, nullptr);
    settle(100ms); // let the owner link the arming
    ASSERT_TRUE(SetEvent(event)); // returns although the callback blocks until the gate opens
    ASSERT_TRUE(e->entered.wait());
    EXPECT_FALSE(e->finished.is_set());
    e->gate.set();
    ASSERT_TRUE(e->finished.wait());
    EXPECT_EQ(WAIT_OBJECT_0, e->result.load());
    EXPECT_EQ(1, e->calls.load());
    EXPECT_FALSE(signaled_now(event)) << "the wait did not reset the auto-reset event";
}

TEST(WaitHandoff, CallbackThreadIsNotTheSignallingThread)
{
    Pool pool(TPURING_DISPATCH_DIRECT);
    Handle event = make_event(false, false);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    for (int round = 0; round < 20; ++round) {
        SetThreadpoolWait(wait, event, nullptr);
        if (round % 2)
            settle(5ms); // sometimes linked before the signal, sometimes not yet
        ASSERT_TRUE(SetEvent(event));
        ASSERT_TRUE(log->wait_calls(round + 1)) << round;
        EXPECT_NE(GetCurrentThreadId(), log->thread.load()) << round;
    }
    EXPECT_EQ(20, log->signalled.load());
}

// A handed-over callback cancelled before it starts: the signal stays consumed (as on
// Windows, where the wait took it), and the wait works when armed again.
TEST(WaitHandoff, CancelledHandOverLeavesTheWaitUsable)
{
    Pool single(TPURING_DISPATCH_DIRECT, 1);
    Handle sem = make_semaphore(0, 10);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), single.env());
    {
        Blocker blocker; // the only worker: the callback stays queued
        ASSERT_TRUE(blocker.start(single.env()));
        SetThreadpoolWait(wait, sem, nullptr);
        settle(50ms); // linked, so that the release below is handed over
        ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
        // Taken inside ReleaseSemaphore, by the signalling thread.
        ASSERT_EQ(0, semaphore_count(sem)) << "the release was not handed to the linked wait";
        WaitForThreadpoolWaitCallbacks(wait, TRUE);
    }
    ASSERT_TRUE(drain_single_thread_pool(*single.env()));
    EXPECT_EQ(0, log->calls.get()) << "the cancelled callback ran";
    EXPECT_EQ(0, semaphore_count(sem)) << "the cancelled wait gave its unit back";

    SetThreadpoolWait(wait, sem, nullptr);
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(WAIT_OBJECT_0, log->last_result.load());
    settle(100ms);
    EXPECT_EQ(1, log->calls.get());
}

// Two hand-overs before either callback starts (the wait re-set in between): both
// callbacks run, and each arming's reference is given back. A lost reference would keep
// the wait, and with it the pool and its ring-owner thread, alive after everything is
// closed.
TEST(WaitHandoff, ReSetWhileAHandedOverCallbackIsStillQueued)
{
    const long threads_before = thread_count();
    auto single = std::make_unique<Pool>(TPURING_DISPATCH_DIRECT, 1);
    Handle sem = make_semaphore(0, 10);
    Shared<WaitLog> log;
    {
        WaitObject wait(log_wait, log.get(), single->env());
        Blocker blocker; // the only worker: both callbacks stay queued
        ASSERT_TRUE(blocker.start(single->env()));
        for (int round = 0; round < 2; ++round) {
            SetThreadpoolWait(wait, sem, nullptr);
            settle(50ms); // linked
            ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
            ASSERT_EQ(0, semaphore_count(sem)) << "round " << round << ": not handed over";
        }
        EXPECT_EQ(0, log->calls.get());
        blocker.release();
        ASSERT_TRUE(log->wait_calls(2));
        WaitForThreadpoolWaitCallbacks(wait, FALSE);
    }
    EXPECT_EQ(2, log->signalled.load());
    settle(100ms);
    EXPECT_EQ(2, log->calls.get());
    single.reset(); // closes the pool: its threads end once nothing references it
    EXPECT_TRUE(eventually([&] { return thread_count() <= threads_before; }))
        << threads_before << " threads before, " << thread_count() << " now";
}

// The hand-over happens on the signalling thread while the arming's timeout is still in
// the owner's timer structure: that timeout must never produce a callback.
TEST(WaitHandoff, HandedOverArmingsTimeoutNeverFires)
{
    Pool pool(TPURING_DISPATCH_DIRECT);
    Handle event = make_event(false, false);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    FILETIME timeout = relative_ms(200);
    SetThreadpoolWait(wait, event, &timeout);
    settle(20ms);
    ASSERT_TRUE(SetEvent(event));
    ASSERT_TRUE(log->wait_calls(1));
    settle(500ms);
    EXPECT_EQ(1, log->calls.get());
    EXPECT_EQ(1, log->signalled.load());
    EXPECT_EQ(0, log->timeouts.load());
}

// Each arming watches the way its pool's mode said when it was applied; a mode change
// between arming and signal still delivers exactly one callback per signal.
TEST(WaitHandoff, ArmingsSurviveDispatchModeChanges)
{
    Pool pool(TPURING_DISPATCH_DIRECT);
    Handle event = make_event(false, false);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    const tpuring_dispatch_mode sequence[] = {TPURING_DISPATCH_RING, TPURING_DISPATCH_DIRECT, TPURING_DISPATCH_RING,
                                              TPURING_DISPATCH_DIRECT};
    long expected = 0;
    for (tpuring_dispatch_mode next : sequence) {
        SetThreadpoolWait(wait, event, nullptr);
        settle(20ms); // applied in the current mode
        ASSERT_TRUE(tpuring_set_pool_dispatch(pool.get(), next));
        ASSERT_TRUE(SetEvent(event));
        ASSERT_TRUE(log->wait_calls(++expected)) << "after switching to mode " << next;
        EXPECT_FALSE(signaled_now(event));
    }
    settle(100ms);
    EXPECT_EQ(expected, log->calls.get());
    EXPECT_EQ(expected, log->signalled.load());
}

// Many waits linked on one semaphore: a release of n units satisfies exactly n of them,
// and closing the others while linked leaves nothing behind (checked by the leak-checking
// builds as well).
TEST(WaitHandoff, ReleaseOfSeveralUnitsSatisfiesThatManyLinkedWaits)
{
    constexpr int kWaits = 12;
    Pool pool(TPURING_DISPATCH_DIRECT);
    Handle sem = make_semaphore(0, 100);
    Shared<WaitLog> log;
    std::vector<PTP_WAIT> waits;
    for (int i = 0; i < kWaits; ++i) {
        PTP_WAIT wait = CreateThreadpoolWait(log_wait, log.get(), pool.env());
        ASSERT_NE(nullptr, wait);
        SetThreadpoolWait(wait, sem, nullptr);
        waits.push_back(wait);
    }
    settle(50ms);
    ASSERT_TRUE(ReleaseSemaphore(sem, 5, nullptr));
    ASSERT_TRUE(log->wait_calls(5));
    settle(100ms);
    EXPECT_EQ(5, log->calls.get());
    EXPECT_EQ(WAIT_TIMEOUT, WaitForSingleObject(sem, 0)) << "units left although waits were armed";
    for (PTP_WAIT wait : waits) {
        WaitForThreadpoolWaitCallbacks(wait, FALSE);
        CloseThreadpoolWait(wait);
    }
    settle(100ms);
    EXPECT_EQ(5, log->calls.get());
    EXPECT_EQ(0, drain_units(sem));
}

} // namespace
