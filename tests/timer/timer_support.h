// Helpers for the timer suites: clocks, timing tolerances, atomic sequencing primitives, a
// log of timer callbacks with their start times, and an owner for thread-pool timers that
// shuts them down the way Microsoft recommends. Builds on ../common/test_support.h (scale,
// deadlines, FILETIME due times, pools, sequencing primitives, dispatch-mode fixture).
//
// Timing rules for every assertion in these suites: a callback is never early by more than
// kEarlyTolerance, and never later than kLateTolerance (only where lateness matters at
// all). No test asserts a tight upper bound: the machine is shared and sanitizer builds
// are 5-15x slower.
#pragma once

#include "../common/test_support.h"

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

inline int64_t clock_ns(clockid_t clock)
{
    timespec now{};
    clock_gettime(clock, &now);
    return int64_t(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}
inline int64_t mono_ns() { return clock_ns(CLOCK_MONOTONIC); }
inline int64_t real_ns() { return clock_ns(CLOCK_REALTIME); }
inline double ms_of(int64_t ns) { return static_cast<double>(ns) / 1e6; }

// A relative due time in microseconds.
inline FILETIME relative_us(int64_t us) { return filetime_from(-us * 10); }
inline FILETIME due_now() { return filetime_from(0); }

// ---- Sequencing primitives whose last touch is one atomic store -------------------------
//
// The callback's last access to test state is a release store that the polling waiter's
// acquire load pairs with, so the state may be freed as soon as the wait returns, and a
// callback that signals never blocks on a lock the waiter holds.

inline constexpr std::chrono::microseconds kAtomicPollInterval{100};

class AtomicCounter {
public:
    long increment(long by = 1) { return value_.fetch_add(by) + by; }
    long get() const { return value_.load(); }
    bool wait_for_at_least(long target, Millis timeout = kTimeout) const
    {
        return eventually([&] { return value_.load() >= target; }, timeout, kAtomicPollInterval);
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
        return eventually([&] { return value_.load(); }, timeout, kAtomicPollInterval);
    }

private:
    std::atomic<bool> value_{false};
};

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

// Counts the callbacks of a timer whose context is an AtomicCounter.
inline void CALLBACK count_timer(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_TIMER)
{
    static_cast<AtomicCounter *>(ctx)->increment();
}

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

// The lifecycle suite spans several source files of one executable, so its fixture lives
// here (a class in an anonymous namespace would differ per file).
class TimerLifecycleTest : public DispatchTest {};

// Sleeps on the monotonic clock (the tests' own pacing, never for sequencing callbacks).
inline void sleep_ms(int64_t ms) { std::this_thread::sleep_for(Millis(ms)); }

} // namespace tmtest
