// Thread-pool timers at scale (issue 3 "Tests"): 100,000 timers armed at once with random
// due times, each firing exactly once and never early; many timers with one due time;
// set/cancel pairs that never fire; and four threads setting and cancelling timers while
// they fire. TPURING_TEST_SCALE shrinks the counts.
#include "timer_support.h"

#include <random>

namespace {

using namespace tmtest;

class TimerStressTest : public DispatchTest {};
TPTEST_INSTANTIATE_DISPATCH_MODES(TimerStressTest);

struct OnceSlot {
    std::atomic<int> count{0};
    int64_t due = 0; // monotonic ns, written before arming
    std::atomic<int64_t> fired{0};
};

struct OnceState {
    explicit OnceState(size_t n) : slots(n) {}
    std::vector<OnceSlot> slots;
    AtomicCounter fired;
};

struct OnceCtx {
    OnceState *state;
    size_t index;
};

void CALLBACK once_callback(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_TIMER)
{
    auto *c = static_cast<OnceCtx *>(ctx);
    OnceSlot &slot = c->state->slots[c->index];
    slot.fired = mono_ns();
    slot.count.fetch_add(1);
    c->state->fired.increment();
}

// Arms `n` timers (created first, so arming never allocates) with due times from
// `due_us(i)`, waits until all fired once, and checks: each exactly once, never early.
void arm_many_and_check(Pool &pool, size_t n, const std::function<int64_t(size_t)> &due_us)
{
    Shared<OnceState> state(n);
    std::vector<OnceCtx> contexts(n);
    std::vector<PTP_TIMER> timers(n, nullptr);
    for (size_t i = 0; i < n; ++i) {
        contexts[i] = {state.get(), i};
        timers[i] = CreateThreadpoolTimer(once_callback, &contexts[i], pool.env());
        ASSERT_NE(nullptr, timers[i]) << "timer " << i << ", error " << GetLastError();
    }
    const int64_t arm_start = mono_ns();
    for (size_t i = 0; i < n; ++i) {
        const int64_t us = due_us(i);
        state->slots[i].due = mono_ns() + us * 1000;
        FILETIME due = relative_us(us);
        SetThreadpoolTimer(timers[i], &due, 0, 0);
    }
    const int64_t arm_end = mono_ns();
    ::testing::Test::RecordProperty("arm_ms", std::to_string(ms_of(arm_end - arm_start)));
    ASSERT_TRUE(state->fired.wait_for_at_least(static_cast<long>(n), kLongTimeout))
        << state->fired.get() << " of " << n << " fired";
    sleep_ms(200); // any second expiry would show now
    size_t not_once = 0, early = 0;
    int64_t worst_early = 0;
    std::vector<int64_t> lateness;
    lateness.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        const OnceSlot &slot = state->slots[i];
        not_once += slot.count.load() != 1;
        const int64_t delta = slot.fired.load() - slot.due;
        lateness.push_back(delta);
        if (delta < -kEarlyToleranceNs) {
            ++early;
            worst_early = std::max(worst_early, -delta);
        }
    }
    EXPECT_EQ(0u, not_once) << "timers that did not fire exactly once";
    EXPECT_EQ(0u, early) << "timers that fired early (worst by " << ms_of(worst_early) << " ms)";
    // Lateness is only reported: a callback may wait behind thousands of others.
    std::sort(lateness.begin(), lateness.end());
    ::testing::Test::RecordProperty("late_p50_ms", std::to_string(ms_of(lateness[n / 2])));
    ::testing::Test::RecordProperty("late_p99_ms", std::to_string(ms_of(lateness[n * 99 / 100])));
    for (PTP_TIMER timer : timers) {
        EXPECT_TRUE(IsThreadpoolTimerSet(timer));
        EXPECT_FALSE(SetThreadpoolTimerEx(timer, nullptr, 0, 0)); // fired one-shots
        CloseThreadpoolTimer(timer);
    }
}

// Issue 3: 100,000 timers armed at once with random relative due times within ~1 s all fire
// exactly once (a counter per timer), never early.
TEST_P(TimerStressTest, HundredThousandTimersWithRandomDueTimesFireExactlyOnce)
{
    Pool pool(mode());
    const size_t n = static_cast<size_t>(scaled(100'000, 1000));
    std::mt19937_64 rng(20240601);
    std::vector<int64_t> due_us(n);
    for (auto &us : due_us)
        us = static_cast<int64_t>(rng() % 1'000'000);
    arm_many_and_check(pool, n, [&](size_t i) { return due_us[i]; });
}

// Many timers with one and the same due time (all expire in one batch).
TEST_P(TimerStressTest, TenThousandTimersWithOneDueTimeFireExactlyOnce)
{
    Pool pool(mode());
    const size_t n = static_cast<size_t>(scaled(10'000, 500));
    const int64_t common_due = mono_ns() + 300 * kNsPerMs;
    arm_many_and_check(pool, n, [&](size_t) { return std::max<int64_t>(0, (common_due - mono_ns()) / 1000); });
}

// Set + cancel pairs (1 s due time, then NULL) never fire and leave the timer unset; the
// cancelling Ex call reports TRUE every time.
TEST_P(TimerStressTest, SetCancelPairsNeverFire)
{
    Pool pool(mode());
    Shared<AtomicCounter> count;
    Timer timer([](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_TIMER) { static_cast<AtomicCounter *>(ctx)->increment(); },
                count.get(), pool.env());
    ASSERT_TRUE(timer);
    const long pairs = scaled(200'000, 10'000);
    long wrong = 0;
    for (long i = 0; i < pairs; ++i) {
        FILETIME due = relative_ms(1000);
        SetThreadpoolTimer(timer, &due, 0, 0);
        wrong += SetThreadpoolTimerEx(timer, nullptr, 0, 0) != TRUE;
    }
    EXPECT_EQ(0, wrong);
    EXPECT_FALSE(timer.is_set());
    sleep_ms(1200);
    EXPECT_EQ(0, count->get());
}

// A timer armed from one thread must fire even while another thread keeps moving the head
// of the pool's timer structure (each move wakes the ring owner): no wake-up of the ring
// owner may get lost. Every short timer is waited for with a generous deadline.
TEST_P(TimerStressTest, ArmingIsNeverLostWhileAnotherThreadMovesTheHead)
{
    Pool pool(mode());
    Shared<AtomicCounter> count;
    Timer timer([](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_TIMER) { static_cast<AtomicCounter *>(ctx)->increment(); },
                count.get(), pool.env());
    ASSERT_TRUE(timer);
    std::atomic<bool> stop{false};
    std::thread noise([&] {
        Timer other([](PTP_CALLBACK_INSTANCE, PVOID, PTP_TIMER) {}, nullptr, pool.env());
        for (long i = 0; !stop.load(); ++i) {
            other.set(relative_ms(1000 - i % 1000)); // ever earlier: a new head each time
            other.disarm();
        }
    });
    const int64_t deadline = mono_ns() + static_cast<int64_t>(6000 * test_scale() + 1000) * kNsPerMs;
    long iterations = 0, lost = 0;
    while (mono_ns() < deadline) {
        const long before = count->get();
        timer.set(relative_us((iterations % 3) * 1000));
        if (!count->wait_for_at_least(before + 1, Millis(5000))) {
            ++lost;
            break;
        }
        ++iterations;
    }
    stop = true;
    noise.join();
    EXPECT_EQ(0, lost) << "a 0-2 ms timer did not fire within 5 s after " << iterations
                       << " that did: the ring owner slept through its wake-up";
}

// Issue 3: four threads set, re-set, cancel and wait on a shared set of timers while they
// fire. No crash; after the final cancel + wait of each timer, no callback of it runs; every
// timer then closes cleanly.
TEST_P(TimerStressTest, FourThreadsSetAndCancelWhileTimersFire)
{
    Watchdog watchdog(120s, "FourThreadsSetAndCancelWhileTimersFire");
    Pool pool(mode());
    constexpr int kTimers = 32;
    constexpr int kThreads = 4;
    struct Slot {
        std::atomic<bool> final_stop{false};
        std::atomic<long> calls{0};
    };
    struct State {
        Slot slots[kTimers];
        std::atomic<long> after_stop{0};
        std::atomic<long> calls{0};
    };
    Shared<State> state;
    struct Ctx {
        State *state;
        int index;
    };
    Ctx contexts[kTimers];
    PTP_TIMER timers[kTimers];
    for (int i = 0; i < kTimers; ++i) {
        contexts[i] = {state.get(), i};
        timers[i] = CreateThreadpoolTimer(
            [](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_TIMER) {
                auto *c = static_cast<Ctx *>(ctx);
                Slot &slot = c->state->slots[c->index];
                if (slot.final_stop.load())
                    c->state->after_stop.fetch_add(1);
                slot.calls.fetch_add(1);
                c->state->calls.fetch_add(1);
                if (slot.calls.load() % 16 == 0)
                    std::this_thread::sleep_for(std::chrono::microseconds(300));
            },
            &contexts[i], pool.env());
        ASSERT_NE(nullptr, timers[i]);
    }
    const int64_t run_ns = static_cast<int64_t>(1500 * test_scale()) * kNsPerMs + 200 * kNsPerMs;
    const int64_t deadline = mono_ns() + run_ns;
    std::atomic<long> operations{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            std::mt19937 rng(1000 + t);
            long ops = 0;
            while (mono_ns() < deadline) {
                PTP_TIMER timer = timers[rng() % kTimers];
                FILETIME due;
                switch (rng() % 10) {
                case 0:
                case 1:
                    due = relative_us(rng() % 2000);
                    SetThreadpoolTimer(timer, &due, 0, 0);
                    break;
                case 2:
                    due = due_now();
                    SetThreadpoolTimer(timer, &due, 0, 0);
                    break;
                case 3:
                    due = relative_us(rng() % 3000);
                    SetThreadpoolTimer(timer, &due, 1 + rng() % 5, rng() % 3);
                    break;
                case 4:
                    due = absolute_in_ms(rng() % 3);
                    SetThreadpoolTimerEx(timer, &due, 0, 0);
                    break;
                case 5:
                case 6:
                    SetThreadpoolTimer(timer, nullptr, 0, 0);
                    break;
                case 7:
                    SetThreadpoolTimerEx(timer, nullptr, 0, 0);
                    break;
                case 8:
                    WaitForThreadpoolTimerCallbacks(timer, rng() % 2 ? TRUE : FALSE);
                    break;
                case 9:
                    (void)IsThreadpoolTimerSet(timer);
                    break;
                }
                ++ops;
                if (ops % 64 == 0)
                    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 500));
            }
            operations.fetch_add(ops);
        });
    }
    for (auto &thread : threads)
        thread.join();
    for (int i = 0; i < kTimers; ++i) {
        SetThreadpoolTimer(timers[i], nullptr, 0, 0);
        WaitForThreadpoolTimerCallbacks(timers[i], TRUE);
        EXPECT_FALSE(IsThreadpoolTimerSet(timers[i]));
        state->slots[i].final_stop = true;
    }
    sleep_ms(200);
    EXPECT_EQ(0, state->after_stop.load()) << "callbacks after the final cancel + wait";
    EXPECT_GT(state->calls.load(), 0);
    ::testing::Test::RecordProperty("operations", std::to_string(operations.load()));
    ::testing::Test::RecordProperty("callbacks", std::to_string(state->calls.load()));
    for (PTP_TIMER timer : timers)
        CloseThreadpoolTimer(timer);
}

} // namespace
