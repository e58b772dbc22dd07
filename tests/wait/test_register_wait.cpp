// RegisterWaitForSingleObject (spec/legacy-api.md): arguments, timeouts, the registration
// handle inside the callback, flags and many registrations, including every registered-wait
// item of its "Observed in Wine's tests" list and the README fine points about re-arming.
// UnregisterWait(Ex) and ERROR_IO_PENDING are in test_unregister_wait.cpp. Documented deviations tested as
// such: a mutex is rejected with ERROR_NOT_SUPPORTED; WT_EXECUTEINWAITTHREAD callbacks run
// on a worker of the default pool (there is no wait thread).
#include "wait_support.h"

namespace {

using namespace waittest;

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
