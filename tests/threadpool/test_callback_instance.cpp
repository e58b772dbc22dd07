// Callback instances: CallbackMayRunLong, DisassociateCurrentThreadFromCallback and the
// five return actions with their order, first-value-wins and failure rules
// (spec/callback-instance.md, README "Invocation sequence" and "Fine points").
#include "../common/test_support.h"

#include <dlfcn.h>

namespace {

using namespace tptest;

class CallbackInstanceTest : public DispatchTest {};
TPTEST_INSTANTIATE_DISPATCH_MODES(CallbackInstanceTest);

// ---- CallbackMayRunLong ----------------------------------------------------------------

struct MayRunLong {
    int calls = 1;                 // how many times each invocation asks
    std::vector<int> results[2];   // per invocation slot
    std::atomic<int> next_slot{0};
    std::atomic<DWORD> error{0};
    Barrier *barrier = nullptr;    // optional: meet before asking...
    Barrier *barrier_after = nullptr; // ...and stay busy until both have asked
    Counter done;
};

void CALLBACK ask_may_run_long(PTP_CALLBACK_INSTANCE instance, PVOID ctx, PTP_WORK)
{
    auto *m = static_cast<MayRunLong *>(ctx);
    int slot = m->next_slot++;
    if (m->barrier && !m->barrier->arrive_and_wait(kLongTimeout))
        ADD_FAILURE() << "the pool never ran both callbacks at once";
    for (int i = 0; i < m->calls; ++i) {
        SetLastError(0);
        m->results[slot].push_back(CallbackMayRunLong(instance) ? 1 : 0);
        if (i == 0)
            m->error = GetLastError();
    }
    if (m->barrier_after && !m->barrier_after->arrive_and_wait(kLongTimeout))
        ADD_FAILURE() << "the other callback never asked";
    m->done.increment();
}

// At the maximum with every worker busy: FALSE, ERROR_TOO_MANY_TCBS. The invocation is
// marked long whatever the answer, so a second call returns TRUE (Wine's rule).
TEST_P(CallbackInstanceTest, MayRunLongIsFalseAtTheMaximumThenTrueWhenAskedAgain)
{
    Pool pool(mode(), 1);
    Shared<MayRunLong> m;
    m->calls = 2;
    PTP_WORK work = CreateThreadpoolWork(ask_may_run_long, m.get(), pool.env());
    ASSERT_NE(nullptr, work);
    SubmitThreadpoolWork(work);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
    EXPECT_EQ((std::vector<int>{0, 1}), m->results[0]);
    EXPECT_EQ(static_cast<DWORD>(ERROR_TOO_MANY_TCBS), m->error.load());
}

TEST_P(CallbackInstanceTest, MayRunLongIsFalseWhenBothThreadsOfAFullPoolAreBusy)
{
    Pool pool(mode(), 2);
    Shared<MayRunLong> m;
    Barrier barrier(2), barrier_after(2);
    m->barrier = &barrier;
    m->barrier_after = &barrier_after;
    PTP_WORK work = CreateThreadpoolWork(ask_may_run_long, m.get(), pool.env());
    ASSERT_NE(nullptr, work);
    SubmitThreadpoolWork(work);
    SubmitThreadpoolWork(work);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
    EXPECT_EQ((std::vector<int>{0}), m->results[0]);
    EXPECT_EQ((std::vector<int>{0}), m->results[1]);
}

TEST_P(CallbackInstanceTest, MayRunLongIsTrueWhenAWorkerIsIdle)
{
    Pool pool(mode(), 2, 2); // two persistent threads, one callback
    Shared<MayRunLong> m;
    PTP_WORK work = CreateThreadpoolWork(ask_may_run_long, m.get(), pool.env());
    ASSERT_NE(nullptr, work);
    SubmitThreadpoolWork(work);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
    EXPECT_EQ((std::vector<int>{1}), m->results[0]);
}

struct KeepsThread {
    Flag asked;
    std::atomic<int> result{-1};
    Flag other_ran;
    std::atomic<bool> saw_other{false};
};

// TRUE promises another thread for the pool's other callbacks: a callback queued after it
// runs while the long one keeps its thread.
TEST_P(CallbackInstanceTest, MayRunLongIsTrueBelowTheMaximumAndAnotherThreadServes)
{
    Pool pool(mode(), 2);
    Shared<KeepsThread> k;
    ASSERT_TRUE(TrySubmitThreadpoolCallback(
        [](PTP_CALLBACK_INSTANCE instance, PVOID ctx) {
            auto *s = static_cast<KeepsThread *>(ctx);
            s->result = CallbackMayRunLong(instance) ? 1 : 0;
            s->asked.set();
            s->saw_other = s->other_ran.wait(kLongTimeout);
        },
        k.get(), pool.env()));
    ASSERT_TRUE(k->asked.wait());
    EXPECT_EQ(1, k->result.load());
    ASSERT_TRUE(TrySubmitThreadpoolCallback(
        [](PTP_CALLBACK_INSTANCE, PVOID ctx) { static_cast<KeepsThread *>(ctx)->other_ran.set(); }, k.get(),
        pool.env()));
    EXPECT_TRUE(k->other_ran.wait());
    EXPECT_TRUE(eventually([&] { return k->saw_other.load(); }));
}

// ---- DisassociateCurrentThreadFromCallback -------------------------------------------------

struct Disassociating {
    HANDLE event = nullptr; // return action registered before disassociating
    Flag disassociated;
    Tokens proceed;
    std::atomic<bool> finished{false};
    std::atomic<int> finalizations{0};
    bool twice = false;
};

void CALLBACK disassociate_then_block(PTP_CALLBACK_INSTANCE instance, PVOID ctx, PTP_WORK)
{
    auto *d = static_cast<Disassociating *>(ctx);
    if (d->event)
        SetEventWhenCallbackReturns(instance, d->event);
    DisassociateCurrentThreadFromCallback(instance);
    if (d->twice)
        DisassociateCurrentThreadFromCallback(instance); // does nothing
    d->disassociated.set();
    d->proceed.acquire(kLongTimeout);
    d->finished = true;
}

// Wine: WaitForThreadpoolWorkCallbacks returns while a disassociated callback still runs;
// return actions registered before disassociating and the finalization callback still run.
TEST_P(CallbackInstanceTest, WaitForReturnsWhileADisassociatedCallbackStillRuns)
{
    for (bool twice : {false, true}) {
        Pool pool(mode());
        Handle event = make_event();
        Shared<Disassociating> d;
        d->event = event;
        d->twice = twice;
        TP_CALLBACK_ENVIRON env = *pool.env();
        TpSetCallbackFinalizationCallback(
            &env, [](PTP_CALLBACK_INSTANCE, PVOID ctx) { static_cast<Disassociating *>(ctx)->finalizations++; });
        PTP_WORK work = CreateThreadpoolWork(disassociate_then_block, d.get(), &env);
        ASSERT_NE(nullptr, work);
        SubmitThreadpoolWork(work);
        ASSERT_TRUE(d->disassociated.wait());
        WaitForThreadpoolWorkCallbacks(work, FALSE); // must not wait for the blocked callback
        EXPECT_FALSE(d->finished.load()) << "twice=" << twice;
        EXPECT_FALSE(signaled_now(event));
        d->proceed.release();
        EXPECT_TRUE(signaled_within(event)) << "twice=" << twice;
        EXPECT_TRUE(d->finished.load());
        EXPECT_TRUE(eventually([&] { return d->finalizations.load() == 1; }));
        CloseThreadpoolWork(work);
    }
}

// Wine: the same with the work object in a cleanup group: WaitFor returns, but the group's
// teardown still waits for the disassociated callback.
TEST_P(CallbackInstanceTest, DisassociatedCallbackStillHoldsItsCleanupGroup)
{
    Pool pool(mode());
    PTP_CLEANUP_GROUP group = CreateThreadpoolCleanupGroup();
    ASSERT_NE(nullptr, group);
    TP_CALLBACK_ENVIRON env = *pool.env();
    SetThreadpoolCallbackCleanupGroup(&env, group, nullptr);
    Shared<Disassociating> d;
    PTP_WORK work = CreateThreadpoolWork(disassociate_then_block, d.get(), &env);
    ASSERT_NE(nullptr, work);
    SubmitThreadpoolWork(work);
    ASSERT_TRUE(d->disassociated.wait());
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    EXPECT_FALSE(d->finished.load());
    {
        DelayedAction release(200ms, [&] { d->proceed.release(); });
        CloseThreadpoolCleanupGroupMembers(group, FALSE, nullptr);
        EXPECT_TRUE(d->finished.load()) << "teardown returned before the disassociated callback ended";
    }
    CloseThreadpoolCleanupGroup(group);
}

struct WaitsForItself {
    std::atomic<bool> both_posted{false};
    std::atomic<int> started{0};
    std::atomic<bool> other_finished{false};
    std::atomic<int> saw_other_finished{-1};
};

// After disassociating, a callback may wait for its own object: it waits only for the
// object's other callbacks.
TEST_P(CallbackInstanceTest, DisassociatedCallbackMayWaitForItsOwnObject)
{
    Pool pool(mode(), 2);
    Shared<WaitsForItself> w;
    PTP_WORK work = CreateThreadpoolWork(
        [](PTP_CALLBACK_INSTANCE instance, PVOID ctx, PTP_WORK self) {
            auto *s = static_cast<WaitsForItself *>(ctx);
            if (s->started++ == 0) {
                // Until the second post exists there is nothing else to wait for.
                eventually([&] { return s->both_posted.load(); });
                DisassociateCurrentThreadFromCallback(instance);
                WaitForThreadpoolWorkCallbacks(self, FALSE);
                s->saw_other_finished = s->other_finished.load() ? 1 : 0;
            } else {
                std::this_thread::sleep_for(100ms);
                s->other_finished = true;
            }
        },
        w.get(), pool.env());
    ASSERT_NE(nullptr, work);
    SubmitThreadpoolWork(work);
    SubmitThreadpoolWork(work);
    w->both_posted = true;
    ASSERT_TRUE(eventually([&] { return w->saw_other_finished.load() != -1; }, kLongTimeout));
    EXPECT_EQ(1, w->saw_other_finished.load());
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
}

// ---- Return actions ---------------------------------------------------------------------

enum ActionBits : unsigned {
    kLeaveCs = 1,
    kReleaseMutex = 2,
    kReleaseSemaphore = 4,
    kSetEvent = 8,
    kFreeLibrary = 16,
};

// The objects the return actions work on, and which actions a callback registers.
struct Actions {
    Actions() { InitializeCriticalSection(&cs); }
    ~Actions() { DeleteCriticalSection(&cs); }

    unsigned mask = 0;
    bool acquire_mutex = true; // the callback takes ownership before registering
    CRITICAL_SECTION cs;
    Handle mutex = make_mutex();
    Handle semaphore = make_semaphore(0, 10);
    Handle event = make_event();
    HANDLE mutex_override = nullptr; // registered instead of mutex when set
    HANDLE semaphore_override = nullptr;
    LONG semaphore_count = 1;
    HMODULE library = nullptr;
    Millis linger{0}; // stay in the callback after registering, so waiters are blocked first
    Flag registered;
    std::atomic<int> mutex_acquire_failures{0};
    std::atomic<int> event_set_too_early{0};
};

// Registers in the reverse of the execution order, which must not depend on call order.
void CALLBACK register_actions(PTP_CALLBACK_INSTANCE instance, PVOID ctx, PTP_WORK)
{
    auto *a = static_cast<Actions *>(ctx);
    if (a->mask & kFreeLibrary)
        FreeLibraryWhenCallbackReturns(instance, a->library);
    if (a->mask & kSetEvent)
        SetEventWhenCallbackReturns(instance, a->event);
    if (a->mask & kReleaseSemaphore)
        ReleaseSemaphoreWhenCallbackReturns(instance, a->semaphore_override ? a->semaphore_override : a->semaphore.get(),
                                            a->semaphore_count);
    if (a->mask & kReleaseMutex) {
        if (a->acquire_mutex && WaitForSingleObject(a->mutex, kWaitMs) != WAIT_OBJECT_0)
            a->mutex_acquire_failures++;
        ReleaseMutexWhenCallbackReturns(instance, a->mutex_override ? a->mutex_override : a->mutex.get());
    }
    if (a->mask & kLeaveCs) {
        EnterCriticalSection(&a->cs);
        LeaveCriticalSectionWhenCallbackReturns(instance, &a->cs);
    }
    // Recorded actions run only after the callback returns.
    if ((a->mask & kSetEvent) && signaled_now(a->event))
        a->event_set_too_early++;
    a->registered.set();
    if (a->linger.count())
        std::this_thread::sleep_for(a->linger);
}

// Runs one invocation of register_actions on a new pool; returns the work object (open).
PTP_WORK run_actions(Pool &pool, Actions &a)
{
    PTP_WORK work = CreateThreadpoolWork(register_actions, &a, pool.env());
    if (!work)
        throw std::runtime_error("CreateThreadpoolWork failed");
    SubmitThreadpoolWork(work);
    return work;
}

bool cs_is_free(Actions &a)
{
    if (!TryEnterCriticalSection(&a.cs))
        return false;
    LeaveCriticalSection(&a.cs);
    return true;
}

bool mutex_is_free(Actions &a)
{
    if (WaitForSingleObject(a.mutex, 0) != WAIT_OBJECT_0)
        return false;
    ReleaseMutex(a.mutex);
    return true;
}

TEST_P(CallbackInstanceTest, EachActionTakesEffectAfterTheCallbackReturns)
{
    Pool pool(mode());
    Shared<Actions> a;
    a->mask = kLeaveCs | kReleaseMutex | kReleaseSemaphore | kSetEvent;
    a->semaphore_count = 3;
    PTP_WORK work = run_actions(pool, *a);
    // All return actions have run by the time the wait returns.
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
    EXPECT_EQ(0, a->event_set_too_early.load());
    EXPECT_EQ(0, a->mutex_acquire_failures.load());
    EXPECT_TRUE(signaled_now(a->event));
    EXPECT_TRUE(mutex_is_free(*a)) << "mutex still owned (or abandoned)";
    EXPECT_TRUE(cs_is_free(*a));
    for (int i = 0; i < 3; ++i)
        EXPECT_TRUE(signaled_now(a->semaphore)) << "semaphore unit " << i;
    EXPECT_FALSE(signaled_now(a->semaphore));
}

// Order: critical section, mutex, semaphore, event (library last). A thread woken by one
// action finds every earlier one already done.
TEST_P(CallbackInstanceTest, EventWaiterFindsSemaphoreMutexAndCriticalSectionDone)
{
    Pool pool(mode());
    Shared<Actions> a;
    a->mask = kLeaveCs | kReleaseMutex | kReleaseSemaphore | kSetEvent;
    a->linger = 50ms;
    PTP_WORK work = run_actions(pool, *a);
    ASSERT_TRUE(signaled_within(a->event));
    EXPECT_TRUE(signaled_now(a->semaphore));
    EXPECT_TRUE(mutex_is_free(*a));
    EXPECT_TRUE(cs_is_free(*a));
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
}

TEST_P(CallbackInstanceTest, SemaphoreWaiterFindsMutexAndCriticalSectionDone)
{
    Pool pool(mode());
    Shared<Actions> a;
    a->mask = kLeaveCs | kReleaseMutex | kReleaseSemaphore;
    a->linger = 50ms;
    PTP_WORK work = run_actions(pool, *a);
    ASSERT_TRUE(signaled_within(a->semaphore));
    EXPECT_TRUE(mutex_is_free(*a));
    EXPECT_TRUE(cs_is_free(*a));
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
}

TEST_P(CallbackInstanceTest, MutexWaiterFindsCriticalSectionDone)
{
    Pool pool(mode());
    Shared<Actions> a;
    a->mask = kLeaveCs | kReleaseMutex;
    a->linger = 50ms;
    PTP_WORK work = run_actions(pool, *a);
    // Once the callback owns the mutex, block on it: its release wakes us.
    ASSERT_TRUE(a->registered.wait());
    ASSERT_EQ(WAIT_OBJECT_0, WaitForSingleObject(a->mutex, kWaitMs));
    EXPECT_TRUE(cs_is_free(*a));
    ReleaseMutex(a->mutex);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
}

// A second call for the same kind is ignored: the first value wins (Wine; recommended).
TEST_P(CallbackInstanceTest, FirstValueWinsForTheSameKind)
{
    Pool pool(mode());
    struct Twice {
        Handle first_event = make_event(), second_event = make_event();
        Handle first_sem = make_semaphore(0, 10), second_sem = make_semaphore(0, 10);
    };
    Shared<Twice> t;
    PTP_WORK work = CreateThreadpoolWork(
        [](PTP_CALLBACK_INSTANCE instance, PVOID ctx, PTP_WORK) {
            auto *s = static_cast<Twice *>(ctx);
            SetEventWhenCallbackReturns(instance, s->first_event);
            SetEventWhenCallbackReturns(instance, s->second_event);
            ReleaseSemaphoreWhenCallbackReturns(instance, s->first_sem, 1);
            ReleaseSemaphoreWhenCallbackReturns(instance, s->first_sem, 5);
            ReleaseSemaphoreWhenCallbackReturns(instance, s->second_sem, 1);
        },
        t.get(), pool.env());
    ASSERT_NE(nullptr, work);
    SubmitThreadpoolWork(work);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
    EXPECT_TRUE(signaled_now(t->first_event));
    EXPECT_FALSE(signaled_now(t->second_event));
    EXPECT_TRUE(signaled_now(t->first_sem));
    EXPECT_FALSE(signaled_now(t->first_sem)) << "the second count replaced the first";
    EXPECT_FALSE(signaled_now(t->second_sem));
}

// A failed action skips the ones after it; earlier ones have run, and the pool carries on.
TEST_P(CallbackInstanceTest, FailedActionWithAnInvalidHandleSkipsTheLaterOnes)
{
    Pool pool(mode());
    Shared<Actions> a;
    // A handle that was valid once and is now closed (nothing is created after it).
    HANDLE stale = make_mutex().get();
    a->mask = kLeaveCs | kReleaseMutex | kReleaseSemaphore | kSetEvent;
    a->acquire_mutex = false;
    a->mutex_override = stale;
    PTP_WORK work = run_actions(pool, *a);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    EXPECT_TRUE(cs_is_free(*a)) << "the action before the failure did not run";
    EXPECT_FALSE(signaled_now(a->semaphore));
    EXPECT_FALSE(signaled_now(a->event));

    // The pool and the object carry on.
    a->mask = kSetEvent;
    SubmitThreadpoolWork(work);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
    EXPECT_TRUE(signaled_now(a->event));
}

TEST_P(CallbackInstanceTest, FailedActionOfAnUnownedMutexSkipsTheLaterOnes)
{
    Pool pool(mode());
    Shared<Actions> a;
    a->mask = kReleaseMutex | kReleaseSemaphore | kSetEvent;
    a->acquire_mutex = false; // releasing fails with ERROR_NOT_OWNER
    PTP_WORK work = run_actions(pool, *a);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
    EXPECT_FALSE(signaled_now(a->semaphore));
    EXPECT_FALSE(signaled_now(a->event));
}

TEST_P(CallbackInstanceTest, FailedActionOfAFullSemaphoreSkipsTheEvent)
{
    Pool pool(mode());
    Shared<Actions> a;
    Handle full = make_semaphore(1, 1); // releasing fails with ERROR_TOO_MANY_POSTS
    a->mask = kReleaseMutex | kReleaseSemaphore | kSetEvent;
    a->semaphore_override = full;
    PTP_WORK work = run_actions(pool, *a);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
    EXPECT_TRUE(mutex_is_free(*a)) << "the action before the failure did not run";
    EXPECT_FALSE(signaled_now(a->event));
}

TEST_P(CallbackInstanceTest, ActionsMayBeRegisteredFromTheFinalizationCallback)
{
    Pool pool(mode());
    Handle event = make_event();
    TP_CALLBACK_ENVIRON env = *pool.env();
    TpSetCallbackFinalizationCallback(&env, [](PTP_CALLBACK_INSTANCE instance, PVOID ctx) {
        SetEventWhenCallbackReturns(instance, static_cast<HANDLE>(ctx));
    });
    ASSERT_TRUE(TrySubmitThreadpoolCallback([](PTP_CALLBACK_INSTANCE, PVOID) {}, event.get(), &env));
    EXPECT_TRUE(signaled_within(event));
}

// ---- FreeLibraryWhenCallbackReturns -------------------------------------------------------

TEST_P(CallbackInstanceTest, FreeLibraryWhenCallbackReturnsWithLibm)
{
    Pool pool(mode());
    Shared<Actions> a;
    a->library = LoadLibraryA("libm.so.6");
    ASSERT_NE(nullptr, a->library);
    a->mask = kFreeLibrary | kSetEvent;
    PTP_WORK work = run_actions(pool, *a);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
    EXPECT_TRUE(signaled_now(a->event));
    // libm stays loaded for the process; a new reference still resolves symbols.
    HMODULE again = LoadLibraryA("libm.so.6");
    ASSERT_NE(nullptr, again);
    EXPECT_NE(nullptr, reinterpret_cast<void *>(GetProcAddress(again, "cos")));
    EXPECT_TRUE(FreeLibrary(again));
}

bool library_is_loaded(const char *name)
{
    void *handle = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
    if (handle)
        dlclose(handle);
    return handle != nullptr;
}

// A library this process does not use, which really unloads at its last FreeLibrary.
const char *unloadable_library()
{
    for (const char *name : {"libbz2.so.1.0", "liblzma.so.5", "libz.so.1", "libzstd.so.1"}) {
        if (library_is_loaded(name))
            continue;
        HMODULE module = LoadLibraryA(name);
        if (!module)
            continue;
        bool loaded = library_is_loaded(name);
        FreeLibrary(module);
        if (loaded && !library_is_loaded(name))
            return name;
    }
    return nullptr;
}

// The library reference is dropped after the callback, before the wait returns; a failed
// earlier action skips it.
TEST_P(CallbackInstanceTest, FreeLibraryActionUnloadsTheLibraryUnlessSkipped)
{
    const char *name = unloadable_library();
    if (!name)
        GTEST_SKIP() << "no unloadable test library on this machine";
    Pool pool(mode());
    Shared<Actions> a;
    a->library = LoadLibraryA(name);
    ASSERT_NE(nullptr, a->library);
    ASSERT_TRUE(library_is_loaded(name));
    a->mask = kFreeLibrary | kSetEvent;
    PTP_WORK work = run_actions(pool, *a);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    EXPECT_TRUE(signaled_now(a->event));
    EXPECT_FALSE(library_is_loaded(name)) << name << " still loaded after the callback returned";

    // A failing semaphore action before it: the library stays loaded.
    Handle full = make_semaphore(1, 1);
    a->library = LoadLibraryA(name);
    ASSERT_NE(nullptr, a->library);
    a->mask = kReleaseSemaphore | kFreeLibrary;
    a->semaphore_override = full;
    SubmitThreadpoolWork(work);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
    EXPECT_TRUE(library_is_loaded(name)) << "the free-library action ran after a failed action";
    if (library_is_loaded(name))
        FreeLibrary(a->library);
}

} // namespace
