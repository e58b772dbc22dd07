// Cleanup groups: membership, CloseThreadpoolCleanupGroupMembers with and without
// cancelling (members never submitted, queued, running, disassociated, closed individually,
// closing themselves during teardown), the cancel callback, reuse, and
// CloseThreadpoolCleanupGroup (spec/cleanup-group.md, README "Fine points").
#include "../common/test_support.h"

namespace {

using namespace tptest;

// A member object's context: its behaviour (set before the first submission) and what
// happened to it.
struct Member {
    bool hold = false;       // block on tokens until the test releases one
    Millis pause{0};         // then sleep this long
    bool disassociate = false;
    bool close_self = false; // CloseThreadpoolWork on itself before returning
    PTP_WORK work = nullptr;

    Tokens tokens;
    Counter started;
    std::atomic<int> running{0};
    std::atomic<long> finished{0};
    std::atomic<int> timed_out{0};
    std::atomic<int> cancels{0};
    std::atomic<int> cancelled_while_running{0};
    std::atomic<DWORD> cancel_thread{0};
    std::atomic<PVOID> cleanup_context{nullptr};
};

void member_body(PTP_CALLBACK_INSTANCE instance, Member *m)
{
    m->running++;
    m->started.increment();
    if (m->disassociate)
        DisassociateCurrentThreadFromCallback(instance);
    if (m->hold && !m->tokens.acquire(kLongTimeout))
        m->timed_out++;
    if (m->pause.count())
        std::this_thread::sleep_for(m->pause);
    m->finished++;
}

void CALLBACK member_work(PTP_CALLBACK_INSTANCE instance, PVOID ctx, PTP_WORK work)
{
    auto *m = static_cast<Member *>(ctx);
    member_body(instance, m);
    if (m->close_self)
        CloseThreadpoolWork(work);
    m->running--;
}

void CALLBACK member_simple(PTP_CALLBACK_INSTANCE instance, PVOID ctx)
{
    auto *m = static_cast<Member *>(ctx);
    member_body(instance, m);
    m->running--;
}

void CALLBACK member_cancel(PVOID object_context, PVOID cleanup_context)
{
    auto *m = static_cast<Member *>(object_context);
    if (m->running.load() != 0)
        m->cancelled_while_running++;
    m->cancel_thread = GetCurrentThreadId();
    m->cleanup_context = cleanup_context;
    m->cancels++;
}

// A cleanup group with an environment on a pool whose objects become members.
class Group {
public:
    explicit Group(Pool &pool, PTP_CLEANUP_GROUP_CANCEL_CALLBACK cancel = member_cancel)
    {
        group_ = CreateThreadpoolCleanupGroup();
        if (!group_)
            throw std::runtime_error("CreateThreadpoolCleanupGroup failed");
        env_ = *pool.env();
        SetThreadpoolCallbackCleanupGroup(&env_, group_, cancel);
    }
    ~Group() { CloseThreadpoolCleanupGroup(group_); }
    Group(const Group &) = delete;
    Group &operator=(const Group &) = delete;

    PTP_CLEANUP_GROUP get() const { return group_; }
    PTP_CALLBACK_ENVIRON env() { return &env_; }
    PTP_WORK add_work(Member &m)
    {
        m.work = CreateThreadpoolWork(member_work, &m, &env_);
        if (!m.work)
            throw std::runtime_error("CreateThreadpoolWork failed");
        return m.work;
    }
    bool add_simple(Member &m) { return TrySubmitThreadpoolCallback(member_simple, &m, &env_); }
    void close_members(BOOL cancel, PVOID context = nullptr)
    {
        CloseThreadpoolCleanupGroupMembers(group_, cancel, context);
    }

private:
    PTP_CLEANUP_GROUP group_ = nullptr;
    TP_CALLBACK_ENVIRON env_{};
};

void submit(PTP_WORK work, int times)
{
    for (int i = 0; i < times; ++i)
        SubmitThreadpoolWork(work);
}

// ---- No posting -----------------------------------------------------------------------

TEST(CleanupGroupBasics, CreateCloseMembersOfEmptyGroupAndClose)
{
    SetLastError(0x4242);
    PTP_CLEANUP_GROUP group = CreateThreadpoolCleanupGroup();
    ASSERT_NE(nullptr, group);
    EXPECT_EQ(0x4242u, GetLastError());
    CloseThreadpoolCleanupGroupMembers(group, FALSE, nullptr);
    CloseThreadpoolCleanupGroupMembers(group, TRUE, nullptr);
    CloseThreadpoolCleanupGroup(group);
}

// ---- Teardown (both dispatch modes) ---------------------------------------------------

class CleanupGroupTest : public DispatchTest {};
TPTEST_INSTANTIATE_DISPATCH_MODES(CleanupGroupTest);

// The cancel callback runs once per member, also for a member never submitted, with the
// object's context and the cleanup context, on the calling thread.
TEST_P(CleanupGroupTest, NeverSubmittedMemberGetsOneCancelCallbackOnTheCallingThread)
{
    Pool pool(mode());
    Group group(pool);
    Shared<Member> m;
    group.add_work(*m);
    int marker = 0;
    group.close_members(TRUE, &marker);
    EXPECT_EQ(1, m->cancels.load());
    EXPECT_EQ(GetCurrentThreadId(), m->cancel_thread.load());
    EXPECT_EQ(&marker, m->cleanup_context.load());
    EXPECT_EQ(0, m->started.get());
}

TEST_P(CleanupGroupTest, NoCancelCallbackWithoutCancelling)
{
    Pool pool(mode());
    Group group(pool);
    Shared<Member> never, ran;
    group.add_work(*never);
    submit(group.add_work(*ran), 2);
    ASSERT_TRUE(group.add_simple(*ran));
    group.close_members(FALSE);
    EXPECT_EQ(3, ran->finished.load());
    EXPECT_EQ(0, never->cancels.load());
    EXPECT_EQ(0, ran->cancels.load());
}

// Without cancelling, every queued callback runs before the call returns.
TEST_P(CleanupGroupTest, QueuedCallbacksRunBeforeReturnWithoutCancel)
{
    Pool pool(mode(), 1);
    Blocker blocker; // not a member: holds the only thread
    ASSERT_TRUE(blocker.start(pool.env()));
    Group group(pool);
    Shared<Member> work_member, simple_member;
    submit(group.add_work(*work_member), 5);
    for (int i = 0; i < 3; ++i)
        ASSERT_TRUE(group.add_simple(*simple_member));
    DelayedAction release(100ms, [&] { blocker.release(); });
    group.close_members(FALSE);
    EXPECT_EQ(5, work_member->finished.load());
    EXPECT_EQ(3, simple_member->finished.load());
}

// With cancelling, queued callbacks never run, and each member gets one cancel callback
// however many posts were discarded.
TEST_P(CleanupGroupTest, QueuedCallbacksAreDiscardedWithCancel)
{
    Pool pool(mode(), 1);
    Blocker blocker;
    ASSERT_TRUE(blocker.start(pool.env()));
    Group group(pool);
    Shared<Member> work_member, simple_a, simple_b;
    submit(group.add_work(*work_member), 5);
    ASSERT_TRUE(group.add_simple(*simple_a));
    ASSERT_TRUE(group.add_simple(*simple_b));
    group.close_members(TRUE); // no member runs: returns without waiting for the blocker
    EXPECT_FALSE(blocker.finished());
    EXPECT_EQ(1, work_member->cancels.load());
    EXPECT_EQ(1, simple_a->cancels.load());
    EXPECT_EQ(1, simple_b->cancels.load());
    blocker.release();
    ASSERT_TRUE(drain_single_thread_pool(*pool.env()));
    EXPECT_EQ(0, work_member->started.get());
    EXPECT_EQ(0, simple_a->started.get());
    EXPECT_EQ(0, simple_b->started.get());
}

// Wine: a work object posted twice on a one-thread pool, the first callback running: the
// cancel callback runs on the calling thread only after the running callback finished.
TEST_P(CleanupGroupTest, CancelCallbackRunsAfterTheMembersRunningCallbackFinished)
{
    Pool pool(mode(), 1);
    Group group(pool);
    Shared<Member> m;
    m->hold = true;
    submit(group.add_work(*m), 2);
    ASSERT_TRUE(m->started.wait_for_at_least(1));
    int marker = 0;
    {
        TokenDripper dripper(m->tokens);
        group.close_members(TRUE, &marker);
    }
    EXPECT_GE(m->finished.load(), 1);
    EXPECT_EQ(m->started.get(), m->finished.load());
    EXPECT_EQ(1, m->cancels.load());
    EXPECT_EQ(0, m->cancelled_while_running.load());
    EXPECT_EQ(GetCurrentThreadId(), m->cancel_thread.load());
    EXPECT_EQ(&marker, m->cleanup_context.load());
    EXPECT_EQ(0, m->timed_out.load());
}

// Wine: ten posts of a slow callback on a one-thread pool, then a cancelling teardown: at
// most five ran, and the cancel callback ran exactly once, on the calling thread.
TEST_P(CleanupGroupTest, TenSlowPostsCancelledLeaveFewRunsAndOneCancelCallback)
{
    Pool pool(mode(), 1);
    Group group(pool);
    Shared<Member> m;
    m->hold = true;
    submit(group.add_work(*m), 10);
    ASSERT_TRUE(m->started.wait_for_at_least(1));
    {
        TokenDripper dripper(m->tokens, 100ms, 100ms);
        group.close_members(TRUE, m.get());
    }
    EXPECT_LE(m->finished.load(), 5);
    EXPECT_EQ(1, m->cancels.load());
    EXPECT_EQ(GetCurrentThreadId(), m->cancel_thread.load());
}

struct SimpleTally {
    Tokens tokens;
    std::atomic<int> ran{0};
    std::atomic<int> cancels{0};
    std::atomic<int> cancels_off_thread{0};
    DWORD caller = GetCurrentThreadId();
};

// Wine: 100 simple callbacks on a pool of maximum 10, cancelled through the group: fewer
// than 100 ran. Each one either ran or was cancelled (cancel callback), never both.
TEST_P(CleanupGroupTest, HundredSimpleCallbacksCancelledThroughTheGroup)
{
    constexpr int kPosts = 100;
    Pool pool(mode(), 10);
    Shared<SimpleTally> tally;
    Group group(pool, [](PVOID ctx, PVOID) {
        auto *t = static_cast<SimpleTally *>(ctx);
        if (GetCurrentThreadId() != t->caller)
            t->cancels_off_thread++;
        t->cancels++;
    });
    for (int i = 0; i < kPosts; ++i)
        ASSERT_TRUE(TrySubmitThreadpoolCallback(
            [](PTP_CALLBACK_INSTANCE, PVOID ctx) {
                auto *t = static_cast<SimpleTally *>(ctx);
                t->tokens.acquire(kLongTimeout);
                t->ran++;
            },
            tally.get(), group.env()));
    {
        TokenDripper dripper(tally->tokens, 100ms, 50ms);
        group.close_members(TRUE);
    }
    tally->tokens.release(kPosts); // nothing may still be waiting, but never leave one stuck
    EXPECT_LT(tally->ran.load(), kPosts);
    EXPECT_EQ(kPosts, tally->ran.load() + tally->cancels.load());
    EXPECT_EQ(0, tally->cancels_off_thread.load());
}

// A simple callback that has started gets no cancel callback; the teardown waits for it.
TEST_P(CleanupGroupTest, StartedSimpleCallbackIsWaitedForWithoutCancelCallback)
{
    Pool pool(mode());
    Group group(pool);
    Shared<Member> m;
    m->hold = true;
    ASSERT_TRUE(group.add_simple(*m));
    ASSERT_TRUE(m->started.wait_for_at_least(1));
    {
        TokenDripper dripper(m->tokens);
        group.close_members(TRUE);
    }
    EXPECT_EQ(1, m->finished.load());
    EXPECT_EQ(0, m->cancels.load());
}

// Wine: a work callback that closes its own object while the main thread is inside a
// cancelling teardown: no cancel callback, no double release.
TEST_P(CleanupGroupTest, MemberClosingItselfDuringTeardownGetsNoCancelCallback)
{
    Pool pool(mode());
    Group group(pool);
    Shared<Member> m;
    m->hold = true;
    m->close_self = true;
    submit(group.add_work(*m), 1);
    ASSERT_TRUE(m->started.wait_for_at_least(1));
    {
        TokenDripper dripper(m->tokens);
        group.close_members(TRUE);
    }
    EXPECT_EQ(1, m->finished.load());
    EXPECT_EQ(0, m->cancels.load());
}

// Wine: members whose callbacks close their own object 200 ms after signalling, while the
// main thread is inside a non-cancelling teardown: no crash, no double free.
TEST_P(CleanupGroupTest, MembersClosingThemselvesDuringTeardownWithoutCancel)
{
    Pool pool(mode());
    Group group(pool);
    Shared<Member> a, b, c;
    for (Member *m : {a.get(), b.get(), c.get()}) {
        m->pause = 200ms;
        m->close_self = true;
        submit(group.add_work(*m), 1);
    }
    ASSERT_TRUE(a->started.wait_for_at_least(1));
    group.close_members(FALSE);
    for (Member *m : {a.get(), b.get(), c.get()}) {
        EXPECT_EQ(1, m->finished.load());
        EXPECT_EQ(0, m->running.load());
        EXPECT_EQ(0, m->cancels.load());
    }
}

// A member closed individually with callbacks still queued stays a member: it is waited
// for, but not released a second time.
TEST_P(CleanupGroupTest, IndividuallyClosedMemberIsWaitedForWithoutCancel)
{
    Pool pool(mode(), 1);
    Blocker blocker;
    ASSERT_TRUE(blocker.start(pool.env()));
    Group group(pool);
    Shared<Member> m;
    PTP_WORK work = group.add_work(*m);
    submit(work, 3);
    CloseThreadpoolWork(work);
    DelayedAction release(100ms, [&] { blocker.release(); });
    group.close_members(FALSE);
    EXPECT_EQ(3, m->finished.load());
    EXPECT_EQ(0, m->cancels.load());
}

// With cancelling, its queued callbacks are discarded, and it gets no cancel callback.
TEST_P(CleanupGroupTest, IndividuallyClosedMemberGetsNoCancelCallback)
{
    Pool pool(mode(), 1);
    Blocker blocker;
    ASSERT_TRUE(blocker.start(pool.env()));
    Group group(pool);
    Shared<Member> closed, open;
    PTP_WORK work = group.add_work(*closed);
    submit(work, 3);
    CloseThreadpoolWork(work);
    submit(group.add_work(*open), 1);
    group.close_members(TRUE);
    EXPECT_EQ(0, closed->cancels.load());
    EXPECT_EQ(1, open->cancels.load());
    blocker.release();
    ASSERT_TRUE(drain_single_thread_pool(*pool.env()));
    EXPECT_EQ(0, closed->started.get());
    EXPECT_EQ(0, open->started.get());
}

// Wine: a member callback that disassociates and then keeps running still holds up the
// teardown until it returns.
TEST_P(CleanupGroupTest, DisassociatedCallbackStillHoldsTheTeardown)
{
    Pool pool(mode());
    Group group(pool);
    Shared<Member> m;
    m->disassociate = true;
    m->pause = 200ms;
    submit(group.add_work(*m), 1);
    ASSERT_TRUE(m->started.wait_for_at_least(1));
    group.close_members(FALSE);
    EXPECT_EQ(1, m->finished.load());
    EXPECT_EQ(0, m->running.load());
}

// One member in each state for a teardown on a two-thread pool: never submitted, running
// (held), running (held) and closing itself during the teardown, queued behind them (3
// posts), and closed individually with 2 posts queued.
struct MembersInEveryState {
    Shared<Member> never, queued, running, closed, self_closing;

    ::testing::AssertionResult set_up(Group &group)
    {
        running->hold = true;
        self_closing->hold = true;
        self_closing->close_self = true;
        group.add_work(*never);
        submit(group.add_work(*running), 1);
        submit(group.add_work(*self_closing), 1);
        if (!running->started.wait_for_at_least(1))
            return ::testing::AssertionFailure() << "the running member did not start";
        if (!self_closing->started.wait_for_at_least(1))
            return ::testing::AssertionFailure() << "the self-closing member did not start";
        submit(group.add_work(*queued), 3); // both threads are busy: these stay queued
        PTP_WORK closed_work = group.add_work(*closed);
        submit(closed_work, 2);
        CloseThreadpoolWork(closed_work);
        return ::testing::AssertionSuccess();
    }

    // The held members are released one token at a time while the teardown runs.
    void close_members(Group &group, BOOL cancel)
    {
        TokenDripper drip_running(running->tokens);
        TokenDripper drip_self_closing(self_closing->tokens);
        group.close_members(cancel);
    }
};

// Every member state at once, cancelling: never submitted, queued, running, closed
// individually with posts queued, and closing itself during the teardown.
TEST_P(CleanupGroupTest, MembersInEveryStateWithCancel)
{
    Pool pool(mode(), 2);
    Group group(pool);
    MembersInEveryState members;
    ASSERT_TRUE(members.set_up(group));
    members.close_members(group, TRUE);
    auto &[never, queued, running, closed, self_closing] = members;
    for (Member *m : {never.get(), queued.get(), running.get()}) {
        EXPECT_EQ(1, m->cancels.load());
        EXPECT_EQ(GetCurrentThreadId(), m->cancel_thread.load());
        EXPECT_EQ(0, m->cancelled_while_running.load());
    }
    EXPECT_EQ(0, closed->cancels.load());
    EXPECT_EQ(0, self_closing->cancels.load());
    EXPECT_EQ(1, running->finished.load());
    EXPECT_EQ(1, self_closing->finished.load());
    // Discarded posts (all of them, unless the main thread stalled for a drip interval).
    EXPECT_LT(queued->finished.load() + closed->finished.load(), 5);
    EXPECT_EQ(0, never->started.get());
}

// The same states without cancelling: everything queued runs, nobody gets a cancel callback.
TEST_P(CleanupGroupTest, MembersInEveryStateWithoutCancel)
{
    Pool pool(mode(), 2);
    Group group(pool);
    MembersInEveryState members;
    ASSERT_TRUE(members.set_up(group));
    members.close_members(group, FALSE);
    auto &[never, queued, running, closed, self_closing] = members;
    EXPECT_EQ(3, queued->finished.load());
    EXPECT_EQ(2, closed->finished.load());
    EXPECT_EQ(1, running->finished.load());
    EXPECT_EQ(1, self_closing->finished.load());
    EXPECT_EQ(0, never->started.get());
    for (Member *m : {never.get(), queued.get(), running.get(), closed.get(), self_closing.get()})
        EXPECT_EQ(0, m->cancels.load());
}

// The group keeps collecting objects created with the environment after a teardown.
TEST_P(CleanupGroupTest, GroupIsReusableAfterClosingMembers)
{
    Pool pool(mode());
    Group group(pool);
    Shared<Member> first, second, third;
    submit(group.add_work(*first), 1);
    group.close_members(FALSE);
    EXPECT_EQ(1, first->finished.load());

    submit(group.add_work(*second), 2);
    group.close_members(FALSE);
    EXPECT_EQ(2, second->finished.load());

    group.add_work(*third);
    group.close_members(TRUE);
    EXPECT_EQ(1, third->cancels.load());
    EXPECT_EQ(0, first->cancels.load()); // released earlier: not a member any more
    EXPECT_EQ(0, second->cancels.load());
}

TEST_P(CleanupGroupTest, MembersMayBelongToDifferentPools)
{
    Pool first_pool(mode());
    Pool second_pool(mode(), 1);
    Group group(first_pool);
    TP_CALLBACK_ENVIRON second_env = *group.env();
    SetThreadpoolCallbackPool(&second_env, second_pool.get());
    Shared<Member> a, b;
    a->pause = b->pause = 50ms;
    submit(group.add_work(*a), 2);
    b->work = CreateThreadpoolWork(member_work, b.get(), &second_env);
    ASSERT_NE(nullptr, b->work);
    submit(b->work, 2);
    group.close_members(FALSE);
    EXPECT_EQ(2, a->finished.load());
    EXPECT_EQ(2, b->finished.load());
    EXPECT_EQ(2u, second_pool.stats().callbacks_run);
}

TEST_P(CleanupGroupTest, CancellingWithoutACancelCallbackStillDiscards)
{
    Pool pool(mode(), 1);
    Blocker blocker;
    ASSERT_TRUE(blocker.start(pool.env()));
    Group group(pool, nullptr);
    Shared<Member> m;
    submit(group.add_work(*m), 3);
    ASSERT_TRUE(group.add_simple(*m));
    group.close_members(TRUE);
    blocker.release();
    ASSERT_TRUE(drain_single_thread_pool(*pool.env()));
    EXPECT_EQ(0, m->started.get());
    EXPECT_EQ(0, m->cancels.load());
}

struct NonMemberProbe {
    std::atomic<long> ran{0};
};

struct TrackedMember {
    NonMemberProbe *other = nullptr;
    std::atomic<long> ran{0};
    std::atomic<long> other_ran_at_last{-1};
};

// Wine: A (no group) posted 10 times and B (in the group) 3 times on a one-thread pool:
// the teardown returns after B's three callbacks while fewer than ten of A's have run.
TEST_P(CleanupGroupTest, TeardownWaitsOnlyForMembers)
{
    Pool pool(mode(), 1);
    Group group(pool);
    Shared<NonMemberProbe> a_state;
    Shared<TrackedMember> b_state;
    b_state->other = a_state.get();
    PTP_WORK a = CreateThreadpoolWork(
        [](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WORK) {
            std::this_thread::sleep_for(20ms);
            static_cast<NonMemberProbe *>(ctx)->ran++;
        },
        a_state.get(), pool.env());
    ASSERT_NE(nullptr, a);
    PTP_WORK b = CreateThreadpoolWork(
        [](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WORK) {
            auto *t = static_cast<TrackedMember *>(ctx);
            if (++t->ran == 3)
                t->other_ran_at_last = t->other->ran.load();
        },
        b_state.get(), group.env());
    ASSERT_NE(nullptr, b);
    submit(a, 10);
    submit(b, 3);
    group.close_members(FALSE);
    EXPECT_EQ(3, b_state->ran.load());
    EXPECT_GE(b_state->other_ran_at_last.load(), 0);
    EXPECT_LT(b_state->other_ran_at_last.load(), 10);
    WaitForThreadpoolWorkCallbacks(a, FALSE);
    CloseThreadpoolWork(a);
    EXPECT_EQ(10, a_state->ran.load());
}

// Closing a group that still has members: the group lives on until they go (Wine;
// recommended). The member stays usable and is then closed individually.
TEST_P(CleanupGroupTest, ClosingAGroupWithMembersKeepsItAliveForThem)
{
    Pool pool(mode());
    PTP_CLEANUP_GROUP group = CreateThreadpoolCleanupGroup();
    ASSERT_NE(nullptr, group);
    TP_CALLBACK_ENVIRON env = *pool.env();
    SetThreadpoolCallbackCleanupGroup(&env, group, member_cancel);
    Shared<Member> m;
    PTP_WORK work = CreateThreadpoolWork(member_work, m.get(), &env);
    ASSERT_NE(nullptr, work);
    CloseThreadpoolCleanupGroup(group);
    submit(work, 2);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
    EXPECT_EQ(2, m->finished.load());
    EXPECT_EQ(0, m->cancels.load());
}

} // namespace
