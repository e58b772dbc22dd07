// What a thread-pool timer callback runs with (spec/timer.md, callback-instance.md,
// pool-and-environment.md §5): the priority of its environment, callback-instance return
// actions, the finalization callback, CallbackMayRunLong, and the pool it keeps alive.
#include "timer_support.h"

namespace {

using namespace tmtest;

// ---- Priorities ---------------------------------------------------------------------------------

// pool-and-environment.md §5: a free worker takes HIGH before NORMAL before LOW. Timers
// whose expiries queued behind a busy single worker start in priority order — for due-0
// arming and for relative expiries alike.
TEST_P(TimerLifecycleTest, TimerCallbacksStartInPriorityOrder)
{
    for (bool zero_due : {true, false}) {
        SCOPED_TRACE(zero_due ? "due 0" : "relative");
        Pool pool(mode(), 1);
        Shared<OrderLog> order;
        struct Ctx {
            OrderLog *log;
            int label;
        };
        const TP_CALLBACK_PRIORITY priorities[] = {TP_CALLBACK_PRIORITY_LOW, TP_CALLBACK_PRIORITY_NORMAL,
                                                   TP_CALLBACK_PRIORITY_HIGH};
        Ctx contexts[3];
        std::vector<std::unique_ptr<Timer>> timers;
        for (int i = 0; i < 3; ++i) {
            contexts[i] = {order.get(), static_cast<int>(priorities[i])};
            TP_CALLBACK_ENVIRON env = env_with_priority(*pool.env(), priorities[i]);
            timers.push_back(std::make_unique<Timer>(
                [](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_TIMER) {
                    auto *c = static_cast<Ctx *>(ctx);
                    c->log->add(c->label);
                },
                &contexts[i], &env));
            ASSERT_TRUE(*timers.back());
        }
        Blocker blocker;
        ASSERT_TRUE(blocker.start(pool.env()));
        for (auto &timer : timers)
            timer->set(zero_due ? due_now() : relative_ms(5)); // LOW first, HIGH last
        if (!zero_due)
            sleep_ms(400); // all three expire while the worker is busy
        // Ring-mode posts reach the run queue through the ring, after the call returned.
        ASSERT_TRUE(eventually([&] { return pool.stats().ready_objects == 3; }));
        blocker.release();
        ASSERT_TRUE(blocker.wait_finished());
        for (auto &timer : timers)
            timer->wait(false);
        ASSERT_TRUE(drain_single_thread_pool(*pool.env()));
        const std::vector<int> expected = {TP_CALLBACK_PRIORITY_HIGH, TP_CALLBACK_PRIORITY_NORMAL,
                                           TP_CALLBACK_PRIORITY_LOW};
        EXPECT_EQ(expected, order->labels());
    }
}

// ---- Callback instance and environment ----------------------------------------------------------

// callback-instance.md: SetEventWhenCallbackReturns / ReleaseSemaphoreWhenCallbackReturns
// from a timer callback act after the callback returned.
TEST_P(TimerLifecycleTest, ReturnActionsFromATimerCallback)
{
    Pool pool(mode());
    struct State {
        HANDLE event = nullptr;
        HANDLE semaphore = nullptr;
        std::atomic<bool> returning{false};
        std::atomic<bool> event_early{false};
    };
    Handle event = make_event(true, false);
    Handle semaphore = make_semaphore(0, 5);
    Shared<State> state;
    state->event = event;
    state->semaphore = semaphore;
    Timer timer(
        [](PTP_CALLBACK_INSTANCE instance, PVOID ctx, PTP_TIMER) {
            auto *s = static_cast<State *>(ctx);
            SetEventWhenCallbackReturns(instance, s->event);
            ReleaseSemaphoreWhenCallbackReturns(instance, s->semaphore, 2);
            std::this_thread::sleep_for(50ms);
            s->event_early = WaitForSingleObject(s->event, 0) == WAIT_OBJECT_0;
            s->returning = true;
        },
        state.get(), pool.env());
    ASSERT_TRUE(timer);
    timer.set(relative_ms(10));
    ASSERT_TRUE(signaled_within(event));
    EXPECT_TRUE(state->returning.load());
    EXPECT_FALSE(state->event_early.load());
    EXPECT_TRUE(signaled_now(semaphore));
    EXPECT_TRUE(signaled_now(semaphore));
    EXPECT_FALSE(signaled_now(semaphore));
    timer.wait(false);
}

// README "Invocation sequence": the environment's finalization callback runs after every
// timer callback, on the same thread, with the timer's context; return actions follow it,
// and WaitForThreadpoolTimerCallbacks returns only after all of that.
TEST_P(TimerLifecycleTest, FinalizationCallbackRunsAfterEveryTimerCallback)
{
    Pool pool(mode());
    struct State {
        OrderLog order;
        std::atomic<DWORD> callback_thread{0};
        std::atomic<int> thread_mismatch{0};
        std::atomic<PVOID> finalization_context{nullptr};
        AtomicCounter finalized;
    };
    Shared<State> state;
    TP_CALLBACK_ENVIRON env = *pool.env();
    TpSetCallbackFinalizationCallback(&env, [](PTP_CALLBACK_INSTANCE, PVOID ctx) {
        auto *s = static_cast<State *>(ctx);
        s->order.add(2);
        if (s->callback_thread.load() != GetCurrentThreadId())
            s->thread_mismatch.fetch_add(1);
        s->finalization_context = ctx;
        s->finalized.increment();
    });
    Timer timer(
        [](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_TIMER) {
            auto *s = static_cast<State *>(ctx);
            s->callback_thread = GetCurrentThreadId();
            s->order.add(1);
            std::this_thread::sleep_for(5ms);
        },
        state.get(), &env);
    ASSERT_TRUE(timer);
    timer.set(relative_ms(5), 40);
    ASSERT_TRUE(state->finalized.wait_for_at_least(3));
    timer.disarm();
    timer.wait(true);
    const auto labels = state->order.labels();
    ASSERT_EQ(0u, labels.size() % 2) << "wait returned before a finalization callback ran";
    for (size_t i = 0; i < labels.size(); ++i)
        EXPECT_EQ(i % 2 == 0 ? 1 : 2, labels[i]) << "position " << i;
    EXPECT_EQ(0, state->thread_mismatch.load());
    EXPECT_EQ(state.get(), state->finalization_context.load());
}

// callback-instance.md: CallbackMayRunLong from a timer callback: FALSE on a one-thread pool
// (at its maximum), TRUE on a pool that can start another thread; with the environment's
// runs-long flag it is TRUE at once.
TEST_P(TimerLifecycleTest, CallbackMayRunLongFromATimerCallback)
{
    struct Case {
        DWORD max_threads;
        bool runs_long;
        BOOL expected;
    };
    for (const Case &c : {Case{1, false, FALSE}, Case{4, false, TRUE}, Case{1, true, TRUE}}) {
        SCOPED_TRACE(testing::Message() << "max " << c.max_threads << (c.runs_long ? " runs-long" : ""));
        Pool pool(mode(), c.max_threads);
        TP_CALLBACK_ENVIRON env = *pool.env();
        if (c.runs_long)
            SetThreadpoolCallbackRunsLong(&env);
        struct State {
            std::atomic<BOOL> result{-1};
            AtomicFlag done;
        };
        Shared<State> state;
        Timer timer(
            [](PTP_CALLBACK_INSTANCE instance, PVOID ctx, PTP_TIMER) {
                auto *s = static_cast<State *>(ctx);
                s->result = CallbackMayRunLong(instance);
                s->done.set();
            },
            state.get(), &env);
        ASSERT_TRUE(timer);
        timer.set(relative_ms(1));
        ASSERT_TRUE(state->done.wait());
        EXPECT_EQ(c.expected, state->result.load());
        timer.wait(false);
    }
}

// README lifetime: a timer keeps its pool alive. Closing the pool while a timer is armed
// does not stop the timer.
TEST_P(TimerLifecycleTest, ArmedTimerKeepsItsClosedPoolAlive)
{
    Pool pool(mode());
    Shared<FireLog> log;
    Timer timer(log_fire, log.get(), pool.env());
    ASSERT_TRUE(timer);
    const int64_t armed = mono_ns();
    timer.set(relative_ms(100), 30);
    CloseThreadpool(pool.release());
    ASSERT_TRUE(log->wait_for(3));
    EXPECT_ON_TIME(armed + 100 * kNsPerMs, log->at(0).mono);
    timer.shutdown();
}

} // namespace
