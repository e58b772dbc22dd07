// Thread-pool timers changed from inside their own callback (spec/timer.md, README "What may
// be called from inside a callback"): re-arming, reprogramming, disarming and closing, and
// cancel-then-wait racing the expiry. Cleanup groups and the callback environment are in
// test_timer_cleanup_group.cpp and test_timer_callbacks.cpp (same executable).
#include "timer_support.h"

#include <random>

namespace {

using namespace tmtest;

// The one instantiation of the suite: it also runs the TEST_Ps of test_timer_cleanup_group.cpp
// and test_timer_callbacks.cpp, linked into the same executable.
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

} // namespace
