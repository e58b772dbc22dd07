// Thread-pool timers and their callbacks (spec/timer.md, README "What may be called from
// inside a callback", cleanup-group.md, callback-instance.md, pool-and-environment.md §5):
// re-arming, disarming and closing from inside the callback, cancel-then-wait, cleanup
// groups, priorities, callback-instance actions and the finalization callback.
#include "timer_support.h"

#include <random>

namespace {

using namespace tmtest;

void CALLBACK count_timer(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_TIMER)
{
    static_cast<AtomicCounter *>(ctx)->increment();
}

class TimerLifecycleTest : public DispatchTest {};
TPTEST_INSTANTIATE_DISPATCH_MODES(TimerLifecycleTest);

// ---- Inside the callback ------------------------------------------------------------------

// timer.md: a one-shot timer may re-arm itself from its callback, with a new due time.
TEST_P(TimerLifecycleTest, OneShotRearmsItselfFromItsCallback)
{
    Pool pool(mode());
    struct State {
        FireLog log;
        std::atomic<int64_t> rearmed_at[8] = {};
        std::atomic<int> rearms{0};
    };
    Shared<State> state;
    Timer timer(
        [](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_TIMER self) {
            auto *s = static_cast<State *>(ctx);
            s->log.record();
            int n = s->rearms.load();
            if (n < 5) {
                s->rearmed_at[n + 1] = mono_ns();
                s->rearms = n + 1;
                FILETIME due = relative_ms(20);
                EXPECT_FALSE(SetThreadpoolTimerEx(self, &due, 0, 0)); // its own expiry fired
            }
        },
        state.get(), pool.env());
    ASSERT_TRUE(timer);
    state->rearmed_at[0] = mono_ns();
    timer.set(relative_ms(20));
    ASSERT_TRUE(state->log.wait_for(6));
    sleep_ms(100);
    EXPECT_EQ(6, state->log.count());
    const auto fires = state->log.fires();
    for (int k = 0; k < 6; ++k)
        EXPECT_ON_TIME(state->rearmed_at[k].load() + 20 * kNsPerMs, fires[k].mono) << "callback " << k;
    EXPECT_TRUE(timer.is_set());
}

// A periodic timer's callback replaces the schedule with a one-shot: one more callback at
// the new time, then none.
TEST_P(TimerLifecycleTest, PeriodicTimerReprogrammedFromItsCallback)
{
    Pool pool(mode());
    struct State {
        FireLog log;
        std::atomic<int64_t> rearmed_at{0};
        std::atomic<int> calls{0};
        std::atomic<BOOL> ex_result{-1};
    };
    Shared<State> state;
    Timer timer(
        [](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_TIMER self) {
            auto *s = static_cast<State *>(ctx);
            s->log.record();
            if (++s->calls == 2) {
                s->rearmed_at = mono_ns();
                FILETIME due = relative_ms(300);
                s->ex_result = SetThreadpoolTimerEx(self, &due, 0, 0); // the next periodic expiry was pending
            }
        },
        state.get(), pool.env());
    ASSERT_TRUE(timer);
    timer.set(relative_ms(200), 200);
    ASSERT_TRUE(state->log.wait_for(3));
    sleep_ms(600);
    EXPECT_EQ(3, state->log.count());
    EXPECT_EQ(TRUE, state->ex_result.load());
    EXPECT_ON_TIME(state->rearmed_at.load() + 300 * kNsPerMs, state->log.at(2).mono);
}

// A periodic timer disarmed from its 3rd callback runs exactly 3 times and is no longer set.
TEST_P(TimerLifecycleTest, PeriodicTimerDisarmedFromItsCallback)
{
    Pool pool(mode());
    struct State {
        AtomicCounter count;
        std::atomic<BOOL> ex_result{-1};
    };
    Shared<State> state;
    Timer timer(
        [](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_TIMER self) {
            auto *s = static_cast<State *>(ctx);
            if (s->count.increment() == 3)
                s->ex_result = SetThreadpoolTimerEx(self, nullptr, 0, 0);
        },
        state.get(), pool.env());
    ASSERT_TRUE(timer);
    timer.set(relative_ms(200), 200);
    ASSERT_TRUE(state->count.wait_for_at_least(3));
    sleep_ms(600);
    EXPECT_EQ(3, state->count.get());
    EXPECT_EQ(TRUE, state->ex_result.load()); // it cancelled the 4th expiry
    EXPECT_FALSE(timer.is_set());
}

// timer.md: CloseThreadpoolTimer is allowed from the timer's own callback; the timer stops.
TEST_P(TimerLifecycleTest, PeriodicTimerClosesItselfFromItsCallback)
{
    Pool pool(mode());
    struct State {
        AtomicCounter count;
        std::atomic<bool> closed{false};
        AtomicFlag done;
    };
    Shared<State> state;
    PTP_TIMER timer = CreateThreadpoolTimer(
        [](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_TIMER self) {
            auto *s = static_cast<State *>(ctx);
            s->count.increment();
            if (!s->closed.exchange(true)) {
                CloseThreadpoolTimer(self);
                s->done.set();
            }
        },
        state.get(), pool.env());
    ASSERT_NE(nullptr, timer);
    FILETIME due = relative_ms(10);
    SetThreadpoolTimer(timer, &due, 500, 0);
    ASSERT_TRUE(state->done.wait());
    sleep_ms(1200);
    EXPECT_EQ(1, state->count.get());
}

// Many due-0 timers that close themselves in their callback (use-after-free checks under
// ASan; the callback's object stays valid until it returns).
TEST_P(TimerLifecycleTest, ManyOneShotTimersCloseThemselvesFromTheCallback)
{
    Pool pool(mode());
    struct State {
        AtomicCounter closed;
    };
    Shared<State> state;
    const long kCount = scaled(400, 40);
    for (long i = 0; i < kCount; ++i) {
        PTP_TIMER timer = CreateThreadpoolTimer(
            [](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_TIMER self) {
                FILETIME due = relative_ms(1000); // arming after close must not outlive it
                SetThreadpoolTimer(self, &due, 0, 0);
                CloseThreadpoolTimer(self);
                static_cast<State *>(ctx)->closed.increment();
            },
            state.get(), pool.env());
        ASSERT_NE(nullptr, timer);
        FILETIME due = (i % 2) ? due_now() : relative_us(100);
        SetThreadpoolTimer(timer, &due, 0, 0);
    }
    ASSERT_TRUE(state->closed.wait_for_at_least(kCount));
    sleep_ms(1200);
    EXPECT_EQ(kCount, state->closed.get());
}

// README: the callback may close its timer and then re-arm it is undefined, but re-arming
// first and then closing is allowed: the close disarms what the callback just armed.
TEST_P(TimerLifecycleTest, RearmThenCloseFromTheCallbackDoesNotFireAgain)
{
    Pool pool(mode());
    Shared<AtomicCounter> count;
    PTP_TIMER timer = CreateThreadpoolTimer(
        [](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_TIMER self) {
            static_cast<AtomicCounter *>(ctx)->increment();
            FILETIME due = relative_ms(50);
            SetThreadpoolTimer(self, &due, 10, 0);
            CloseThreadpoolTimer(self);
        },
        count.get(), pool.env());
    ASSERT_NE(nullptr, timer);
    FILETIME due = relative_ms(5);
    SetThreadpoolTimer(timer, &due, 0, 0);
    ASSERT_TRUE(count->wait_for_at_least(1));
    sleep_ms(300);
    EXPECT_EQ(1, count->get());
}

// The callback may disassociate and then wait for its own timer's other callbacks.
TEST_P(TimerLifecycleTest, DisassociatedCallbackLetsTheWaitReturn)
{
    Pool pool(mode());
    struct State {
        AtomicFlag disassociated;
        AtomicFlag gate;
        AtomicFlag finished;
    };
    Shared<State> state;
    Timer timer(
        [](PTP_CALLBACK_INSTANCE instance, PVOID ctx, PTP_TIMER self) {
            auto *s = static_cast<State *>(ctx);
            DisassociateCurrentThreadFromCallback(instance);
            WaitForThreadpoolTimerCallbacks(self, FALSE); // waits only for the others: none
            s->disassociated.set();
            s->gate.wait();
            s->finished.set();
        },
        state.get(), pool.env());
    ASSERT_TRUE(timer);
    timer.set(due_now());
    ASSERT_TRUE(state->disassociated.wait());
    timer.wait(false); // returns although the callback still runs
    EXPECT_FALSE(state->finished.is_set());
    state->gate.set();
    ASSERT_TRUE(state->finished.wait());
}

// ---- Cancel, then wait --------------------------------------------------------------------

// Microsoft's shutdown sequence: after SetThreadpoolTimer(NULL) and
// WaitForThreadpoolTimerCallbacks(TRUE) return, no callback of the timer runs any more.
// Periodic 1 ms timers (several at once, callbacks taking 0-2 ms) are stopped repeatedly;
// a flag set after the wait must never be seen by a callback.
TEST_P(TimerLifecycleTest, CancelThenWaitLeavesNoCallbackRunning)
{
    Pool pool(mode());
    constexpr int kTimers = 8;
    struct Slot {
        std::atomic<bool> stopped{false};
        std::atomic<bool> running{false};
        std::atomic<long> calls{0};
    };
    struct State {
        Slot slots[kTimers];
        std::atomic<long> violations{0};
    };
    Shared<State> state;
    struct Ctx {
        State *state;
        int index;
    };
    Ctx contexts[kTimers];
    std::vector<std::unique_ptr<Timer>> timers;
    for (int i = 0; i < kTimers; ++i) {
        contexts[i] = {state.get(), i};
        timers.push_back(std::make_unique<Timer>(
            [](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_TIMER) {
                auto *c = static_cast<Ctx *>(ctx);
                Slot &slot = c->state->slots[c->index];
                slot.running = true;
                if (slot.stopped.load())
                    c->state->violations.fetch_add(1);
                const long n = slot.calls.fetch_add(1);
                std::this_thread::sleep_for(std::chrono::microseconds((n % 3) * 700));
                if (slot.stopped.load())
                    c->state->violations.fetch_add(1);
                slot.running = false;
            },
            &contexts[i], pool.env()));
        ASSERT_TRUE(*timers.back());
    }
    const long rounds = scaled(20, 5);
    std::mt19937 rng(42);
    for (long round = 0; round < rounds; ++round) {
        for (int i = 0; i < kTimers; ++i) {
            state->slots[i].stopped = false;
            FILETIME due = (i % 2) ? due_now() : relative_us(rng() % 3000);
            SetThreadpoolTimer(*timers[i], &due, 1, 0);
        }
        sleep_ms(5 + rng() % 20);
        for (int i = 0; i < kTimers; ++i) {
            timers[i]->disarm();
            timers[i]->wait(true);
            EXPECT_FALSE(state->slots[i].running.load()) << "round " << round << " timer " << i;
            state->slots[i].stopped = true;
        }
    }
    sleep_ms(100); // observe: nothing may run after the waits
    EXPECT_EQ(0, state->violations.load());
    long total = 0;
    for (auto &slot : state->slots)
        total += slot.calls.load();
    EXPECT_GT(total, 0);
}

// The same, racing the expiry itself: one-shot timers due ~now are cancelled and waited for
// right around their expiry, many at once so that the expiry is processed as a batch.
TEST_P(TimerLifecycleTest, CancelThenWaitRacingTheExpiry)
{
    Pool pool(mode());
    constexpr int kTimers = 64;
    struct Slot {
        std::atomic<bool> stopped{false};
        std::atomic<long> calls{0};
    };
    struct State {
        Slot slots[kTimers];
        std::atomic<long> violations{0};
    };
    Shared<State> state;
    struct Ctx {
        State *state;
        int index;
    };
    Ctx contexts[kTimers];
    std::vector<std::unique_ptr<Timer>> timers;
    for (int i = 0; i < kTimers; ++i) {
        contexts[i] = {state.get(), i};
        timers.push_back(std::make_unique<Timer>(
            [](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_TIMER) {
                auto *c = static_cast<Ctx *>(ctx);
                Slot &slot = c->state->slots[c->index];
                if (slot.stopped.load())
                    c->state->violations.fetch_add(1);
                slot.calls.fetch_add(1);
            },
            &contexts[i], pool.env()));
        ASSERT_TRUE(*timers.back());
    }
    const long rounds = scaled(500, 50);
    std::mt19937 rng(7);
    for (long round = 0; round < rounds; ++round) {
        const int64_t delay_us = 500 + rng() % 1500;
        for (int i = 0; i < kTimers; ++i) {
            state->slots[i].stopped = false;
            timers[i]->set(relative_us(delay_us));
        }
        // Spin until about the due time (±), then stop them all in order.
        const int64_t until = mono_ns() + (delay_us - 300 + int64_t(rng() % 600)) * 1000;
        while (mono_ns() < until) {
        }
        for (int i = 0; i < kTimers; ++i) {
            timers[i]->disarm();
            timers[i]->wait(true);
            state->slots[i].stopped = true;
        }
    }
    sleep_ms(100);
    EXPECT_EQ(0, state->violations.load()) << "callbacks ran after SetThreadpoolTimer(NULL) + "
                                              "WaitForThreadpoolTimerCallbacks(TRUE) had returned";
}

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
        TimerBlocker blocker;
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
        TimerBlocker blocker;
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
        ASSERT_TRUE(drain_one_thread_pool(*pool.env()));
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
