// Helpers shared by the thread-pool, timer and wait suites: test scale, generous deadlines,
// FILETIME due times, RAII wrappers for pools and kernel handles, sequencing primitives that
// time out instead of hanging, a concurrency tracker, and the fixture that runs each test in
// both dispatch modes. Suite-specific helpers build on it (timer_support.h, wait_support.h).
#pragma once

#include <tpuring/tpuring.h>
#include <tpuring/win32.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <condition_variable>
#include <cstdlib>
#include <dirent.h>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace tptest {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// Deadlines only a broken library reaches; they turn a hang into a failure. They are far
// above anything a loaded 2-core machine or a sanitizer build needs.
inline constexpr DWORD kWaitMs = 30000;
inline constexpr Millis kTimeout{kWaitMs};
inline constexpr Millis kLongTimeout{180000};

// TPURING_TEST_SCALE (float, default 1.0) shrinks the big loops for slow builds.
inline double test_scale()
{
    static const double scale = [] {
        const char *text = std::getenv("TPURING_TEST_SCALE");
        if (!text || !*text)
            return 1.0;
        char *end = nullptr;
        double value = std::strtod(text, &end);
        return (end != text && value > 0.0) ? value : 1.0;
    }();
    return scale;
}

inline long scaled(long count, long minimum = 1)
{
    return std::max(minimum, static_cast<long>(std::lround(static_cast<double>(count) * test_scale())));
}

// Polls pred until it holds or the timeout passes; for state with no wake-up (stats).
template <class Pred>
bool eventually(Pred pred, Millis timeout = kTimeout, std::chrono::microseconds poll_interval = 1ms)
{
    const auto deadline = Clock::now() + timeout;
    while (!pred()) {
        if (Clock::now() >= deadline)
            return pred();
        std::this_thread::sleep_for(poll_interval);
    }
    return true;
}

// The last error a test plants to show that a call left it alone.
inline constexpr DWORD kSentinelError = 0x7654321;

// ---- FILETIME due times and timeouts ---------------------------------------------------

// FILETIME (100 ns since 1601-01-01) of the Unix epoch.
inline constexpr int64_t kUnixEpochFiletime = 116444736000000000LL;

inline FILETIME filetime_from(int64_t value)
{
    FILETIME ft;
    ft.dwLowDateTime = static_cast<DWORD>(static_cast<uint64_t>(value) & 0xFFFFFFFFu);
    ft.dwHighDateTime = static_cast<DWORD>(static_cast<uint64_t>(value) >> 32);
    return ft;
}

inline int64_t filetime_value(const FILETIME &ft)
{
    return static_cast<int64_t>((uint64_t(ft.dwHighDateTime) << 32) | ft.dwLowDateTime);
}

// A relative time `ms` from now (negative FILETIME, 100 ns units).
inline FILETIME relative_ms(int64_t ms) { return filetime_from(-ms * 10'000); }

// An absolute UTC FILETIME `ms` after GetSystemTimeAsFileTime (negative ms: in the past);
// *due_real_ns, if given, receives it as CLOCK_REALTIME nanoseconds.
inline FILETIME absolute_in_ms(int64_t ms, int64_t *due_real_ns = nullptr)
{
    FILETIME now;
    GetSystemTimeAsFileTime(&now);
    const int64_t due = filetime_value(now) + ms * 10'000;
    if (due_real_ns)
        *due_real_ns = (due - kUnixEpochFiletime) * 100;
    return filetime_from(due);
}

// ---- State shared with callbacks --------------------------------------------------

// Test state that callbacks use. When the test has failed, callbacks may still be queued
// or blocked, so the state is leaked instead of freed under them.
template <class T>
class Shared {
public:
    template <class... Args>
    explicit Shared(Args &&...args) : ptr_(new T(std::forward<Args>(args)...))
    {
    }
    ~Shared()
    {
        if (!::testing::Test::HasFailure())
            delete ptr_;
    }
    Shared(const Shared &) = delete;
    Shared &operator=(const Shared &) = delete;

    T *get() const { return ptr_; }
    T *operator->() const { return ptr_; }
    T &operator*() const { return *ptr_; }

private:
    T *ptr_;
};

// ---- Sequencing primitives (std-based, so they do not depend on the library) ---------

// A one-shot flag that threads can wait for with a deadline.
class Flag {
public:
    // Notifies under the lock: a waiter may destroy the object as soon as it returns.
    void set()
    {
        std::lock_guard lock(mutex_);
        set_ = true;
        cv_.notify_all();
    }
    bool is_set() const
    {
        std::lock_guard lock(mutex_);
        return set_;
    }
    bool wait(Millis timeout = kTimeout) const
    {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return set_; });
    }

private:
    mutable std::mutex mutex_;
    mutable std::condition_variable cv_;
    bool set_ = false;
};

// A counter that threads can wait on until it reaches a value.
class Counter {
public:
    long increment(long by = 1)
    {
        std::lock_guard lock(mutex_);
        value_ += by;
        cv_.notify_all();
        return value_;
    }
    long get() const
    {
        std::lock_guard lock(mutex_);
        return value_;
    }
    bool wait_for_at_least(long target, Millis timeout = kTimeout) const
    {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return value_ >= target; });
    }

private:
    mutable std::mutex mutex_;
    mutable std::condition_variable cv_;
    long value_ = 0;
};

// A counting semaphore with a deadline on acquire.
class Tokens {
public:
    void release(long count = 1)
    {
        std::lock_guard lock(mutex_);
        available_ += count;
        cv_.notify_all();
    }
    bool acquire(Millis timeout = kTimeout)
    {
        std::unique_lock lock(mutex_);
        if (!cv_.wait_for(lock, timeout, [&] { return available_ > 0; }))
            return false;
        --available_;
        return true;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    long available_ = 0;
};

// A single-use barrier whose wait gives up after a deadline.
class Barrier {
public:
    explicit Barrier(long parties) : parties_(parties) {}
    bool arrive_and_wait(Millis timeout = kTimeout)
    {
        std::unique_lock lock(mutex_);
        if (++arrived_ >= parties_) {
            cv_.notify_all();
            return true;
        }
        return cv_.wait_for(lock, timeout, [&] { return arrived_ >= parties_; });
    }
    long arrived() const
    {
        std::lock_guard lock(mutex_);
        return arrived_;
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    const long parties_;
    long arrived_ = 0;
};

// Hands out one token after first_delay, then one more every interval until stopped.
// Lets a test block callbacks while the main thread enters a blocking call that cannot
// signal "I am inside now": in the normal case exactly one token is used, and a stalled
// main thread only costs extra tokens, never a hang.
class TokenDripper {
public:
    TokenDripper(Tokens &tokens, Millis first_delay = 200ms, Millis interval = 300ms)
        : thread_([this, &tokens, first_delay, interval] {
              std::unique_lock lock(mutex_);
              Millis delay = first_delay;
              while (!cv_.wait_for(lock, delay, [&] { return stop_; })) {
                  tokens.release();
                  ++dripped_;
                  delay = interval;
              }
          })
    {
    }
    ~TokenDripper() { stop(); }
    void stop()
    {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        cv_.notify_all();
        if (thread_.joinable())
            thread_.join();
    }
    long dripped()
    {
        std::lock_guard lock(mutex_);
        return dripped_;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stop_ = false;
    long dripped_ = 0;
    std::thread thread_;
};

// Runs fn on a helper thread after a delay (joined on destruction).
class DelayedAction {
public:
    DelayedAction(Millis delay, std::function<void()> fn)
        : thread_([delay, fn = std::move(fn)] {
              std::this_thread::sleep_for(delay);
              fn();
          })
    {
    }
    ~DelayedAction()
    {
        if (thread_.joinable())
            thread_.join();
    }

private:
    std::thread thread_;
};

// Counts callbacks running at once and remembers the peak.
class ConcurrencyTracker {
public:
    class Scope {
    public:
        explicit Scope(ConcurrencyTracker &tracker) : tracker_(tracker)
        {
            int now = tracker_.current_.fetch_add(1) + 1;
            int peak = tracker_.peak_.load();
            while (now > peak && !tracker_.peak_.compare_exchange_weak(peak, now)) {
            }
        }
        ~Scope() { tracker_.current_.fetch_sub(1); }
        Scope(const Scope &) = delete;
        Scope &operator=(const Scope &) = delete;

    private:
        ConcurrencyTracker &tracker_;
    };

    int current() const { return current_.load(); }
    int peak() const { return peak_.load(); }

private:
    std::atomic<int> current_{0};
    std::atomic<int> peak_{0};
};

// Records labels in the order callbacks append them.
class OrderLog {
public:
    void add(int label)
    {
        std::lock_guard lock(mutex_);
        labels_.push_back(label);
    }
    std::vector<int> labels() const
    {
        std::lock_guard lock(mutex_);
        return labels_;
    }

private:
    mutable std::mutex mutex_;
    std::vector<int> labels_;
};

// ---- Kernel handles ----------------------------------------------------------------

// Owns a library kernel-object handle.
class Handle {
public:
    explicit Handle(HANDLE handle = nullptr) : handle_(handle) {}
    ~Handle() { reset(); }
    Handle(Handle &&other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    Handle &operator=(Handle &&other) noexcept
    {
        if (this != &other) {
            reset();
            handle_ = std::exchange(other.handle_, nullptr);
        }
        return *this;
    }
    Handle(const Handle &) = delete;
    Handle &operator=(const Handle &) = delete;

    HANDLE get() const { return handle_; }
    operator HANDLE() const { return handle_; }
    explicit operator bool() const { return handle_ != nullptr; }
    void reset()
    {
        if (handle_)
            CloseHandle(handle_);
        handle_ = nullptr;
    }

private:
    HANDLE handle_;
};

inline Handle make_event(bool manual_reset = true, bool initially_set = false)
{
    HANDLE h = CreateEventA(nullptr, manual_reset ? TRUE : FALSE, initially_set ? TRUE : FALSE, nullptr);
    if (!h)
        throw std::runtime_error("CreateEventA failed, error " + std::to_string(GetLastError()));
    return Handle(h);
}

inline Handle make_semaphore(LONG initial, LONG maximum)
{
    HANDLE h = CreateSemaphoreA(nullptr, initial, maximum, nullptr);
    if (!h)
        throw std::runtime_error("CreateSemaphoreA failed, error " + std::to_string(GetLastError()));
    return Handle(h);
}

inline Handle make_mutex(bool owned = false)
{
    HANDLE h = CreateMutexA(nullptr, owned ? TRUE : FALSE, nullptr);
    if (!h)
        throw std::runtime_error("CreateMutexA failed, error " + std::to_string(GetLastError()));
    return Handle(h);
}

// TRUE when h becomes signaled within the deadline (a deadlock fails instead of hanging).
inline bool signaled_within(HANDLE h, DWORD ms = kWaitMs) { return WaitForSingleObject(h, ms) == WAIT_OBJECT_0; }

// Tests the state without blocking (consumes a unit of an auto-reset event or semaphore).
inline bool signaled_now(HANDLE h) { return WaitForSingleObject(h, 0) == WAIT_OBJECT_0; }

// ---- Pools --------------------------------------------------------------------------

inline tpuring_pool_stats pool_stats(PTP_POOL pool)
{
    tpuring_pool_stats stats{};
    if (!tpuring_query_pool_stats(pool, &stats))
        throw std::runtime_error("tpuring_query_pool_stats failed, error " + std::to_string(GetLastError()));
    return stats;
}

// A private pool in a given dispatch mode, with an environment bound to it. Closed on
// destruction unless released (for tests that close it themselves).
class Pool {
public:
    explicit Pool(tpuring_dispatch_mode mode, DWORD max_threads = 0, DWORD min_threads = 0)
    {
        pool_ = CreateThreadpool(nullptr);
        if (!pool_)
            throw std::runtime_error("CreateThreadpool failed, error " + std::to_string(GetLastError()));
        if (!tpuring_set_pool_dispatch(pool_, mode))
            throw std::runtime_error("tpuring_set_pool_dispatch failed");
        if (max_threads)
            SetThreadpoolThreadMaximum(pool_, max_threads);
        if (min_threads && !SetThreadpoolThreadMinimum(pool_, min_threads))
            throw std::runtime_error("SetThreadpoolThreadMinimum failed");
        InitializeThreadpoolEnvironment(&env_);
        SetThreadpoolCallbackPool(&env_, pool_);
    }
    ~Pool()
    {
        DestroyThreadpoolEnvironment(&env_);
        if (pool_)
            CloseThreadpool(pool_);
    }
    Pool(const Pool &) = delete;
    Pool &operator=(const Pool &) = delete;

    PTP_POOL get() const { return pool_; }
    PTP_CALLBACK_ENVIRON env() { return &env_; }
    tpuring_pool_stats stats() const { return pool_stats(pool_); }
    // The test takes over closing the pool.
    PTP_POOL release() { return std::exchange(pool_, nullptr); }

private:
    PTP_POOL pool_ = nullptr;
    TP_CALLBACK_ENVIRON env_{};
};

// An environment copied from a base one with a different priority.
inline TP_CALLBACK_ENVIRON env_with_priority(const TP_CALLBACK_ENVIRON &base, TP_CALLBACK_PRIORITY priority)
{
    TP_CALLBACK_ENVIRON env = base;
    SetThreadpoolCallbackPriority(&env, priority);
    return env;
}

// Occupies one worker of a pool until released: start() posts a simple callback that
// signals started and blocks until release(). The destructor releases it and waits for it
// to finish; its state is leaked if the callback never finishes.
class Blocker {
public:
    Blocker() = default;
    ~Blocker()
    {
        state_->gate.set();
        if (!state_->submitted || state_->finished.wait())
            delete state_;
    }
    Blocker(const Blocker &) = delete;
    Blocker &operator=(const Blocker &) = delete;

    // Posts the blocking callback and waits until it runs.
    bool start(PTP_CALLBACK_ENVIRON env)
    {
        state_->submitted = TrySubmitThreadpoolCallback(
            [](PTP_CALLBACK_INSTANCE, PVOID ctx) {
                auto *state = static_cast<State *>(ctx);
                state->started.set();
                state->timed_out = !state->gate.wait(kLongTimeout);
                state->finished.set();
            },
            state_, env);
        return state_->submitted && state_->started.wait();
    }
    void release() { state_->gate.set(); }
    bool wait_finished() { return state_->finished.wait(); }
    bool finished() const { return state_->finished.is_set(); }

private:
    struct State {
        Flag started, gate, finished;
        std::atomic<bool> timed_out{false};
        bool submitted = false;
    };
    State *state_ = new State;
};

// On a pool with maximum 1, returns once everything queued before the call has run:
// a simple callback queued last at LOW priority starts only after all of them.
inline bool drain_single_thread_pool(const TP_CALLBACK_ENVIRON &base)
{
    auto *done = new Flag;
    TP_CALLBACK_ENVIRON env = env_with_priority(base, TP_CALLBACK_PRIORITY_LOW);
    env.CleanupGroup = nullptr;
    env.CleanupGroupCancelCallback = nullptr;
    env.FinalizationCallback = nullptr;
    if (!TrySubmitThreadpoolCallback([](PTP_CALLBACK_INSTANCE, PVOID ctx) { static_cast<Flag *>(ctx)->set(); },
                                     done, &env)) {
        delete done;
        return false;
    }
    bool ok = done->wait();
    if (ok)
        delete done; // on timeout it is leaked: the callback may still run later
    return ok;
}

// ---- Dispatch-mode fixture ----------------------------------------------------------------

// Runs a test once per dispatch mode: the mode applies to the default pool (restored
// afterwards) and to every private pool the test creates through pool().
class DispatchTest : public ::testing::TestWithParam<tpuring_dispatch_mode> {
protected:
    void SetUp() override
    {
        saved_default_mode_ = tpuring_get_pool_dispatch(nullptr);
        ASSERT_TRUE(tpuring_set_pool_dispatch(nullptr, GetParam()));
        ASSERT_EQ(GetParam(), tpuring_get_pool_dispatch(nullptr));
    }
    void TearDown() override { tpuring_set_pool_dispatch(nullptr, saved_default_mode_); }

    tpuring_dispatch_mode mode() const { return GetParam(); }

private:
    tpuring_dispatch_mode saved_default_mode_ = TPURING_DISPATCH_DIRECT;
};

inline std::string dispatch_mode_name(const ::testing::TestParamInfo<tpuring_dispatch_mode> &info)
{
    return info.param == TPURING_DISPATCH_RING ? "Ring" : "Direct";
}

// ---- Process probes -------------------------------------------------------------------

// The process's thread count.
inline long thread_count()
{
    long n = 0;
    if (DIR *dir = opendir("/proc/self/task")) {
        while (dirent *entry = readdir(dir))
            if (entry->d_name[0] != '.')
                ++n;
        closedir(dir);
    }
    return n;
}

} // namespace tptest

#define TPTEST_INSTANTIATE_DISPATCH_MODES(fixture)                                                     \
    INSTANTIATE_TEST_SUITE_P(Dispatch, fixture,                                                        \
                             ::testing::Values(TPURING_DISPATCH_DIRECT, TPURING_DISPATCH_RING),        \
                             ::tptest::dispatch_mode_name)
