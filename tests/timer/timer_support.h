// Helpers for the timer suites: clocks, FILETIME due times, a log of timer callbacks with
// their start times, and an owner for thread-pool timers that shuts them down the way
// Microsoft recommends. Builds on ../threadpool/test_support.h (scale, deadlines, pools,
// sequencing primitives, dispatch-mode fixture).
//
// Timing rules for every assertion in these suites: a callback is never early by more than
// kEarlyTolerance, and never later than kLateTolerance (only where lateness matters at
// all). No test asserts a tight upper bound: the machine is shared and sanitizer builds
// are 5-15x slower.
#pragma once

#include "test_support.h"

#include <time.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <mutex>
#include <vector>

namespace tmtest {

using namespace tptest;

inline constexpr int64_t kNsPerMs = 1'000'000;
inline constexpr int64_t kEarlyToleranceNs = 1 * kNsPerMs;
inline constexpr int64_t kLateToleranceNs = 500 * kNsPerMs;
// FILETIME (100 ns since 1601-01-01) of the Unix epoch.
inline constexpr int64_t kUnixEpochFiletime = 116444736000000000LL;

inline int64_t clock_ns(clockid_t clock)
{
    timespec now{};
    clock_gettime(clock, &now);
    return int64_t(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}
inline int64_t mono_ns() { return clock_ns(CLOCK_MONOTONIC); }
inline int64_t real_ns() { return clock_ns(CLOCK_REALTIME); }
inline double ms_of(int64_t ns) { return static_cast<double>(ns) / 1e6; }

inline FILETIME filetime_of(int64_t value)
{
    FILETIME ft;
    ft.dwLowDateTime = static_cast<DWORD>(static_cast<uint64_t>(value) & 0xFFFFFFFFu);
    ft.dwHighDateTime = static_cast<DWORD>(static_cast<uint64_t>(value) >> 32);
    return ft;
}
inline int64_t int64_of(const FILETIME &ft)
{
    return static_cast<int64_t>((uint64_t(ft.dwHighDateTime) << 32) | ft.dwLowDateTime);
}

// A relative due time `ms` from now (negative FILETIME).
inline FILETIME relative_ms(int64_t ms) { return filetime_of(-ms * 10'000); }
// A relative due time in microseconds.
inline FILETIME relative_us(int64_t us) { return filetime_of(-us * 10); }
inline FILETIME due_now() { return filetime_of(0); }

// An absolute UTC due time `ms` after GetSystemTimeAsFileTime; *due_real_ns receives it as
// CLOCK_REALTIME nanoseconds.
inline FILETIME absolute_in_ms(int64_t ms, int64_t *due_real_ns)
{
    FILETIME now;
    GetSystemTimeAsFileTime(&now);
    int64_t due = int64_of(now) + ms * 10'000;
    if (due_real_ns)
        *due_real_ns = (due - kUnixEpochFiletime) * 100;
    return filetime_of(due);
}

// ---- Sequencing primitives whose last touch is one atomic store -------------------------
//
// A callback that signals through a condition variable may still be inside notify_all()
// when the waiter returns and frees the state (ThreadSanitizer reports it, rightly). These
// primitives are plain atomics polled by the waiter, so the callback's last access to test
// state is a release store that the waiter's acquire load pairs with: the state may be freed
// as soon as the wait returns.

template <class Pred>
bool poll_until(Pred pred, Millis timeout = kTimeout)
{
    const auto deadline = Clock::now() + timeout;
    while (!pred()) {
        if (Clock::now() >= deadline)
            return pred();
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return true;
}

class AtomicCounter {
public:
    long increment(long by = 1) { return value_.fetch_add(by) + by; }
    long get() const { return value_.load(); }
    bool wait_for_at_least(long target, Millis timeout = kTimeout) const
    {
        return poll_until([&] { return value_.load() >= target; }, timeout);
    }

private:
    std::atomic<long> value_{0};
};

class AtomicFlag {
public:
    void set() { value_.store(true); }
    bool is_set() const { return value_.load(); }
    bool wait(Millis timeout = kTimeout) const
    {
        return poll_until([&] { return value_.load(); }, timeout);
    }

private:
    std::atomic<bool> value_{false};
};

// Occupies one worker of a pool until released (like tptest::Blocker, built on the atomic
// primitives so that its state can be freed right after the callback signalled).
class TimerBlocker {
public:
    TimerBlocker() = default;
    ~TimerBlocker()
    {
        state_->gate.set();
        if (!state_->submitted || state_->finished.wait())
            delete state_;
    }
    TimerBlocker(const TimerBlocker &) = delete;
    TimerBlocker &operator=(const TimerBlocker &) = delete;

    bool start(PTP_CALLBACK_ENVIRON env)
    {
        state_->submitted = TrySubmitThreadpoolCallback(
            [](PTP_CALLBACK_INSTANCE, PVOID ctx) {
                auto *state = static_cast<State *>(ctx);
                state->started.set();
                state->gate.wait(kLongTimeout);
                state->finished.set();
            },
            state_, env);
        return state_->submitted && state_->started.wait();
    }
    void release() { state_->gate.set(); }
    bool wait_finished() { return state_->finished.wait(); }

private:
    struct State {
        AtomicFlag started, gate, finished;
        bool submitted = false;
    };
    State *state_ = new State;
};

// On a pool with maximum 1: returns once everything queued before the call has run (a LOW
// priority simple callback queued last starts only after all of them).
inline bool drain_one_thread_pool(const TP_CALLBACK_ENVIRON &base)
{
    auto *done = new AtomicFlag;
    TP_CALLBACK_ENVIRON env = env_with_priority(base, TP_CALLBACK_PRIORITY_LOW);
    env.CleanupGroup = nullptr;
    env.CleanupGroupCancelCallback = nullptr;
    env.FinalizationCallback = nullptr;
    if (!TrySubmitThreadpoolCallback([](PTP_CALLBACK_INSTANCE, PVOID ctx) { static_cast<AtomicFlag *>(ctx)->set(); },
                                     done, &env)) {
        delete done;
        return false;
    }
    bool ok = done->wait();
    if (ok)
        delete done; // on timeout it is leaked: the callback may still run later
    return ok;
}

// Ends the process with a message if a test is still running after `limit`: for tests whose
// threads make blocking library calls that have no deadline of their own
// (WaitForThreadpoolTimerCallbacks), so that a library hang fails fast instead of running
// into the suite's timeout.
class Watchdog {
public:
    Watchdog(Millis limit, std::string what)
        : thread_([this, limit, what = std::move(what)] {
              std::unique_lock lock(mutex_);
              if (!cv_.wait_for(lock, limit, [&] { return done_; })) {
                  std::fprintf(stderr, "WATCHDOG: %s still running after %lld ms: the library hung\n", what.c_str(),
                               static_cast<long long>(limit.count()));
                  std::fflush(stderr);
                  std::_Exit(3);
              }
          })
    {
    }
    ~Watchdog()
    {
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }
    Watchdog(const Watchdog &) = delete;
    Watchdog &operator=(const Watchdog &) = delete;

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool done_ = false;
    std::thread thread_;
};

// ---- A log of callback start times ----------------------------------------------------

struct Fire {
    int64_t mono;
    int64_t real;
    DWORD thread;
};

class FireLog {
public:
    void record()
    {
        Fire fire{mono_ns(), real_ns(), GetCurrentThreadId()};
        {
            std::lock_guard lock(mutex_);
            fires_.push_back(fire);
        }
        count_.increment();
    }
    long count() const { return count_.get(); }
    bool wait_for(long n, Millis timeout = kTimeout) const { return count_.wait_for_at_least(n, timeout); }
    std::vector<Fire> fires() const
    {
        std::lock_guard lock(mutex_);
        return fires_;
    }
    Fire at(size_t i) const
    {
        std::lock_guard lock(mutex_);
        return fires_.at(i);
    }

private:
    mutable std::mutex mutex_;
    std::vector<Fire> fires_;
    AtomicCounter count_;
};

inline void CALLBACK log_fire(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_TIMER) { static_cast<FireLog *>(ctx)->record(); }

// `fired_ns` within [due - kEarlyTolerance, due + kLateTolerance].
inline ::testing::AssertionResult on_time(int64_t due_ns, int64_t fired_ns)
{
    if (fired_ns < due_ns - kEarlyToleranceNs)
        return ::testing::AssertionFailure() << "early by " << ms_of(due_ns - fired_ns) << " ms";
    if (fired_ns > due_ns + kLateToleranceNs)
        return ::testing::AssertionFailure() << "late by " << ms_of(fired_ns - due_ns) << " ms";
    return ::testing::AssertionSuccess();
}

// `fired_ns` not before due - kEarlyTolerance.
inline ::testing::AssertionResult not_early(int64_t due_ns, int64_t fired_ns)
{
    if (fired_ns < due_ns - kEarlyToleranceNs)
        return ::testing::AssertionFailure() << "early by " << ms_of(due_ns - fired_ns) << " ms";
    return ::testing::AssertionSuccess();
}

#define EXPECT_ON_TIME(due_ns, fired_ns) EXPECT_TRUE(::tmtest::on_time((due_ns), (fired_ns)))
#define EXPECT_NOT_EARLY(due_ns, fired_ns) EXPECT_TRUE(::tmtest::not_early((due_ns), (fired_ns)))

// ---- Owning a timer ---------------------------------------------------------------------

// Owns a PTP_TIMER; the destructor (or shutdown()) runs Microsoft's shutdown sequence:
// disarm, cancel-and-wait, close.
class Timer {
public:
    Timer() = default;
    Timer(PTP_TIMER_CALLBACK callback, void *context, PTP_CALLBACK_ENVIRON env)
        : timer_(CreateThreadpoolTimer(callback, context, env))
    {
    }
    ~Timer() { shutdown(); }
    Timer(const Timer &) = delete;
    Timer &operator=(const Timer &) = delete;

    PTP_TIMER get() const { return timer_; }
    operator PTP_TIMER() const { return timer_; }
    explicit operator bool() const { return timer_ != nullptr; }

    void set(FILETIME due, DWORD period = 0, DWORD window = 0) { SetThreadpoolTimer(timer_, &due, period, window); }
    BOOL set_ex(FILETIME due, DWORD period = 0, DWORD window = 0)
    {
        return SetThreadpoolTimerEx(timer_, &due, period, window);
    }
    void disarm() { SetThreadpoolTimer(timer_, nullptr, 0, 0); }
    BOOL disarm_ex() { return SetThreadpoolTimerEx(timer_, nullptr, 0, 0); }
    bool is_set() const { return IsThreadpoolTimerSet(timer_) != FALSE; }
    void wait(bool cancel) { WaitForThreadpoolTimerCallbacks(timer_, cancel ? TRUE : FALSE); }

    void shutdown()
    {
        if (!timer_)
            return;
        SetThreadpoolTimer(timer_, nullptr, 0, 0);
        WaitForThreadpoolTimerCallbacks(timer_, TRUE);
        CloseThreadpoolTimer(timer_);
        timer_ = nullptr;
    }
    // The test closed (or handed over) the timer itself.
    PTP_TIMER release() { return std::exchange(timer_, nullptr); }

private:
    PTP_TIMER timer_ = nullptr;
};

// Sleeps on the monotonic clock (the tests' own pacing, never for sequencing callbacks).
inline void sleep_ms(int64_t ms) { std::this_thread::sleep_for(Millis(ms)); }

} // namespace tmtest
