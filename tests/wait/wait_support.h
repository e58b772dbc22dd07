// Helpers shared by the wait suites: a recorder for thread-pool wait callbacks and one for
// registered waits, the fixture and gated callback the thread-pool wait files share, probes
// that read a semaphore's state without consuming it, and a guard that runs a
// possibly-blocking call on a helper thread so that a hang becomes a failure. Builds on
// ../common/test_support.h (deadlines, FILETIME timeouts, handles, pools, sequencing).
#pragma once

#include "../common/test_support.h"

#include <cstdint>
#include <memory>

namespace waittest {

using namespace tptest;

// ---- Time --------------------------------------------------------------------------

// Lets an armed-but-not-due arming "not fire" for a while.
inline void settle(Millis how_long = 300ms) { std::this_thread::sleep_for(how_long); }

// A zero FILETIME timeout: time out at once.
inline FILETIME zero_timeout() { return filetime_from(0); }

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

// ---- Shared by the thread-pool wait files ----------------------------------------------

// A private pool per test, in each dispatch mode: a direct pool's waits on events and
// semaphores are handed their signals by the signalling thread, a ring pool's are futex ops
// on its ring. Outside an anonymous namespace: one suite spans several source files, each
// executable instantiates it once (TPTEST_INSTANTIATE_DISPATCH_MODES).
class WaitTest : public DispatchTest {
protected:
    Pool pool{mode()};
};

// A wait callback that records its result, signals entered, and blocks until the test
// opens the gate.
struct Entered {
    Flag entered;
    Flag gate;
    Flag finished;
    std::atomic<DWORD> result{0xDEAD};
    std::atomic<long> calls{0};
};

inline void CALLBACK gated_wait(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WAIT, TP_WAIT_RESULT result)
{
    auto *e = static_cast<Entered *>(ctx);
    e->result = result;
    ++e->calls;
    e->entered.set();
    if (!e->gate.wait(kLongTimeout))
        ADD_FAILURE() << "gate never opened";
    e->finished.set();
}

// Occupies the only worker of a one-thread pool with `blocker`, then arms `wait` on `sem`
// (one unit available) and returns once the wait has taken the unit: its callback is then
// queued behind the blocker, not running.
inline ::testing::AssertionResult queue_behind_blocker(Blocker &blocker, PTP_CALLBACK_ENVIRON pool_env, PTP_WAIT wait,
                                                       HANDLE sem)
{
    if (!blocker.start(pool_env))
        return ::testing::AssertionFailure() << "the blocking callback did not start";
    SetThreadpoolWait(wait, sem, nullptr);
    if (!eventually([&] { return !semaphore_full(sem); }))
        return ::testing::AssertionFailure() << "the wait never took the semaphore's unit";
    return ::testing::AssertionSuccess();
}

// ---- Registered waits (RegisterWaitForSingleObject) --------------------------------------

// Records every callback of one registration.
struct RegLog {
    std::atomic<long> fired{0};     // TimerOrWaitFired == FALSE: the object was signalled
    std::atomic<long> timed_out{0}; // TRUE: the timeout elapsed
    std::atomic<PVOID> context{nullptr};
    std::atomic<DWORD> thread{0};
    std::vector<int64_t> times_ns; // steady clock, guarded by lock
    std::vector<bool> kinds;       // true = timed out
    std::mutex lock;
    Counter calls;

    std::vector<int64_t> times()
    {
        std::lock_guard guard(lock);
        return times_ns;
    }
};

inline void CALLBACK reg_log(PVOID ctx, BOOLEAN timer_or_wait_fired)
{
    auto *r = static_cast<RegLog *>(ctx);
    {
        std::lock_guard guard(r->lock);
        r->times_ns.push_back(Clock::now().time_since_epoch().count());
        r->kinds.push_back(timer_or_wait_fired != FALSE);
    }
    r->context = ctx;
    r->thread = GetCurrentThreadId();
    if (timer_or_wait_fired)
        ++r->timed_out;
    else
        ++r->fired;
    r->calls.increment();
}

} // namespace waittest
