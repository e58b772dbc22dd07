// What a thread-pool wait callback runs with (spec/wait.md, callback-instance.md,
// pool-and-environment.md): the priority of its environment, return actions, the
// finalization callback, disassociation, CallbackMayRunLong, and a return action that
// re-triggers the re-armed wait.
#include "wait_support.h"

namespace {

using namespace waittest;

// ---- Priorities ---------------------------------------------------------------------------------------

struct PriorityLog {
    OrderLog order;
    Counter calls;
};

struct PriorityContext {
    PriorityLog *log;
    int label;
};

void CALLBACK priority_wait(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WAIT, TP_WAIT_RESULT result)
{
    auto *c = static_cast<PriorityContext *>(ctx);
    c->log->order.add(result == WAIT_OBJECT_0 ? c->label : -c->label);
    c->log->calls.increment();
}

// Triggered waits queue their callbacks at the priority of their environment: on a busy
// one-thread pool, HIGH starts before NORMAL before LOW whatever the order of triggering.
TEST_P(WaitTest, QueuedWaitCallbacksStartByPriority)
{
    Pool single(mode(), 1);
    Shared<PriorityLog> log;
    const TP_CALLBACK_PRIORITY priorities[3] = {TP_CALLBACK_PRIORITY_LOW, TP_CALLBACK_PRIORITY_NORMAL,
                                                 TP_CALLBACK_PRIORITY_HIGH};
    const int labels[3] = {3, 2, 1}; // expected start order 1, 2, 3
    Shared<std::vector<PriorityContext>> contexts;
    std::vector<Handle> sems;
    std::vector<std::unique_ptr<WaitObject>> waits;
    for (int i = 0; i < 3; ++i) {
        contexts->push_back({log.get(), labels[i]});
        sems.push_back(make_semaphore(1, 1));
    }
    for (int i = 0; i < 3; ++i) {
        TP_CALLBACK_ENVIRON env = env_with_priority(*single.env(), priorities[i]);
        waits.push_back(std::make_unique<WaitObject>(priority_wait, &(*contexts)[i], &env));
    }
    Blocker blocker;
    ASSERT_TRUE(blocker.start(single.env()));
    for (int i = 0; i < 3; ++i) {
        SetThreadpoolWait(*waits[i], sems[i], nullptr);
        ASSERT_TRUE(eventually([&] { return !semaphore_full(sems[i]); })) << i;
    }
    blocker.release();
    ASSERT_TRUE(log->calls.wait_for_at_least(3));
    EXPECT_EQ((std::vector<int>{1, 2, 3}), log->order.labels());
    waits.clear();
}

// ---- Callback instances -----------------------------------------------------------------------------------

struct Actions {
    CRITICAL_SECTION cs;
    HANDLE mutex = nullptr;
    HANDLE sem = nullptr;
    HANDLE event = nullptr;
    std::atomic<bool> event_set_during_callback{true};
    std::atomic<LONG> sem_count_during_callback{-1};
    std::atomic<bool> owned_mutex{false};
    std::atomic<BOOL> may_run_long{FALSE};
    Flag entered;
    Flag gate;
};

void CALLBACK wait_with_actions(PTP_CALLBACK_INSTANCE instance, PVOID ctx, PTP_WAIT, TP_WAIT_RESULT)
{
    auto *a = static_cast<Actions *>(ctx);
    EnterCriticalSection(&a->cs);
    LeaveCriticalSectionWhenCallbackReturns(instance, &a->cs);
    a->owned_mutex = WaitForSingleObject(a->mutex, 0) == WAIT_OBJECT_0;
    ReleaseMutexWhenCallbackReturns(instance, a->mutex);
    ReleaseSemaphoreWhenCallbackReturns(instance, a->sem, 2);
    SetEventWhenCallbackReturns(instance, a->event);
    a->may_run_long = CallbackMayRunLong(instance);
    a->entered.set();
    a->gate.wait();
    a->event_set_during_callback = WaitForSingleObject(a->event, 0) == WAIT_OBJECT_0;
    a->sem_count_during_callback = semaphore_count(a->sem);
}

// The four handle/lock actions run after a wait callback returns, and are done by the time
// WaitForThreadpoolWaitCallbacks returns.
TEST_P(WaitTest, ReturnActionsRunAfterTheWaitCallback)
{
    Handle trigger = make_event(false, false);
    Handle mutex = make_mutex(false);
    Handle sem = make_semaphore(0, 5);
    Handle event = make_event(true, false);
    Shared<Actions> a;
    InitializeCriticalSection(&a->cs);
    a->mutex = mutex;
    a->sem = sem;
    a->event = event;
    WaitObject wait(wait_with_actions, a.get(), pool.env());
    SetThreadpoolWait(wait, trigger, nullptr);
    ASSERT_TRUE(SetEvent(trigger));
    ASSERT_TRUE(a->entered.wait());
    a->gate.set();
    WaitForThreadpoolWaitCallbacks(wait, FALSE);
    EXPECT_TRUE(a->owned_mutex.load());
    EXPECT_FALSE(a->event_set_during_callback.load());
    EXPECT_EQ(0, a->sem_count_during_callback.load());
    EXPECT_TRUE(a->may_run_long.load()); // the pool may start another worker
    EXPECT_TRUE(signaled_now(event));
    EXPECT_EQ(2, semaphore_count(sem));
    EXPECT_TRUE(TryEnterCriticalSection(&a->cs));
    LeaveCriticalSection(&a->cs);
    std::atomic<DWORD> mutex_result{0xDEAD};
    std::thread other([&] {
        mutex_result = WaitForSingleObject(mutex, 0);
        if (mutex_result == WAIT_OBJECT_0)
            ReleaseMutex(mutex);
    });
    other.join();
    EXPECT_EQ(WAIT_OBJECT_0, mutex_result.load());
    wait.reset();
    DeleteCriticalSection(&a->cs);
}

struct Finalization {
    std::atomic<PTP_CALLBACK_INSTANCE> callback_instance{nullptr};
    std::atomic<PTP_CALLBACK_INSTANCE> final_instance{nullptr};
    std::atomic<PVOID> final_context{nullptr};
    std::atomic<DWORD> callback_thread{0}, final_thread{0};
    std::atomic<bool> callback_done_first{false};
    std::atomic<bool> callback_done{false};
    Counter finals;
};

void CALLBACK finalized_wait(PTP_CALLBACK_INSTANCE instance, PVOID ctx, PTP_WAIT, TP_WAIT_RESULT)
{
    auto *f = static_cast<Finalization *>(ctx);
    f->callback_instance = instance;
    f->callback_thread = GetCurrentThreadId();
    f->callback_done = true;
}

void CALLBACK wait_finalizer(PTP_CALLBACK_INSTANCE instance, PVOID ctx)
{
    auto *f = static_cast<Finalization *>(ctx);
    f->final_instance = instance;
    f->final_context = ctx;
    f->final_thread = GetCurrentThreadId();
    f->callback_done_first = f->callback_done.load();
    f->finals.increment();
}

TEST_P(WaitTest, FinalizationCallbackFollowsTheWaitCallback)
{
    Handle event = make_event(false, true);
    Shared<Finalization> f;
    TP_CALLBACK_ENVIRON env = *pool.env();
    TpSetCallbackFinalizationCallback(&env, wait_finalizer);
    WaitObject wait(finalized_wait, f.get(), &env);
    SetThreadpoolWait(wait, event, nullptr);
    ASSERT_TRUE(f->finals.wait_for_at_least(1));
    EXPECT_TRUE(f->callback_done_first.load());
    EXPECT_EQ(f->callback_instance.load(), f->final_instance.load());
    EXPECT_EQ(f.get(), f->final_context.load());
    EXPECT_EQ(f->callback_thread.load(), f->final_thread.load());
}

struct Disassociating {
    Flag disassociated;
    Flag gate;
    Flag finished;
};

void CALLBACK disassociating_wait(PTP_CALLBACK_INSTANCE instance, PVOID ctx, PTP_WAIT, TP_WAIT_RESULT)
{
    auto *d = static_cast<Disassociating *>(ctx);
    DisassociateCurrentThreadFromCallback(instance);
    d->disassociated.set();
    d->gate.wait();
    d->finished.set();
}

TEST_P(WaitTest, DisassociatedWaitCallbackNoLongerHoldsWaitForCallbacks)
{
    Handle event = make_event(false, true);
    Shared<Disassociating> d;
    WaitObject wait(disassociating_wait, d.get(), pool.env());
    SetThreadpoolWait(wait, event, nullptr);
    ASSERT_TRUE(d->disassociated.wait());
    {
        GuardedCall call([&] { WaitForThreadpoolWaitCallbacks(wait, FALSE); });
        EXPECT_TRUE(call.finished_within(kTimeout));
        EXPECT_FALSE(d->finished.is_set());
    }
    d->gate.set();
    ASSERT_TRUE(d->finished.wait());
}

// Wine: CallbackMayRunLong on a pool with maximum 1 from its only running callback: FALSE.
void CALLBACK ask_may_run_long(PTP_CALLBACK_INSTANCE instance, PVOID ctx, PTP_WAIT, TP_WAIT_RESULT)
{
    auto *a = static_cast<Actions *>(ctx);
    a->may_run_long = CallbackMayRunLong(instance);
    a->entered.set();
}

TEST_P(WaitTest, CallbackMayRunLongIsFalseOnAFullOneThreadPool)
{
    Pool single(mode(), 1);
    Handle event = make_event(false, true);
    Shared<Actions> a;
    a->may_run_long = TRUE;
    WaitObject wait(ask_may_run_long, a.get(), single.env());
    SetThreadpoolWait(wait, event, nullptr);
    ASSERT_TRUE(a->entered.wait());
    EXPECT_FALSE(a->may_run_long.load());
}

// A return action may re-signal the object the wait re-armed on: the chain continues after
// each callback returns, never inside it.
struct Chain {
    HANDLE event = nullptr;
    std::atomic<long> calls{0};
    std::atomic<long> overlapping{0};
    std::atomic<bool> inside{false};
    Counter done;
};

void CALLBACK chaining_wait(PTP_CALLBACK_INSTANCE instance, PVOID ctx, PTP_WAIT wait, TP_WAIT_RESULT result)
{
    auto *c = static_cast<Chain *>(ctx);
    if (c->inside.exchange(true))
        ++c->overlapping;
    long n = ++c->calls;
    if (result == WAIT_OBJECT_0 && n < 5) {
        SetThreadpoolWait(wait, c->event, nullptr);
        SetEventWhenCallbackReturns(instance, c->event);
        std::this_thread::sleep_for(10ms);
    }
    c->inside = false;
    c->done.increment();
}

TEST_P(WaitTest, SetEventWhenCallbackReturnsRetriggersTheRearmedWait)
{
    Handle event = make_event(false, true);
    Shared<Chain> c;
    c->event = event;
    WaitObject wait(chaining_wait, c.get(), pool.env());
    SetThreadpoolWait(wait, event, nullptr);
    ASSERT_TRUE(c->done.wait_for_at_least(5));
    settle();
    EXPECT_EQ(5, c->calls.load());
    EXPECT_EQ(0, c->overlapping.load());
    EXPECT_EQ(WAIT_TIMEOUT, WaitForSingleObject(event, 0)); // the last one consumed the last set
}

} // namespace
