// Periodic thread-pool timers and window lengths (spec/timer.md "msPeriod",
// "msWindowLength"): periods without drift, overlapping slow callbacks, no burst after a
// stall, expiries while the workers are busy, absolute-then-periodic timers, and window
// merging that may be late but is never early.
#include "timer_support.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <set>
#include <string>

extern char **environ;

namespace {

using namespace tmtest;

class PeriodicTest : public DispatchTest {};
TPTEST_INSTANTIATE_DISPATCH_MODES(PeriodicTest);

// timer.md "Observed": relative −200 ms with period 200 ms → three callbacks after about
// 600 ms. Here: the k-th callback comes at 200·k ms, never early, late by at most 500 ms.
TEST_P(PeriodicTest, RelativeDueTimeWithPeriodFiresOnItsGrid)
{
    Pool pool(mode());
    Shared<FireLog> log;
    Timer timer(log_fire, log.get(), pool.env());
    ASSERT_TRUE(timer);
    const int64_t armed = mono_ns();
    timer.set(relative_ms(200), 200);
    ASSERT_TRUE(log->wait_for(3));
    timer.disarm();
    timer.wait(true);
    const auto fires = log->fires();
    ASSERT_GE(fires.size(), 3u);
    for (size_t k = 0; k < 3; ++k) {
        SCOPED_TRACE(k);
        EXPECT_ON_TIME(armed + int64_t(k + 1) * 200 * kNsPerMs, fires[k].mono);
    }
    EXPECT_FALSE(timer.is_set());
}

// Due 0 with a period: one callback at once, then one per period counted from the call.
TEST_P(PeriodicTest, ZeroDueTimeWithPeriod)
{
    Pool pool(mode());
    Shared<FireLog> log;
    Timer timer(log_fire, log.get(), pool.env());
    ASSERT_TRUE(timer);
    const int64_t armed = mono_ns();
    timer.set(due_now(), 100);
    ASSERT_TRUE(log->wait_for(4));
    timer.disarm();
    timer.wait(true);
    const auto fires = log->fires();
    for (size_t k = 0; k < 4; ++k) {
        SCOPED_TRACE(k);
        EXPECT_ON_TIME(armed + int64_t(k) * 100 * kNsPerMs, fires[k].mono);
    }
}

// Each expiry is one period after the previous *scheduled* one, whatever the callbacks take
// and however late they start: the 50th callback of a 20 ms timer whose callbacks take
// 18 ms starts near 1 s, not near 50 × (18 + 20) ms. (Four idle workers are kept so that
// start times follow the expiries instead of the pool's thread injection.)
TEST_P(PeriodicTest, PeriodDoesNotDriftWithCallbackDuration)
{
    Pool pool(mode(), 0, 4);
    Shared<FireLog> log;
    Timer timer(
        [](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_TIMER) {
            static_cast<FireLog *>(ctx)->record();
            std::this_thread::sleep_for(18ms);
        },
        log.get(), pool.env());
    ASSERT_TRUE(timer);
    constexpr int kCount = 50;
    constexpr int64_t kPeriod = 20;
    const int64_t armed = mono_ns();
    timer.set(relative_ms(kPeriod), kPeriod);
    ASSERT_TRUE(log->wait_for(kCount));
    timer.disarm();
    timer.wait(true);
    const auto fires = log->fires();
    for (int k = 0; k < kCount; ++k)
        EXPECT_NOT_EARLY(armed + (k + 1) * kPeriod * kNsPerMs, fires[k].mono) << "callback " << k;
    EXPECT_ON_TIME(armed + kCount * kPeriod * kNsPerMs, fires[kCount - 1].mono);
}

// Over a window, a periodic timer fires about window/period times: never more than the grid
// allows (that would be early), and not drastically fewer (tolerant lower bound).
TEST_P(PeriodicTest, CountOverAWindowMatchesThePeriod)
{
    Pool pool(mode());
    Shared<FireLog> log;
    Timer timer(log_fire, log.get(), pool.env());
    ASSERT_TRUE(timer);
    constexpr int64_t kPeriod = 10;
    const int64_t armed = mono_ns();
    timer.set(relative_ms(kPeriod), kPeriod);
    sleep_ms(500);
    timer.disarm();
    const int64_t stopped = mono_ns();
    timer.wait(true);
    const auto fires = log->fires();
    const long grid = static_cast<long>((stopped - armed) / (kPeriod * kNsPerMs));
    EXPECT_LE(static_cast<long>(fires.size()), grid);
    EXPECT_GE(static_cast<long>(fires.size()), grid / 5) << "expected about " << grid << " callbacks";
    for (size_t k = 0; k < fires.size(); ++k)
        EXPECT_NOT_EARLY(armed + int64_t(k + 1) * kPeriod * kNsPerMs, fires[k].mono) << "callback " << k;
}

// timer.md: expiries queue callbacks whether or not the previous callback finished, so the
// callbacks of a periodic timer overlap on different workers.
TEST_P(PeriodicTest, SlowCallbacksOverlapOnDifferentWorkers)
{
    Pool pool(mode());
    struct State {
        ConcurrencyTracker tracker;
        std::mutex mutex;
        std::set<DWORD> threads;
        AtomicCounter count;
    };
    Shared<State> state;
    Timer timer(
        [](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_TIMER) {
            auto *s = static_cast<State *>(ctx);
            ConcurrencyTracker::Scope scope(s->tracker);
            {
                std::lock_guard lock(s->mutex);
                s->threads.insert(GetCurrentThreadId());
            }
            std::this_thread::sleep_for(150ms);
            s->count.increment();
        },
        state.get(), pool.env());
    ASSERT_TRUE(timer);
    timer.set(relative_ms(20), 20);
    ASSERT_TRUE(state->count.wait_for_at_least(8));
    timer.disarm();
    timer.wait(true);
    EXPECT_GE(state->tracker.peak(), 2);
    std::lock_guard lock(state->mutex);
    EXPECT_GE(state->threads.size(), 2u);
}

// ---- No burst after a stall -------------------------------------------------------------

// Stops the whole process with SIGSTOP for at least `stop`, using a shell helper that
// waits until the process is stopped, sleeps, and sends SIGCONT. Returns false if the
// helper could not be started (the process was then not stopped).
bool stop_whole_process_for(Millis stop)
{
    const pid_t self = getpid();
    const std::string seconds = std::to_string(stop.count() / 1000) + "." + [&] {
        std::string ms = std::to_string(stop.count() % 1000);
        return std::string(3 - ms.size(), '0') + ms;
    }();
    // Poll (for at most ~30 s) until the state field of /proc/<pid>/stat is T; then keep the
    // process stopped for `stop` and continue it. SIGCONT is sent even if T was never seen.
    const std::string script = "p=" + std::to_string(self) +
                               "; i=0; while [ $i -lt 3000 ]; do"
                               " s=$(sed 's/.*) //' /proc/$p/stat 2>/dev/null | cut -d' ' -f1);"
                               " [ \"$s\" = T ] && break; sleep 0.01; i=$((i+1)); done;"
                               " sleep " +
                               seconds + "; kill -CONT $p";
    const char *argv[] = {"/bin/sh", "-c", script.c_str(), nullptr};
    pid_t helper = 0;
    if (posix_spawn(&helper, "/bin/sh", nullptr, nullptr, const_cast<char **>(argv), environ) != 0)
        return false;
    kill(self, SIGSTOP); // returns after the helper's SIGCONT
    int status = 0;
    waitpid(helper, &status, 0);
    return true;
}

// timer.md / DESIGN.md: after a long stall the timer does not burst through the missed
// expiries: at most one catch-up expiry, then it continues on its grid. The process is
// stopped (all threads, the ring owner included) for at least 400 ms while a 20 ms timer
// runs: at least 19 grid points fall inside the stop, and at most one of them may fire.
TEST_P(PeriodicTest, NoBurstAfterAWholeProcessStall)
{
    Pool pool(mode());
    Shared<FireLog> log;
    Timer timer(log_fire, log.get(), pool.env());
    ASSERT_TRUE(timer);
    constexpr int64_t kPeriod = 20;
    constexpr int64_t kStopMs = 400;
    const int64_t armed = mono_ns();
    timer.set(relative_ms(kPeriod), kPeriod);
    ASSERT_TRUE(log->wait_for(3));
    ASSERT_TRUE(stop_whole_process_for(Millis(kStopMs)));
    const int64_t resumed = mono_ns();
    const long before_resume_count = log->count();
    sleep_ms(200);
    timer.disarm();
    const int64_t stopped = mono_ns();
    timer.wait(true);
    const auto fires = log->fires();
    const long grid = static_cast<long>((stopped - armed) / (kPeriod * kNsPerMs));
    const long skipped_at_least = kStopMs / kPeriod - 2; // grid points inside the stop, less the catch-up
    long after_resume = 0;
    for (const Fire &fire : fires)
        after_resume += fire.mono >= resumed;
    RecordProperty("callbacks", std::to_string(fires.size()));
    RecordProperty("grid_points", std::to_string(grid));
    RecordProperty("after_resume", std::to_string(after_resume));
    EXPECT_LE(static_cast<long>(fires.size()), grid - skipped_at_least + 2)
        << "the timer burst through the expiries it missed while the process was stopped (" << fires.size()
        << " callbacks over " << grid << " grid points, " << before_resume_count << " before the resume)";
    EXPECT_GE(after_resume, 1) << "the timer did not continue after the stall";
    for (size_t k = 0; k < fires.size(); ++k)
        EXPECT_NOT_EARLY(armed + int64_t(k + 1) * kPeriod * kNsPerMs, fires[k].mono) << "callback " << k;
}

// The README's counter model: every expiry is a post, whether or not a worker is free. A
// 10 ms timer on a one-thread pool whose worker is blocked for about 200 ms has queued
// callbacks for the expiries of that time, which run once the worker is free — but never
// more than one per grid point (no extra burst beyond the schedule).
TEST_P(PeriodicTest, ExpiriesKeepQueueingWhileTheWorkersAreBusy)
{
    Pool pool(mode(), 1);
    Shared<FireLog> log;
    Timer timer(log_fire, log.get(), pool.env());
    ASSERT_TRUE(timer);
    constexpr int64_t kPeriod = 10;
    Blocker blocker;
    ASSERT_TRUE(blocker.start(pool.env()));
    const int64_t armed = mono_ns();
    timer.set(relative_ms(kPeriod), kPeriod);
    sleep_ms(200);
    const int64_t released = mono_ns();
    blocker.release();
    ASSERT_TRUE(blocker.wait_finished());
    sleep_ms(50);
    timer.disarm();
    const int64_t stopped = mono_ns();
    timer.wait(true);
    const auto fires = log->fires();
    const long grid = static_cast<long>((stopped - armed) / (kPeriod * kNsPerMs));
    const long grid_while_blocked = static_cast<long>((released - armed) / (kPeriod * kNsPerMs));
    long ran_late = 0; // callbacks of expiries that came while the worker was blocked
    for (const Fire &fire : fires)
        ran_late += fire.mono >= released && fire.mono < released + 50 * kNsPerMs;
    RecordProperty("callbacks", std::to_string(fires.size()));
    RecordProperty("grid_points_while_blocked", std::to_string(grid_while_blocked));
    RecordProperty("ran_right_after_release", std::to_string(ran_late));
    EXPECT_LE(static_cast<long>(fires.size()), grid) << "more callbacks than expiries";
    EXPECT_GE(static_cast<long>(fires.size()), grid_while_blocked / 4)
        << "expiries while the worker was busy should each have queued a callback (about " << grid_while_blocked
        << ")";
    EXPECT_GE(ran_late, 1);
    for (size_t k = 0; k < fires.size(); ++k)
        EXPECT_NOT_EARLY(armed + int64_t(k + 1) * kPeriod * kNsPerMs, fires[k].mono) << "callback " << k;
}

// ---- Absolute periodic timers -----------------------------------------------------------------

// An absolute first expiry followed by a period: every expiry is on the grid that starts at
// the absolute time.
TEST_P(PeriodicTest, AbsoluteDueTimeWithPeriod)
{
    Pool pool(mode());
    Shared<FireLog> log;
    Timer timer(log_fire, log.get(), pool.env());
    ASSERT_TRUE(timer);
    int64_t due_real = 0;
    timer.set(absolute_in_ms(100, &due_real), 50);
    ASSERT_TRUE(log->wait_for(5, 10s)) << log->count() << " callbacks of 5 within 10 s";
    timer.disarm();
    timer.wait(true);
    const auto fires = log->fires();
    for (size_t k = 0; k < 5; ++k) {
        SCOPED_TRACE(k);
        EXPECT_ON_TIME(due_real + int64_t(k) * 50 * kNsPerMs, fires[k].real);
    }
}

// ---- Window length ------------------------------------------------------------------------

// timer.md "Observed": timer2 absolute at T+250 ms (window 0); 50 ms later timer1 absolute
// at T+100 ms with window 75 ms: the window cannot reach timer2, so neither is early and
// timer1 fires within its window (plus the general lateness tolerance).
TEST_P(PeriodicTest, ShortWindowDoesNotPullALaterTimerEarlier)
{
    Pool pool(mode());
    Shared<FireLog> log1, log2;
    Timer timer1(log_fire, log1.get(), pool.env());
    Timer timer2(log_fire, log2.get(), pool.env());
    ASSERT_TRUE(timer1 && timer2);
    int64_t due2 = 0;
    timer2.set(absolute_in_ms(250, &due2), 0, 0);
    sleep_ms(50);
    const int64_t due1 = due2 - 150 * kNsPerMs; // T+100
    FILETIME ft1 = filetime_from(due1 / 100 + kUnixEpochFiletime);
    SetThreadpoolTimer(timer1, &ft1, 0, 75);
    ASSERT_TRUE(log1->wait_for(1));
    ASSERT_TRUE(log2->wait_for(1));
    EXPECT_ON_TIME(due1, log1->at(0).real);
    EXPECT_ON_TIME(due2, log2->at(0).real);
    EXPECT_LE(log1->at(0).real, due1 + 75 * kNsPerMs + kLateToleranceNs);
}

// The same with window 200 ms: merging is allowed (timer1 may wait for timer2) but not
// required, and it never makes timer2 early.
TEST_P(PeriodicTest, LongWindowMayMergeButNeverEarly)
{
    Pool pool(mode());
    Shared<FireLog> log1, log2;
    Timer timer1(log_fire, log1.get(), pool.env());
    Timer timer2(log_fire, log2.get(), pool.env());
    ASSERT_TRUE(timer1 && timer2);
    int64_t due2 = 0;
    timer2.set(absolute_in_ms(250, &due2), 0, 0);
    sleep_ms(50);
    const int64_t due1 = due2 - 150 * kNsPerMs;
    FILETIME ft1 = filetime_from(due1 / 100 + kUnixEpochFiletime);
    SetThreadpoolTimer(timer1, &ft1, 0, 200);
    ASSERT_TRUE(log1->wait_for(1));
    ASSERT_TRUE(log2->wait_for(1));
    EXPECT_NOT_EARLY(due1, log1->at(0).real);
    EXPECT_LE(log1->at(0).real, due1 + 200 * kNsPerMs + kLateToleranceNs);
    EXPECT_ON_TIME(due2, log2->at(0).real);
    const double gap = ms_of(log2->at(0).real - log1->at(0).real);
    RecordProperty("gap_ms", std::to_string(gap));
}

// Many timers with random due times and windows: each fires once, never before its due
// time, and not later than its window allows (plus the lateness tolerance).
TEST_P(PeriodicTest, ManyTimersWithWindowsAreNeverEarly)
{
    Pool pool(mode());
    const int kCount = static_cast<int>(scaled(300, 20));
    struct Slot {
        int64_t due = 0;
        int64_t window = 0;
        std::atomic<int64_t> fired{0};
        std::atomic<int> count{0};
    };
    struct State {
        std::vector<Slot> slots;
        AtomicCounter fired;
        explicit State(int n) : slots(n) {}
    };
    Shared<State> state(kCount);
    struct Ctx {
        State *state;
        int index;
    };
    std::vector<Ctx> contexts(kCount);
    std::vector<std::unique_ptr<Timer>> timers;
    std::mt19937 rng(1234);
    for (int i = 0; i < kCount; ++i) {
        contexts[i] = {state.get(), i};
        timers.push_back(std::make_unique<Timer>(
            [](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_TIMER) {
                auto *c = static_cast<Ctx *>(ctx);
                Slot &slot = c->state->slots[c->index];
                slot.fired = mono_ns();
                slot.count.fetch_add(1);
                c->state->fired.increment();
            },
            &contexts[i], pool.env()));
        ASSERT_TRUE(*timers.back());
    }
    for (int i = 0; i < kCount; ++i) {
        const int64_t delay_ms = 10 + static_cast<int64_t>(rng() % 300);
        const DWORD window_ms = (i % 3 == 0) ? 0 : static_cast<DWORD>(rng() % 100);
        Slot &slot = state->slots[i];
        slot.window = window_ms * kNsPerMs;
        slot.due = mono_ns() + delay_ms * kNsPerMs;
        timers[i]->set(relative_ms(delay_ms), 0, window_ms);
    }
    ASSERT_TRUE(state->fired.wait_for_at_least(kCount));
    sleep_ms(50);
    int early = 0, late = 0, wrong_count = 0;
    for (int i = 0; i < kCount; ++i) {
        const Slot &slot = state->slots[i];
        wrong_count += slot.count.load() != 1;
        early += slot.fired.load() < slot.due - kEarlyToleranceNs;
        late += slot.fired.load() > slot.due + slot.window + kLateToleranceNs;
    }
    EXPECT_EQ(0, wrong_count);
    EXPECT_EQ(0, early);
    EXPECT_EQ(0, late);
    timers.clear();
}

// A periodic timer with a window: every expiry is still on or after its grid point.
TEST_P(PeriodicTest, PeriodicTimerWithAWindowIsNeverEarly)
{
    Pool pool(mode());
    Shared<FireLog> log;
    Timer timer(log_fire, log.get(), pool.env());
    ASSERT_TRUE(timer);
    const int64_t armed = mono_ns();
    timer.set(relative_ms(30), 30, 20);
    ASSERT_TRUE(log->wait_for(8));
    timer.disarm();
    timer.wait(true);
    const auto fires = log->fires();
    for (size_t k = 0; k < fires.size(); ++k)
        EXPECT_NOT_EARLY(armed + int64_t(k + 1) * 30 * kNsPerMs, fires[k].mono) << "callback " << k;
}

} // namespace
