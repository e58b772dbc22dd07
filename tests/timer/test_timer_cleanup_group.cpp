// Thread-pool timers as cleanup-group members (spec/timer.md, cleanup-group.md): cancel
// callbacks, armed and queued members at group teardown, and teardown racing the expiry.
#include "timer_support.h"

namespace {

using namespace tmtest;

// ---- Cleanup groups ---------------------------------------------------------------------------

struct GroupEnv {
    explicit GroupEnv(Pool &pool, PTP_CLEANUP_GROUP_CANCEL_CALLBACK cancel = nullptr)
    {
        group = CreateThreadpoolCleanupGroup();
        env = *pool.env();
        SetThreadpoolCallbackCleanupGroup(&env, group, cancel);
    }
    ~GroupEnv() { CloseThreadpoolCleanupGroup(group); }
    PTP_CLEANUP_GROUP group;
    TP_CALLBACK_ENVIRON env;
};

struct CancelRecord {
    std::atomic<int> calls{0};
    std::atomic<PVOID> object_context{nullptr};
    std::atomic<PVOID> cleanup_context{nullptr};
    std::atomic<DWORD> thread{0};
};
CancelRecord *g_cancel_record = nullptr;

void CALLBACK record_cancel(PVOID object_context, PVOID cleanup_context)
{
    g_cancel_record->calls.fetch_add(1);
    g_cancel_record->object_context = object_context;
    g_cancel_record->cleanup_context = cleanup_context;
    g_cancel_record->thread = GetCurrentThreadId();
}

// timer.md / cleanup-group.md "Observed": a never-set timer in a group with a cancel
// callback: CloseThreadpoolCleanupGroupMembers(TRUE, ctx) calls the cancel callback once,
// with the timer's context, on the calling thread, and never the timer callback.
TEST_P(TimerLifecycleTest, NeverSetTimerInAGroupGetsOneCancelCallback)
{
    Pool pool(mode());
    CancelRecord record;
    g_cancel_record = &record;
    GroupEnv group(pool, record_cancel);
    Shared<AtomicCounter> count;
    PTP_TIMER timer = CreateThreadpoolTimer(count_timer, count.get(), &group.env);
    ASSERT_NE(nullptr, timer);
    int cleanup_context = 0;
    CloseThreadpoolCleanupGroupMembers(group.group, TRUE, &cleanup_context);
    EXPECT_EQ(1, record.calls.load());
    EXPECT_EQ(count.get(), record.object_context.load());
    EXPECT_EQ(&cleanup_context, record.cleanup_context.load());
    EXPECT_EQ(GetCurrentThreadId(), record.thread.load());
    EXPECT_EQ(0, count->get());
    g_cancel_record = nullptr;
}

// An armed periodic timer in a group is stopped by the group: no callback after
// CloseThreadpoolCleanupGroupMembers returns, with or without cancelling; with cancelling,
// its cancel callback runs once.
TEST_P(TimerLifecycleTest, ArmedTimersStopWhenTheGroupClosesItsMembers)
{
    Pool pool(mode());
    for (BOOL cancel : {FALSE, TRUE}) {
        SCOPED_TRACE(cancel ? "cancel" : "no cancel");
        CancelRecord record;
        g_cancel_record = &record;
        GroupEnv group(pool, record_cancel);
        struct State {
            AtomicCounter count;
            std::atomic<bool> closed{false};
            std::atomic<int> after_close{0};
        };
        Shared<State> state;
        auto callback = [](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_TIMER) {
            auto *s = static_cast<State *>(ctx);
            if (s->closed.load())
                s->after_close.fetch_add(1);
            s->count.increment();
        };
        PTP_TIMER periodic = CreateThreadpoolTimer(callback, state.get(), &group.env);
        PTP_TIMER future = CreateThreadpoolTimer(callback, state.get(), &group.env);
        ASSERT_TRUE(periodic && future);
        FILETIME due = due_now();
        SetThreadpoolTimer(periodic, &due, 2, 0);
        due = relative_ms(150);
        SetThreadpoolTimer(future, &due, 0, 0);
        ASSERT_TRUE(state->count.wait_for_at_least(3));
        CloseThreadpoolCleanupGroupMembers(group.group, cancel, nullptr);
        state->closed = true;
        sleep_ms(300);
        EXPECT_EQ(0, state->after_close.load());
        EXPECT_EQ(cancel ? 2 : 0, record.calls.load());
        g_cancel_record = nullptr;
    }
}

// cleanup-group.md: with FALSE, a callback already queued runs before the call returns; with
// TRUE it is discarded and the cancel callback runs instead.
TEST_P(TimerLifecycleTest, QueuedTimerCallbackAndGroupTeardown)
{
    for (BOOL cancel : {FALSE, TRUE}) {
        SCOPED_TRACE(cancel ? "cancel" : "no cancel");
        Pool pool(mode(), 1);
        CancelRecord record;
        g_cancel_record = &record;
        GroupEnv group(pool, record_cancel);
        Shared<AtomicCounter> count;
        PTP_TIMER timer = CreateThreadpoolTimer(count_timer, count.get(), &group.env);
        ASSERT_NE(nullptr, timer);
        Blocker blocker;
        ASSERT_TRUE(blocker.start(pool.env()));
        FILETIME due = due_now();
        SetThreadpoolTimer(timer, &due, 0, 0); // queued behind the blocker
        DelayedAction unblock(100ms, [&] { blocker.release(); });
        CloseThreadpoolCleanupGroupMembers(group.group, cancel, nullptr);
        EXPECT_EQ(cancel ? 0 : 1, count->get());
        EXPECT_EQ(cancel ? 1 : 0, record.calls.load());
        g_cancel_record = nullptr;
    }
}

// timer.md / cleanup-group.md "Observed": a due-0 timer in a group whose callback closes its
// own timer (after signalling, here with and without a 200 ms pause) while the main thread
// runs CloseThreadpoolCleanupGroupMembers(group, FALSE, NULL): no crash, no double free,
// and the callback ran once.
TEST_P(TimerLifecycleTest, DueZeroTimerClosingItselfDuringGroupTeardown)
{
    Pool pool(mode());
    const long iterations = scaled(40, 8);
    for (long i = 0; i < iterations; ++i) {
        SCOPED_TRACE(i);
        GroupEnv group(pool);
        struct State {
            AtomicFlag signalled;
            AtomicCounter calls;
            int pause_ms = 0;
        };
        Shared<State> state;
        state->pause_ms = (i < 2) ? 200 : static_cast<int>(i % 3);
        PTP_TIMER timer = CreateThreadpoolTimer(
            [](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_TIMER self) {
                auto *s = static_cast<State *>(ctx);
                s->calls.increment();
                s->signalled.set();
                std::this_thread::sleep_for(Millis(s->pause_ms));
                CloseThreadpoolTimer(self);
            },
            state.get(), &group.env);
        ASSERT_NE(nullptr, timer);
        FILETIME due = due_now();
        SetThreadpoolTimer(timer, &due, 0, 0);
        if (i % 2 == 0) {
            ASSERT_TRUE(state->signalled.wait());
        }
        CloseThreadpoolCleanupGroupMembers(group.group, FALSE, nullptr);
        EXPECT_EQ(1, state->calls.get());
    }
}

// cleanup-group.md: once CloseThreadpoolCleanupGroupMembers returned, no member produces a
// callback any more (timers are disarmed in step 2; with FALSE, queued callbacks ran before
// the return). Raced against the expiry: 64 member timers due in ~1 ms, the group closed
// right around that time.
TEST_P(TimerLifecycleTest, GroupTeardownRacingTheExpiry)
{
    Pool pool(mode());
    constexpr int kTimers = 64;
    struct State {
        std::atomic<bool> closed{false};
        std::atomic<long> violations{0};
        std::atomic<long> calls{0};
    };
    Shared<State> state;
    const long rounds = scaled(200, 25);
    for (long round = 0; round < rounds; ++round) {
        GroupEnv group(pool);
        state->closed = false;
        for (int i = 0; i < kTimers; ++i) {
            PTP_TIMER timer = CreateThreadpoolTimer(
                [](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_TIMER) {
                    auto *s = static_cast<State *>(ctx);
                    if (s->closed.load())
                        s->violations.fetch_add(1);
                    s->calls.fetch_add(1);
                },
                state.get(), &group.env);
            ASSERT_NE(nullptr, timer);
            FILETIME due = relative_us(1000);
            SetThreadpoolTimer(timer, &due, 0, 0);
        }
        const int64_t until = mono_ns() + (700 + (round % 7) * 100) * 1000;
        while (mono_ns() < until) {
        }
        CloseThreadpoolCleanupGroupMembers(group.group, round % 2 ? TRUE : FALSE, nullptr);
        state->closed = true;
    }
    sleep_ms(100);
    EXPECT_EQ(0, state->violations.load())
        << "member callbacks started after CloseThreadpoolCleanupGroupMembers had returned (of "
        << state->calls.load() << ")";
}

} // namespace
