// Helpers shared by the wait suites: a recorder for thread-pool wait callbacks, FILETIME
// timeouts, probes that read a semaphore's state without consuming it, and a guard that
// runs a possibly-blocking call on a helper thread so that a hang becomes a failure.
#pragma once

#include "../threadpool/test_support.h"

#include <cstdint>
#include <memory>

namespace waittest {

using namespace std::chrono_literals;
using tptest::Clock;
using tptest::DelayedAction;
using tptest::env_with_priority;
using tptest::eventually;
using tptest::Handle;
using tptest::kLongTimeout;
using tptest::kTimeout;
using tptest::kWaitMs;
using tptest::make_event;
using tptest::make_mutex;
using tptest::make_semaphore;
using tptest::Millis;
using tptest::OrderLog;
using tptest::Pool;
using tptest::scaled;
using tptest::Shared;
using tptest::signaled_now;
using tptest::signaled_within;

// ---- Sequencing primitives that callbacks may signal right before the state is freed -------
// tptest::Flag / tptest::Counter notify after unlocking, so a waiter that wakes early (or
// spuriously) can return and free the object while the signalling callback is still inside
// notify_all (ThreadSanitizer reports it). These notify while holding the lock: once the
// waiter holds the lock again, the signaller is done with the object.

class Flag {
public:
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

// Occupies one worker of a pool until released (as tptest::Blocker, on the flags above).
class Blocker {
public:
    Blocker() = default;
    ~Blocker()
    {
        state_->gate.set();
        if (!state_->submitted || state_->finished.wait(kLongTimeout))
            delete state_;
    }
    Blocker(const Blocker &) = delete;
    Blocker &operator=(const Blocker &) = delete;

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
        Flag started, gate, finished;
        bool submitted = false;
    };
    State *state_ = new State;
};

// On a pool with maximum 1, returns once everything queued before the call has run: a
// simple callback queued last at LOW priority starts only after all of them.
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

// ---- Time --------------------------------------------------------------------------

// A relative FILETIME timeout (negative, 100 ns units).
inline FILETIME relative_ms(int64_t ms)
{
    int64_t value = -ms * 10000;
    FILETIME ft;
    ft.dwLowDateTime = static_cast<DWORD>(static_cast<uint64_t>(value) & 0xFFFFFFFFu);
    ft.dwHighDateTime = static_cast<DWORD>(static_cast<uint64_t>(value) >> 32);
    return ft;
}

inline FILETIME zero_timeout() { return FILETIME{0, 0}; }

inline int64_t filetime_value(const FILETIME &ft)
{
    return static_cast<int64_t>((uint64_t(ft.dwHighDateTime) << 32) | ft.dwLowDateTime);
}

inline FILETIME filetime_from(int64_t value)
{
    FILETIME ft;
    ft.dwLowDateTime = static_cast<DWORD>(static_cast<uint64_t>(value) & 0xFFFFFFFFu);
    ft.dwHighDateTime = static_cast<DWORD>(static_cast<uint64_t>(value) >> 32);
    return ft;
}

// An absolute UTC FILETIME `ms` from now (negative ms: in the past).
inline FILETIME absolute_in_ms(int64_t ms)
{
    FILETIME now;
    GetSystemTimeAsFileTime(&now);
    return filetime_from(filetime_value(now) + ms * 10000);
}

inline int64_t ms_since(Clock::time_point start)
{
    return std::chrono::duration_cast<Millis>(Clock::now() - start).count();
}

inline int64_t us_between(Clock::time_point a, Clock::time_point b)
{
    return std::chrono::duration_cast<std::chrono::microseconds>(b - a).count();
}

// Busy-waits a few microseconds, varying with `i`, so that a loop racing a call against the
// ring owner samples the whole window in which the owner is handling the previous step.
inline void jitter(long i)
{
    const auto until = Clock::now() + std::chrono::microseconds((i * 37) % 80);
    while (Clock::now() < until) {
    }
}

// ---- Object probes --------------------------------------------------------------------

// Whether a semaphore is at its maximum, without consuming a unit: a release fails with
// ERROR_TOO_MANY_POSTS exactly then; otherwise the released unit is taken back at once.
// Only meaningful while no other waiter could take the released unit.
inline bool semaphore_full(HANDLE sem)
{
    if (ReleaseSemaphore(sem, 1, nullptr)) {
        WaitForSingleObject(sem, 0); // take the unit back
        return false;
    }
    return GetLastError() == ERROR_TOO_MANY_POSTS;
}

// The count of a semaphore (maximum > count), without changing it: ReleaseSemaphore
// reports the previous count, then the unit is taken back.
inline LONG semaphore_count(HANDLE sem)
{
    LONG previous = -1;
    if (!ReleaseSemaphore(sem, 1, &previous))
        return -1;
    if (WaitForSingleObject(sem, 0) != WAIT_OBJECT_0)
        return -2;
    return previous;
}

// Consumes every available unit (auto-reset event: at most one) and returns how many.
inline long drain_units(HANDLE h, long limit = 1 << 20)
{
    long n = 0;
    while (n < limit && WaitForSingleObject(h, 0) == WAIT_OBJECT_0)
        ++n;
    return n;
}

// ---- Thread-pool wait callbacks ----------------------------------------------------------

// Records every callback of one wait object. Counters are updated before `calls`, so a
// test that waited for `calls` sees the rest.
struct WaitLog {
    std::atomic<long> signalled{0};
    std::atomic<long> timeouts{0};
    std::atomic<long> other{0};
    std::atomic<DWORD> last_result{0xDEAD};
    std::atomic<PTP_CALLBACK_INSTANCE> instance{nullptr};
    std::atomic<PVOID> context{nullptr};
    std::atomic<PTP_WAIT> wait{nullptr};
    std::atomic<DWORD> thread{0};
    std::atomic<int64_t> first_call_ns{0}; // steady-clock time of the first callback
    std::atomic<int64_t> last_call_ns{0};
    Counter calls;

    long total() const { return calls.get(); }
    bool wait_calls(long n, Millis timeout = kTimeout) const { return calls.wait_for_at_least(n, timeout); }
    Clock::time_point first_call() const { return Clock::time_point(Clock::duration(first_call_ns.load())); }
    Clock::time_point last_call() const { return Clock::time_point(Clock::duration(last_call_ns.load())); }

    void record(PTP_CALLBACK_INSTANCE inst, PVOID ctx, PTP_WAIT w, TP_WAIT_RESULT result)
    {
        int64_t now = Clock::now().time_since_epoch().count();
        int64_t expected = 0;
        first_call_ns.compare_exchange_strong(expected, now);
        last_call_ns = now;
        instance = inst;
        context = ctx;
        wait = w;
        thread = GetCurrentThreadId();
        last_result = result;
        if (result == WAIT_OBJECT_0)
            ++signalled;
        else if (result == WAIT_TIMEOUT)
            ++timeouts;
        else
            ++other;
        calls.increment();
    }
};

inline void CALLBACK log_wait(PTP_CALLBACK_INSTANCE instance, PVOID ctx, PTP_WAIT wait, TP_WAIT_RESULT result)
{
    static_cast<WaitLog *>(ctx)->record(instance, ctx, wait, result);
}

// Owns a PTP_WAIT; the destructor performs the safe teardown of wait.md (disarm, cancel and
// wait, close). release() hands the object over to a test that closes it itself.
class WaitObject {
public:
    WaitObject(PTP_WAIT_CALLBACK callback, PVOID context, PTP_CALLBACK_ENVIRON env)
        : wait_(CreateThreadpoolWait(callback, context, env))
    {
        if (!wait_)
            throw std::runtime_error("CreateThreadpoolWait failed, error " + std::to_string(GetLastError()));
    }
    ~WaitObject() { reset(); }
    WaitObject(const WaitObject &) = delete;
    WaitObject &operator=(const WaitObject &) = delete;

    PTP_WAIT get() const { return wait_; }
    operator PTP_WAIT() const { return wait_; }
    PTP_WAIT release() { return std::exchange(wait_, nullptr); }
    void reset()
    {
        if (!wait_)
            return;
        SetThreadpoolWait(wait_, nullptr, nullptr);
        WaitForThreadpoolWaitCallbacks(wait_, TRUE);
        CloseThreadpoolWait(wait_);
        wait_ = nullptr;
    }

private:
    PTP_WAIT wait_;
};

// Runs a call that may block on a helper thread: finished_within() tells whether it
// returned in time. If it never returns the thread is detached (its state is leaked) so
// that the test fails instead of hanging.
class GuardedCall {
public:
    explicit GuardedCall(std::function<void()> fn) : state_(std::make_shared<State>())
    {
        auto state = state_;
        thread_ = std::thread([state, fn = std::move(fn)] {
            fn();
            state->done.set();
        });
    }
    ~GuardedCall()
    {
        if (state_->done.wait(kLongTimeout))
            thread_.join();
        else
            thread_.detach();
    }
    GuardedCall(const GuardedCall &) = delete;
    GuardedCall &operator=(const GuardedCall &) = delete;

    bool finished_within(Millis timeout = kTimeout) { return state_->done.wait(timeout); }
    bool finished() const { return state_->done.is_set(); }

private:
    struct State {
        Flag done;
    };
    std::shared_ptr<State> state_;
    std::thread thread_;
};

} // namespace waittest
