// Thread-pool waits as cleanup-group members (spec/cleanup-group.md, wait.md): cancel
// callbacks, disarming, queued and running callbacks during
// CloseThreadpoolCleanupGroupMembers, and members that close themselves meanwhile.
#include "wait_support.h"

namespace {

using namespace waittest;

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
TEST_P(WaitGroupTest, NeverSetWaitGetsTheCancelCallbackOnce)
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
TEST_P(WaitGroupTest, ArmedWaitIsDisarmedAndCancelledOnce)
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

TEST_P(WaitGroupTest, ArmedWaitWithoutCancelGetsNoCancelCallbackAndStops)
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
TEST_P(WaitGroupTest, QueuedCallbackIsDiscardedWithCancel)
{
    Pool single(mode(), 1);
    TP_CALLBACK_ENVIRON single_env = *single.env();
    SetThreadpoolCallbackCleanupGroup(&single_env, group, record_cancel);
    Handle sem = make_semaphore(1, 1);
    Shared<WaitLog> log;
    Shared<CancelLog> cancel;
    PTP_WAIT wait = CreateThreadpoolWait(log_wait, log.get(), &single_env);
    ASSERT_NE(nullptr, wait);
    Blocker blocker;
    ASSERT_TRUE(queue_behind_blocker(blocker, single.env(), wait, sem));
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

TEST_P(WaitGroupTest, QueuedCallbackRunsWithoutCancelBeforeTheCallReturns)
{
    Pool single(mode(), 1);
    TP_CALLBACK_ENVIRON single_env = *single.env();
    SetThreadpoolCallbackCleanupGroup(&single_env, group, record_cancel);
    Handle sem = make_semaphore(1, 1);
    Shared<WaitLog> log;
    Shared<CancelLog> cancel;
    PTP_WAIT wait = CreateThreadpoolWait(log_wait, log.get(), &single_env);
    ASSERT_NE(nullptr, wait);
    Blocker blocker;
    ASSERT_TRUE(queue_behind_blocker(blocker, single.env(), wait, sem));
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
TEST_P(WaitGroupTest, CancelCallbackRunsAfterTheRunningCallbackEnded)
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

TEST_P(WaitGroupTest, MemberClosingItselfDuringCloseMembersWithoutCancel)
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
TEST_P(WaitGroupTest, MemberClosingItselfDuringCloseMembersWithCancel)
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

TPTEST_INSTANTIATE_DISPATCH_MODES(WaitGroupTest);

} // namespace
