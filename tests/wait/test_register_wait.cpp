// RegisterWaitForSingleObject, UnregisterWait and UnregisterWaitEx (spec/legacy-api.md),
// including every registered-wait item of its "Observed in Wine's tests" list and the
// README fine points about re-arming and ERROR_IO_PENDING. Documented deviations tested as
// such: a mutex is rejected with ERROR_NOT_SUPPORTED; WT_EXECUTEINWAITTHREAD callbacks run
// on a worker of the default pool (there is no wait thread).
#include "wait_support.h"

namespace {

using namespace waittest;

void settle(Millis how_long = 300ms) { std::this_thread::sleep_for(how_long); }

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

void CALLBACK reg_log(PVOID ctx, BOOLEAN timer_or_wait_fired)
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

Clock::time_point at(int64_t ns) { return Clock::time_point(Clock::duration(ns)); }

// ---- Registration and arguments -------------------------------------------------------------------

// Wine: register then immediately unregister: no callback; the unregister succeeds.
TEST(RegisterWait, ImmediateUnregisterGivesNoCallback)
{
    Handle sem = make_semaphore(0, 1);
    Shared<RegLog> log;
    HANDLE h = nullptr;
    ASSERT_TRUE(RegisterWaitForSingleObject(&h, sem, reg_log, log.get(), INFINITE, WT_EXECUTEDEFAULT));
    ASSERT_NE(nullptr, h);
    EXPECT_TRUE(UnregisterWait(h));
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    settle();
    EXPECT_EQ(0, log->calls.get());
    EXPECT_TRUE(semaphore_full(sem));
}

TEST(RegisterWait, CallbackGetsTheContextOnAWorkerThread)
{
    Handle event = make_event(false, true);
    Shared<RegLog> log;
    HANDLE h = nullptr;
    ASSERT_TRUE(RegisterWaitForSingleObject(&h, event, reg_log, log.get(), INFINITE, WT_EXECUTEONLYONCE));
    ASSERT_TRUE(log->calls.wait_for_at_least(1));
    EXPECT_EQ(log.get(), log->context.load());
    EXPECT_NE(0u, log->thread.load());
    EXPECT_NE(GetCurrentThreadId(), log->thread.load());
    EXPECT_EQ(1, log->fired.load());
    EXPECT_EQ(WAIT_TIMEOUT, WaitForSingleObject(event, 0)); // auto-reset: consumed
    EXPECT_TRUE(UnregisterWaitEx(h, INVALID_HANDLE_VALUE));
}

// Wine: INFINITE without WT_EXECUTEONLYONCE: two releases (waiting for each callback) give
// two callbacks and the semaphore is consumed each time.
TEST(RegisterWait, WithoutOnlyOnceEveryReleaseGivesACallback)
{
    Handle sem = make_semaphore(0, 1);
    Shared<RegLog> log;
    HANDLE h = nullptr;
    ASSERT_TRUE(RegisterWaitForSingleObject(&h, sem, reg_log, log.get(), INFINITE, WT_EXECUTEDEFAULT));
    for (long n = 1; n <= 2; ++n) {
        ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
        ASSERT_TRUE(log->calls.wait_for_at_least(n)) << n;
        EXPECT_EQ(n, log->fired.load());
        EXPECT_EQ(WAIT_TIMEOUT, WaitForSingleObject(sem, 0)); // consumed (0 consumes nothing here)
    }
    settle();
    EXPECT_EQ(2, log->calls.get());
    EXPECT_EQ(0, log->timed_out.load());
    EXPECT_TRUE(UnregisterWaitEx(h, INVALID_HANDLE_VALUE));
}

// Wine: WT_EXECUTEONLYONCE: first release -> one callback; second release -> no callback
// and the semaphore stays signalled. The registration must still be unregistered.
TEST(RegisterWait, OnlyOnceStopsAfterTheFirstCallback)
{
    Handle sem = make_semaphore(0, 1);
    Shared<RegLog> log;
    HANDLE h = nullptr;
    ASSERT_TRUE(RegisterWaitForSingleObject(&h, sem, reg_log, log.get(), INFINITE, WT_EXECUTEONLYONCE));
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    ASSERT_TRUE(log->calls.wait_for_at_least(1));
    EXPECT_EQ(1, log->fired.load());
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    settle();
    EXPECT_EQ(1, log->calls.get());
    EXPECT_TRUE(semaphore_full(sem));
    EXPECT_TRUE(UnregisterWaitEx(h, INVALID_HANDLE_VALUE));
}

// A manual-reset event stays signalled: without ONLYONCE the registration triggers again
// and again (the documented hazard) until it is unregistered; the blocking unregister
// returns once the callbacks queued so far have run, and leaves none running or to come.
struct Storm {
    std::atomic<bool> unregistered{false};
    std::atomic<long> after_unregister{0};
    std::atomic<long> calls{0};
};

void CALLBACK storm_callback(PVOID ctx, BOOLEAN)
{
    auto *s = static_cast<Storm *>(ctx);
    ++s->calls;
    if (s->unregistered.load())
        ++s->after_unregister;
}

TEST(RegisterWait, ManualEventRetriggersUntilABlockingUnregister)
{
    Handle event = make_event(true, true);
    Shared<Storm> s;
    HANDLE h = nullptr;
    ASSERT_TRUE(RegisterWaitForSingleObject(&h, event, storm_callback, s.get(), INFINITE, WT_EXECUTEDEFAULT));
    ASSERT_TRUE(eventually([&] { return s->calls.load() >= 5; }));
    EXPECT_TRUE(UnregisterWaitEx(h, INVALID_HANDLE_VALUE));
    s->unregistered = true;
    const long calls = s->calls.load();
    settle();
    EXPECT_EQ(calls, s->calls.load());
    EXPECT_EQ(0, s->after_unregister.load());
    EXPECT_TRUE(signaled_now(event)); // manual reset: never reset by the registration
}

// Acquire semantics as WaitForSingleObject: an auto-reset event is reset.
TEST(RegisterWait, AutoResetEventIsResetByTheRegistration)
{
    Handle event = make_event(false, false);
    Shared<RegLog> log;
    HANDLE h = nullptr;
    ASSERT_TRUE(RegisterWaitForSingleObject(&h, event, reg_log, log.get(), INFINITE, WT_EXECUTEDEFAULT));
    ASSERT_TRUE(SetEvent(event));
    ASSERT_TRUE(log->calls.wait_for_at_least(1));
    settle();
    EXPECT_EQ(1, log->calls.get());
    EXPECT_EQ(WAIT_TIMEOUT, WaitForSingleObject(event, 0));
    EXPECT_TRUE(UnregisterWaitEx(h, INVALID_HANDLE_VALUE));
}

// ---- Timeouts --------------------------------------------------------------------------------------

// Wine: timeout 200 ms: no callback before, one timeout callback (TimerOrWaitFired TRUE).
TEST(RegisterWait, TimeoutGivesTrueNotEarly)
{
    Handle sem = make_semaphore(0, 1);
    Shared<RegLog> log;
    HANDLE h = nullptr;
    const auto start = Clock::now();
    ASSERT_TRUE(RegisterWaitForSingleObject(&h, sem, reg_log, log.get(), 200, WT_EXECUTEONLYONCE));
    ASSERT_TRUE(log->calls.wait_for_at_least(1));
    EXPECT_EQ(1, log->timed_out.load());
    EXPECT_EQ(0, log->fired.load());
    EXPECT_GE(us_between(start, at(log->times()[0])), 199000);
    settle();
    EXPECT_EQ(1, log->calls.get());
    EXPECT_TRUE(UnregisterWaitEx(h, INVALID_HANDLE_VALUE));
    EXPECT_EQ(0, semaphore_count(sem));
}

// Wine: timeout 200 ms and release at 100 ms -> signalled callback (FALSE).
TEST(RegisterWait, ReleaseBeforeTheTimeoutGivesFalse)
{
    Handle sem = make_semaphore(0, 1);
    Shared<RegLog> log;
    HANDLE h = nullptr;
    const auto start = Clock::now();
    ASSERT_TRUE(RegisterWaitForSingleObject(&h, sem, reg_log, log.get(), 600, WT_EXECUTEONLYONCE));
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    const int64_t release_delay = ms_since(start);
    ASSERT_TRUE(log->calls.wait_for_at_least(1));
    std::this_thread::sleep_until(start + 900ms);
    EXPECT_TRUE(UnregisterWaitEx(h, INVALID_HANDLE_VALUE));
    if (release_delay > 400)
        GTEST_SKIP() << "the machine stalled " << release_delay << " ms between registering and releasing";
    EXPECT_EQ(1, log->fired.load());
    EXPECT_EQ(0, log->timed_out.load());
    EXPECT_EQ(1, log->calls.get());
    EXPECT_EQ(0, semaphore_count(sem));
}

// Fine point: without ONLYONCE the registration re-arms after every callback, timeouts
// included, restarting its timeout: the n-th timeout callback is at least n periods late.
TEST(RegisterWait, WithoutOnlyOnceTimeoutsRepeatAndRestart)
{
    Handle sem = make_semaphore(0, 1);
    Shared<RegLog> log;
    HANDLE h = nullptr;
    const auto start = Clock::now();
    ASSERT_TRUE(RegisterWaitForSingleObject(&h, sem, reg_log, log.get(), 150, WT_EXECUTEDEFAULT));
    ASSERT_TRUE(log->calls.wait_for_at_least(4));
    EXPECT_TRUE(UnregisterWaitEx(h, INVALID_HANDLE_VALUE));
    std::vector<int64_t> times = log->times();
    ASSERT_GE(times.size(), 4u);
    for (size_t n = 0; n < times.size(); ++n)
        EXPECT_GE(us_between(start, at(times[n])), int64_t(n + 1) * 150000 - 1000) << "callback " << n;
    EXPECT_EQ(static_cast<long>(times.size()), log->timed_out.load());
    EXPECT_EQ(0, log->fired.load());
}

// A signal restarts the timeout too: after a signalled callback the next timeout is a full
// period after it, not at the first arming's deadline.
TEST(RegisterWait, ASignalRestartsTheTimeout)
{
    Handle sem = make_semaphore(0, 1);
    Shared<RegLog> log;
    HANDLE h = nullptr;
    ASSERT_TRUE(RegisterWaitForSingleObject(&h, sem, reg_log, log.get(), 500, WT_EXECUTEDEFAULT));
    settle(250ms);
    const auto released = Clock::now();
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    ASSERT_TRUE(log->calls.wait_for_at_least(2));
    EXPECT_TRUE(UnregisterWaitEx(h, INVALID_HANDLE_VALUE));
    std::vector<int64_t> times = log->times();
    ASSERT_GE(times.size(), 2u);
    std::vector<bool> kinds;
    {
        std::lock_guard guard(log->lock);
        kinds = log->kinds;
    }
    if (kinds[0])
        GTEST_SKIP() << "the machine stalled: the first timeout came before the release";
    EXPECT_FALSE(kinds[0]);
    EXPECT_TRUE(kinds[1]);
    EXPECT_GE(us_between(released, at(times[1])), 499000);
}

// Wine: timeout 0 + ONLYONCE on an unsignalled object: one timeout callback at once.
TEST(RegisterWait, ZeroTimeoutOnlyOnceOnAnUnsignalledObject)
{
    Handle sem = make_semaphore(0, 1);
    Shared<RegLog> log;
    HANDLE h = nullptr;
    ASSERT_TRUE(RegisterWaitForSingleObject(&h, sem, reg_log, log.get(), 0, WT_EXECUTEONLYONCE));
    ASSERT_TRUE(log->calls.wait_for_at_least(1));
    EXPECT_EQ(1, log->timed_out.load());
    settle();
    EXPECT_EQ(1, log->calls.get());
    EXPECT_TRUE(UnregisterWaitEx(h, INVALID_HANDLE_VALUE));
}

// Spec (dwMilliseconds): "0 = check the state now and call back at once (TRUE if not
// signaled)" — so a signalled object gives FALSE and is consumed like WaitForSingleObject(h, 0).
TEST(RegisterWait, ZeroTimeoutOnlyOnceOnASignalledObjectReportsTheSignal)
{
    Handle sem = make_semaphore(1, 2);
    Shared<RegLog> log;
    HANDLE h = nullptr;
    ASSERT_TRUE(RegisterWaitForSingleObject(&h, sem, reg_log, log.get(), 0, WT_EXECUTEONLYONCE));
    ASSERT_TRUE(log->calls.wait_for_at_least(1));
    EXPECT_TRUE(UnregisterWaitEx(h, INVALID_HANDLE_VALUE));
    EXPECT_EQ(1, log->fired.load()) << "TimerOrWaitFired was TRUE for a signalled object";
    EXPECT_EQ(0, log->timed_out.load());
    EXPECT_EQ(0, semaphore_count(sem));
}

// The current-process pseudo-handle never signals: only the timeout fires.
TEST(RegisterWait, CurrentProcessPseudoHandleOnlyTimesOut)
{
    Shared<RegLog> log;
    HANDLE h = nullptr;
    const auto start = Clock::now();
    ASSERT_TRUE(
        RegisterWaitForSingleObject(&h, GetCurrentProcess(), reg_log, log.get(), 200, WT_EXECUTEONLYONCE));
    ASSERT_TRUE(log->calls.wait_for_at_least(1));
    EXPECT_EQ(1, log->timed_out.load());
    EXPECT_GE(us_between(start, at(log->times()[0])), 199000);
    EXPECT_TRUE(UnregisterWaitEx(h, INVALID_HANDLE_VALUE));
}

// ---- The registration handle inside the callback ------------------------------------------------------

struct HandleSeen {
    HANDLE variable = nullptr; // the phNewWaitObject target
    std::atomic<HANDLE> seen{nullptr};
    HANDLE done = nullptr;
};

void CALLBACK read_registration_handle(PVOID ctx, BOOLEAN)
{
    auto *s = static_cast<HandleSeen *>(ctx);
    s->seen = *static_cast<HANDLE volatile *>(&s->variable);
    SetEvent(s->done);
}

// Wine: 100 iterations of registering an already-set event with ONLYONCE |
// INWAITTHREAD and a callback that reads the handle variable: it always holds the new
// registration handle.
TEST(RegisterWait, HandleIsStoredBeforeTheCallbackCanRun)
{
    Handle event = make_event(true, true);
    Handle done = make_event(false, false);
    Shared<HandleSeen> s;
    s->done = done;
    for (int i = 0; i < 100; ++i) {
        s->variable = reinterpret_cast<HANDLE>(0xdeadbeef);
        s->seen = nullptr;
        HANDLE returned = nullptr;
        ASSERT_TRUE(RegisterWaitForSingleObject(&s->variable, event, read_registration_handle, s.get(), INFINITE,
                                                WT_EXECUTEONLYONCE | WT_EXECUTEINWAITTHREAD));
        returned = s->variable;
        ASSERT_TRUE(signaled_within(done)) << "iteration " << i;
        EXPECT_NE(reinterpret_cast<HANDLE>(0xdeadbeef), s->seen.load()) << "iteration " << i;
        EXPECT_EQ(returned, s->seen.load()) << "iteration " << i;
        ASSERT_TRUE(UnregisterWaitEx(returned, INVALID_HANDLE_VALUE)) << "iteration " << i;
    }
}

// ---- UnregisterWait(Ex) -------------------------------------------------------------------------------------

// Wine: UnregisterWait(NULL) -> FALSE, ERROR_INVALID_HANDLE; the same for UnregisterWaitEx.
TEST(UnregisterWait, NullHandleIsInvalidHandle)
{
    Handle event = make_event(true, false);
    SetLastError(0);
    EXPECT_FALSE(UnregisterWait(nullptr));
    EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_HANDLE), GetLastError());
    for (HANDLE completion : {static_cast<HANDLE>(nullptr), INVALID_HANDLE_VALUE, event.get()}) {
        SetLastError(0);
        EXPECT_FALSE(UnregisterWaitEx(nullptr, completion));
        EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_HANDLE), GetLastError());
    }
    // "For any other error the event will not be signaled."
    EXPECT_EQ(WAIT_TIMEOUT, WaitForSingleObject(event, 0));
}

// Wine: UnregisterWaitEx(h, NULL), (h, INVALID_HANDLE_VALUE), (h, event) before any
// trigger all succeed; the event is signalled.
TEST(UnregisterWait, AllModesSucceedBeforeAnyTrigger)
{
    Handle sem = make_semaphore(0, 1);
    Handle event = make_event(true, false);
    Shared<RegLog> log;
    HANDLE h1 = nullptr, h2 = nullptr, h3 = nullptr;
    ASSERT_TRUE(RegisterWaitForSingleObject(&h1, sem, reg_log, log.get(), INFINITE, WT_EXECUTEDEFAULT));
    ASSERT_TRUE(RegisterWaitForSingleObject(&h2, sem, reg_log, log.get(), INFINITE, WT_EXECUTEDEFAULT));
    ASSERT_TRUE(RegisterWaitForSingleObject(&h3, sem, reg_log, log.get(), INFINITE, WT_EXECUTEDEFAULT));
    EXPECT_TRUE(UnregisterWaitEx(h1, nullptr));
    EXPECT_TRUE(UnregisterWaitEx(h2, INVALID_HANDLE_VALUE));
    EXPECT_TRUE(UnregisterWaitEx(h3, event));
    EXPECT_TRUE(signaled_within(event));
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    settle();
    EXPECT_EQ(0, log->calls.get());
    EXPECT_TRUE(semaphore_full(sem));
}

// Wine: the same three after a finished timeout callback: all succeed; event signalled.
TEST(UnregisterWait, AllModesSucceedAfterAFinishedTimeoutCallback)
{
    Handle sem = make_semaphore(0, 1);
    Handle event = make_event(true, false);
    Shared<RegLog> log;
    HANDLE h[3] = {};
    for (HANDLE &registration : h)
        ASSERT_TRUE(RegisterWaitForSingleObject(&registration, sem, reg_log, log.get(), 0, WT_EXECUTEONLYONCE));
    ASSERT_TRUE(log->calls.wait_for_at_least(3));
    settle(1000ms); // let the callbacks return
    EXPECT_EQ(3, log->timed_out.load());
    EXPECT_TRUE(UnregisterWaitEx(h[0], nullptr));
    EXPECT_TRUE(UnregisterWaitEx(h[1], INVALID_HANDLE_VALUE));
    EXPECT_TRUE(UnregisterWaitEx(h[2], event));
    EXPECT_TRUE(signaled_within(event));
}

// A registration whose callback blocks until the test opens its gate.
struct Gated {
    Flag entered;
    Flag gate;
    Flag finished;
    std::atomic<long> calls{0};
};

void CALLBACK gated_callback(PVOID ctx, BOOLEAN)
{
    auto *g = static_cast<Gated *>(ctx);
    ++g->calls;
    g->entered.set();
    if (!g->gate.wait(kLongTimeout))
        ADD_FAILURE() << "gate never opened";
    g->finished.set();
}

class UnregisterWhileRunning : public ::testing::Test {
protected:
    // Registers (without ONLYONCE) on `sem` and waits until its callback is blocked.
    void start()
    {
        ASSERT_TRUE(RegisterWaitForSingleObject(&h, sem, gated_callback, g.get(), INFINITE, WT_EXECUTEDEFAULT));
        ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
        ASSERT_TRUE(g->entered.wait());
    }
    // After the unregistration: a new release produces nothing and stays in the semaphore.
    void expect_no_more_callbacks()
    {
        ASSERT_TRUE(g->finished.wait());
        ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
        settle();
        EXPECT_EQ(1, g->calls.load());
        EXPECT_TRUE(semaphore_full(sem));
    }
    void TearDown() override { g->gate.set(); }

    Handle sem = make_semaphore(0, 1);
    Shared<Gated> g;
    HANDLE h = nullptr;
};

// Wine / fine point: UnregisterWait while the callback runs -> FALSE, ERROR_IO_PENDING, and
// the unregistration still takes effect.
TEST_F(UnregisterWhileRunning, UnregisterWaitIsPending)
{
    start();
    SetLastError(0);
    EXPECT_FALSE(UnregisterWait(h));
    EXPECT_EQ(static_cast<DWORD>(ERROR_IO_PENDING), GetLastError());
    EXPECT_FALSE(g->finished.is_set()); // it did not wait
    g->gate.set();
    expect_no_more_callbacks();
}

TEST_F(UnregisterWhileRunning, UnregisterWaitExNullIsPending)
{
    start();
    SetLastError(0);
    EXPECT_FALSE(UnregisterWaitEx(h, nullptr));
    EXPECT_EQ(static_cast<DWORD>(ERROR_IO_PENDING), GetLastError());
    g->gate.set();
    expect_no_more_callbacks();
}

// Wine: UnregisterWaitEx(h, INVALID_HANDLE_VALUE) succeeds after the callback ended.
TEST_F(UnregisterWhileRunning, UnregisterWaitExInvalidHandleValueBlocksUntilTheCallbackEnded)
{
    start();
    std::atomic<BOOL> result{FALSE};
    std::atomic<bool> finished_before_return{false};
    {
        GuardedCall call([&] {
            result = UnregisterWaitEx(h, INVALID_HANDLE_VALUE);
            finished_before_return = g->finished.is_set();
        });
        EXPECT_FALSE(call.finished_within(300ms));
        g->gate.set();
        ASSERT_TRUE(call.finished_within(kTimeout));
    }
    EXPECT_TRUE(result.load());
    EXPECT_TRUE(finished_before_return.load());
    expect_no_more_callbacks();
}

// Wine: UnregisterWaitEx(h, event) -> pending; the event is signalled after the callback ended.
TEST_F(UnregisterWhileRunning, UnregisterWaitExEventIsPendingThenSignalled)
{
    start();
    Handle event = make_event(true, false);
    SetLastError(0);
    EXPECT_FALSE(UnregisterWaitEx(h, event));
    EXPECT_EQ(static_cast<DWORD>(ERROR_IO_PENDING), GetLastError());
    EXPECT_EQ(WAIT_TIMEOUT, WaitForSingleObject(event, 300));
    g->gate.set();
    EXPECT_TRUE(signaled_within(event));
    EXPECT_TRUE(g->finished.is_set());
    expect_no_more_callbacks();
}

// README ⚠ 30: UnregisterWait from the registration's own worker-thread callback -> FALSE,
// ERROR_IO_PENDING (its own callback is outstanding), and no further callback: the
// registration had already re-armed on the semaphore when its callback started, and a later
// release is neither reported nor consumed.
struct SelfUnregister {
    HANDLE registration = nullptr;
    HANDLE completion = nullptr; // UnregisterWaitEx's event, or NULL for UnregisterWait
    std::atomic<long> calls{0};
    std::atomic<BOOL> result{TRUE};
    std::atomic<DWORD> error{0};
    Flag returned;
};

void CALLBACK unregister_self(PVOID ctx, BOOLEAN)
{
    auto *s = static_cast<SelfUnregister *>(ctx);
    if (++s->calls == 1) {
        SetLastError(0);
        s->result = s->completion ? UnregisterWaitEx(s->registration, s->completion) : UnregisterWait(s->registration);
        s->error = GetLastError();
        std::this_thread::sleep_for(100ms);
        s->returned.set();
    }
}

TEST(UnregisterWait, FromTheOwnCallbackIsPendingAndStopsTheRegistration)
{
    Handle sem = make_semaphore(0, 5);
    Shared<SelfUnregister> s;
    ASSERT_TRUE(
        RegisterWaitForSingleObject(&s->registration, sem, unregister_self, s.get(), INFINITE, WT_EXECUTEDEFAULT));
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    ASSERT_TRUE(s->returned.wait());
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    settle();
    EXPECT_EQ(1, s->calls.load());
    EXPECT_FALSE(s->result.load());
    EXPECT_EQ(static_cast<DWORD>(ERROR_IO_PENDING), s->error.load());
    EXPECT_EQ(1, semaphore_count(sem));
}

TEST(UnregisterWait, ExWithAnEventFromTheOwnCallbackSignalsItAfterTheCallback)
{
    Handle sem = make_semaphore(0, 5);
    Handle completion = make_event(true, false);
    Shared<SelfUnregister> s;
    s->completion = completion;
    ASSERT_TRUE(
        RegisterWaitForSingleObject(&s->registration, sem, unregister_self, s.get(), INFINITE, WT_EXECUTEDEFAULT));
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    ASSERT_TRUE(signaled_within(completion));
    EXPECT_TRUE(s->returned.is_set()); // signalled only once the callback returned
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    settle();
    EXPECT_EQ(1, s->calls.load());
    EXPECT_FALSE(s->result.load());
    EXPECT_EQ(static_cast<DWORD>(ERROR_IO_PENDING), s->error.load());
    EXPECT_EQ(1, semaphore_count(sem));
}

// UnregisterWaitEx(h, INVALID_HANDLE_VALUE) returns only when every callback of the
// registration has completed, and no new one is queued afterwards — also when the wait was
// being satisfied at that very moment. Raced many times; each registration has its own
// context, checked for callbacks that start after the call returned.
struct Unregistered {
    std::atomic<bool> unregistered{false};
    std::atomic<long> calls{0};
    std::atomic<long> late{0};
};

void CALLBACK note_if_after_unregister(PVOID ctx, BOOLEAN)
{
    auto *u = static_cast<Unregistered *>(ctx);
    if (u->unregistered.load())
        ++u->late;
    ++u->calls;
}

TEST(UnregisterWait, NoCallbackStartsAfterABlockingUnregister)
{
    const long n = scaled(3000, 200);
    Handle sem = make_semaphore(0, 1 << 24);
    Shared<std::vector<Unregistered>> states(n);
    for (long i = 0; i < n; ++i) {
        Unregistered &state = (*states)[i];
        HANDLE h = nullptr;
        ASSERT_TRUE(RegisterWaitForSingleObject(&h, sem, note_if_after_unregister, &state, INFINITE,
                                                WT_EXECUTEDEFAULT));
        ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
        jitter(i);
        ASSERT_TRUE(UnregisterWaitEx(h, INVALID_HANDLE_VALUE));
        state.unregistered = true;
    }
    settle();
    long late = 0, calls = 0;
    for (const Unregistered &state : *states) {
        late += state.late.load();
        calls += state.calls.load();
    }
    EXPECT_EQ(0, late) << "callbacks started after UnregisterWaitEx(h, INVALID_HANDLE_VALUE) returned";
    EXPECT_EQ(n, calls + drain_units(sem)) << "units lost or taken twice";
    RecordProperty("callbacks", static_cast<int>(calls));
}

// ---- Flags ------------------------------------------------------------------------------------------------

// WT_EXECUTEINWAITTHREAD, WT_EXECUTELONGFUNCTION, WT_EXECUTEINPERSISTENTTHREAD and the other
// flags are accepted; the callback runs on a thread other than the caller's.
TEST(RegisterWaitFlags, EveryFlagIsAcceptedAndTheCallbackRuns)
{
    ULONG with_limit = 0;
    WT_SET_MAX_THREADPOOL_THREADS(with_limit, 8);
    const ULONG flags[] = {WT_EXECUTEDEFAULT,           WT_EXECUTEINIOTHREAD,       WT_EXECUTEINWAITTHREAD,
                           WT_EXECUTELONGFUNCTION,      WT_EXECUTEINPERSISTENTTHREAD, WT_TRANSFER_IMPERSONATION,
                           WT_EXECUTEINTIMERTHREAD,     with_limit,
                           WT_EXECUTEINWAITTHREAD | WT_EXECUTELONGFUNCTION | WT_EXECUTEINPERSISTENTTHREAD};
    for (ULONG flag : flags) {
        Handle event = make_event(false, true);
        Shared<RegLog> log;
        HANDLE h = nullptr;
        ASSERT_TRUE(RegisterWaitForSingleObject(&h, event, reg_log, log.get(), INFINITE, flag | WT_EXECUTEONLYONCE))
            << "flags " << std::hex << flag;
        ASSERT_TRUE(log->calls.wait_for_at_least(1)) << "flags " << std::hex << flag;
        EXPECT_EQ(1, log->fired.load());
        EXPECT_NE(GetCurrentThreadId(), log->thread.load());
        EXPECT_TRUE(UnregisterWaitEx(h, INVALID_HANDLE_VALUE));
    }
}

// Deviation: there is no wait thread. Two WT_EXECUTEINWAITTHREAD callbacks are not
// serialised (on Windows the second would wait for the first): the first one blocks until
// the second has run.
struct InWaitThread {
    HANDLE second_trigger = nullptr;
    Flag second_ran;
    std::atomic<bool> first_saw_second{false};
    std::atomic<DWORD> first_thread{0}, second_thread{0};
    Flag first_done;
};

void CALLBACK first_in_wait_thread(PVOID ctx, BOOLEAN)
{
    auto *w = static_cast<InWaitThread *>(ctx);
    w->first_thread = GetCurrentThreadId();
    SetEvent(w->second_trigger);
    w->first_saw_second = w->second_ran.wait();
    w->first_done.set();
}

void CALLBACK second_in_wait_thread(PVOID ctx, BOOLEAN)
{
    auto *w = static_cast<InWaitThread *>(ctx);
    w->second_thread = GetCurrentThreadId();
    w->second_ran.set();
}

TEST(RegisterWaitFlags, InWaitThreadCallbacksRunOnWorkersConcurrently)
{
    Handle first = make_event(false, false);
    Handle second = make_event(false, false);
    Shared<InWaitThread> w;
    w->second_trigger = second;
    HANDLE h1 = nullptr, h2 = nullptr;
    const ULONG flags = WT_EXECUTEINWAITTHREAD | WT_EXECUTEONLYONCE;
    ASSERT_TRUE(RegisterWaitForSingleObject(&h1, first, first_in_wait_thread, w.get(), INFINITE, flags));
    ASSERT_TRUE(RegisterWaitForSingleObject(&h2, second, second_in_wait_thread, w.get(), INFINITE, flags));
    ASSERT_TRUE(SetEvent(first));
    ASSERT_TRUE(w->first_done.wait());
    EXPECT_TRUE(w->first_saw_second.load());
    EXPECT_NE(w->first_thread.load(), w->second_thread.load());
    EXPECT_NE(GetCurrentThreadId(), w->first_thread.load());
    EXPECT_TRUE(UnregisterWaitEx(h1, INVALID_HANDLE_VALUE));
    EXPECT_TRUE(UnregisterWaitEx(h2, INVALID_HANDLE_VALUE));
}

// Deviation: a mutex is rejected with ERROR_NOT_SUPPORTED (its ownership would go to an
// internal waiter that cannot release it).
TEST(RegisterWaitFlags, MutexIsNotSupported)
{
    Handle mutex = make_mutex(false);
    Shared<RegLog> log;
    HANDLE h = nullptr;
    SetLastError(0);
    EXPECT_FALSE(RegisterWaitForSingleObject(&h, mutex, reg_log, log.get(), INFINITE, WT_EXECUTEONLYONCE));
    EXPECT_EQ(static_cast<DWORD>(ERROR_NOT_SUPPORTED), GetLastError());
    settle(100ms);
    EXPECT_EQ(0, log->calls.get());
}

// ---- Many registrations -------------------------------------------------------------------------------------

// No 64-handle limit: 256 registrations on 256 semaphores, each release reaching only its own.
struct Slot {
    std::atomic<long> *counts;
    int index;
    Counter *total;
};

void CALLBACK slot_callback(PVOID ctx, BOOLEAN timer_or_wait_fired)
{
    auto *s = static_cast<Slot *>(ctx);
    if (!timer_or_wait_fired)
        s->counts[s->index]++;
    s->total->increment();
}

TEST(RegisterWaitMany, EachReleaseReachesItsOwnRegistration)
{
    constexpr int kCount = 256;
    Shared<std::array<std::atomic<long>, kCount>> counts;
    Shared<Counter> total;
    Shared<std::array<Slot, kCount>> slots;
    std::vector<Handle> sems;
    std::vector<HANDLE> registrations(kCount);
    for (int i = 0; i < kCount; ++i) {
        (*counts)[i] = 0;
        (*slots)[i] = {counts->data(), i, total.get()};
        sems.push_back(make_semaphore(0, 1));
        ASSERT_TRUE(RegisterWaitForSingleObject(&registrations[i], sems[i], slot_callback, &(*slots)[i], INFINITE,
                                                WT_EXECUTEDEFAULT));
    }
    for (int round = 1; round <= 2; ++round) {
        for (int i = 0; i < kCount; ++i)
            ASSERT_TRUE(ReleaseSemaphore(sems[round == 1 ? i : kCount - 1 - i], 1, nullptr));
        ASSERT_TRUE(total->wait_for_at_least(round * kCount));
    }
    settle();
    EXPECT_EQ(2 * kCount, total->get());
    for (int i = 0; i < kCount; ++i)
        EXPECT_EQ(2, (*counts)[i].load()) << i;
    for (HANDLE h : registrations)
        EXPECT_TRUE(UnregisterWaitEx(h, INVALID_HANDLE_VALUE));
}

} // namespace
