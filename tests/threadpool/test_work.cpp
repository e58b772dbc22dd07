// Work objects: CreateThreadpoolWork, SubmitThreadpoolWork, WaitForThreadpoolWorkCallbacks,
// CloseThreadpoolWork (spec/work.md), including the lifetime cases, thread injection for
// callbacks that wait for each other, and a large multi-threaded post count.
#include "../common/test_support.h"

namespace {

using namespace tptest;

void CALLBACK count_work(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WORK) { static_cast<Counter *>(ctx)->increment(); }

// ---- Creation (no posting) --------------------------------------------------------------

// Spec recommendation: a NULL callback fails at creation instead of crashing later.
TEST(WorkBasics, NullCallbackIsInvalidParameter)
{
    SetLastError(0);
    EXPECT_EQ(nullptr, CreateThreadpoolWork(nullptr, nullptr, nullptr));
    EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_PARAMETER), GetLastError());
}

TEST(WorkBasics, CreateLeavesLastErrorUntouchedAndCloseWithoutSubmitting)
{
    Counter count;
    SetLastError(kSentinelError);
    PTP_WORK work = CreateThreadpoolWork(count_work, &count, nullptr);
    ASSERT_NE(nullptr, work);
    EXPECT_EQ(kSentinelError, GetLastError());
    WaitForThreadpoolWorkCallbacks(work, FALSE); // nothing submitted: returns at once
    WaitForThreadpoolWorkCallbacks(work, TRUE);
    CloseThreadpoolWork(work);
    EXPECT_EQ(0, count.get());
}

// ---- Behaviour (both dispatch modes) ----------------------------------------------------

class WorkTest : public DispatchTest {};
TPTEST_INSTANTIATE_DISPATCH_MODES(WorkTest);

struct CallbackArguments {
    std::atomic<PTP_CALLBACK_INSTANCE> instance{nullptr};
    std::atomic<PVOID> context{nullptr};
    std::atomic<PTP_WORK> work{nullptr};
    std::atomic<DWORD> thread{0};
};

void CALLBACK record_arguments(PTP_CALLBACK_INSTANCE instance, PVOID ctx, PTP_WORK work)
{
    auto *args = static_cast<CallbackArguments *>(ctx);
    args->instance = instance;
    args->context = ctx;
    args->work = work;
    args->thread = GetCurrentThreadId();
}

TEST_P(WorkTest, CallbackGetsInstanceContextAndWorkOnAWorkerThread)
{
    Pool pool(mode());
    Shared<CallbackArguments> args;
    PTP_WORK work = CreateThreadpoolWork(record_arguments, args.get(), pool.env());
    ASSERT_NE(nullptr, work);
    SubmitThreadpoolWork(work);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    EXPECT_NE(nullptr, args->instance.load());
    EXPECT_EQ(args.get(), args->context.load());
    EXPECT_EQ(work, args->work.load());
    // Never inline in the submitting thread.
    EXPECT_NE(0u, args->thread.load());
    EXPECT_NE(GetCurrentThreadId(), args->thread.load());
    CloseThreadpoolWork(work);
}

TEST_P(WorkTest, NullEnvironmentRunsOnTheDefaultPool)
{
    Shared<Counter> count;
    ULONGLONG before = pool_stats(nullptr).callbacks_run;
    PTP_WORK work = CreateThreadpoolWork(count_work, count.get(), nullptr);
    ASSERT_NE(nullptr, work);
    for (int i = 0; i < 4; ++i)
        SubmitThreadpoolWork(work);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
    EXPECT_EQ(4, count->get());
    EXPECT_GE(pool_stats(nullptr).callbacks_run, before + 4);
}

struct Serial {
    ConcurrencyTracker tracker;
    std::atomic<long> ran{0};
};

void CALLBACK serial_callback(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WORK)
{
    auto *s = static_cast<Serial *>(ctx);
    ConcurrencyTracker::Scope scope(s->tracker);
    std::this_thread::sleep_for(20ms);
    s->ran++;
}

// Wine: maximum 1, five submissions, WaitFor(FALSE) returns with all five done, in turn.
TEST_P(WorkTest, MaximumOneRunsSubmissionsOneAfterAnother)
{
    Pool pool(mode(), 1);
    Shared<Serial> s;
    PTP_WORK work = CreateThreadpoolWork(serial_callback, s.get(), pool.env());
    ASSERT_NE(nullptr, work);
    for (int i = 0; i < 5; ++i)
        SubmitThreadpoolWork(work);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    EXPECT_EQ(5, s->ran.load());
    EXPECT_EQ(1, s->tracker.peak());
    CloseThreadpoolWork(work);
}

void CALLBACK serial_spin(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WORK)
{
    auto *s = static_cast<Serial *>(ctx);
    ConcurrencyTracker::Scope scope(s->tracker);
    for (int i = 0; i < 20; ++i)
        std::this_thread::yield();
    s->ran++;
}

void CALLBACK serial_spin_simple(PTP_CALLBACK_INSTANCE instance, PVOID ctx) { serial_spin(instance, ctx, nullptr); }

// Nothing but a maximum of 1 serialises callbacks, and that does, across objects and posters.
TEST_P(WorkTest, MaximumOneSerialisesEveryCallbackOfThePool)
{
    Pool pool(mode(), 1);
    Shared<Serial> s;
    PTP_WORK first = CreateThreadpoolWork(serial_spin, s.get(), pool.env());
    PTP_WORK second = CreateThreadpoolWork(serial_spin, s.get(), pool.env());
    ASSERT_NE(nullptr, first);
    ASSERT_NE(nullptr, second);
    const long per_thread = scaled(2000, 50);
    std::atomic<long> simple_posted{0};
    std::vector<std::thread> posters;
    for (int t = 0; t < 3; ++t)
        posters.emplace_back([&, t] {
            for (long i = 0; i < per_thread; ++i) {
                if (t == 2) {
                    if (TrySubmitThreadpoolCallback(serial_spin_simple, s.get(), pool.env()))
                        simple_posted++;
                } else {
                    SubmitThreadpoolWork(t == 0 ? first : second);
                }
            }
        });
    for (auto &poster : posters)
        poster.join();
    WaitForThreadpoolWorkCallbacks(first, FALSE);
    WaitForThreadpoolWorkCallbacks(second, FALSE);
    CloseThreadpoolWork(first);
    CloseThreadpoolWork(second);
    EXPECT_EQ(per_thread, simple_posted.load());
    ASSERT_TRUE(eventually([&] { return s->ran.load() == 3 * per_thread; }, kLongTimeout));
    EXPECT_EQ(1, s->tracker.peak());
}

// Posts accumulate and several invocations of one object run in parallel.
TEST_P(WorkTest, InvocationsOfOneObjectRunInParallel)
{
    constexpr int kParties = 4;
    Pool pool(mode(), kParties);
    struct State {
        Barrier barrier{kParties};
        std::atomic<int> met{0};
    };
    Shared<State> state;
    PTP_WORK work = CreateThreadpoolWork(
        [](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WORK) {
            auto *s = static_cast<State *>(ctx);
            if (s->barrier.arrive_and_wait(kLongTimeout))
                s->met++;
        },
        state.get(), pool.env());
    ASSERT_NE(nullptr, work);
    for (int i = 0; i < kParties; ++i)
        SubmitThreadpoolWork(work);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
    EXPECT_EQ(kParties, state->met.load());
}

// One work object posted from 4 threads 100,000 times each runs exactly that many callbacks.
TEST_P(WorkTest, FourThreadsPostingOneObjectRunExactlyThatManyCallbacks)
{
    constexpr int kThreads = 4;
    const long per_thread = scaled(100000);
    const long total = kThreads * per_thread;
    Pool pool(mode());
    Shared<std::atomic<long>> ran(0);
    PTP_WORK work = CreateThreadpoolWork(
        [](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WORK) {
            static_cast<std::atomic<long> *>(ctx)->fetch_add(1, std::memory_order_relaxed);
        },
        ran.get(), pool.env());
    ASSERT_NE(nullptr, work);
    std::vector<std::thread> posters;
    for (int t = 0; t < kThreads; ++t)
        posters.emplace_back([&] {
            for (long i = 0; i < per_thread; ++i)
                SubmitThreadpoolWork(work);
        });
    for (auto &poster : posters)
        poster.join();
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    EXPECT_EQ(total, ran->load());
    CloseThreadpoolWork(work);
    EXPECT_EQ(static_cast<ULONGLONG>(total), pool.stats().callbacks_run);
    EXPECT_LE(pool.stats().workers, pool.stats().max_workers);
}

struct MutualWait {
    explicit MutualWait(long parties) : barrier(parties) {}
    Barrier barrier;
    Counter met;
    Counter gave_up;
};

// 32 callbacks on the default pool that all wait for each other complete: the pool must
// inject threads for blocked callbacks instead of deadlocking.
TEST_P(WorkTest, ThirtyTwoMutuallyWaitingCallbacksOnTheDefaultPoolComplete)
{
    constexpr int kParties = 32;
    Shared<MutualWait> state(kParties);
    PTP_WORK work = CreateThreadpoolWork(
        [](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WORK) {
            auto *s = static_cast<MutualWait *>(ctx);
            if (s->barrier.arrive_and_wait(kLongTimeout))
                s->met.increment();
            else
                s->gave_up.increment();
        },
        state.get(), nullptr);
    ASSERT_NE(nullptr, work);
    for (int i = 0; i < kParties; ++i)
        SubmitThreadpoolWork(work);
    ASSERT_TRUE(state->met.wait_for_at_least(kParties, kLongTimeout))
        << "only " << state->barrier.arrived() << " of " << kParties << " started; default pool workers "
        << pool_stats(nullptr).workers;
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
    EXPECT_EQ(0, state->gave_up.get());
}

// Cancelling discards every queued invocation: with the only worker held by another object,
// none of them ever runs.
TEST_P(WorkTest, WaitWithCancelDiscardsQueuedInvocations)
{
    Pool pool(mode(), 1);
    Shared<Counter> count;
    PTP_WORK work = CreateThreadpoolWork(count_work, count.get(), pool.env());
    ASSERT_NE(nullptr, work);
    Blocker blocker;
    ASSERT_TRUE(blocker.start(pool.env()));
    for (int i = 0; i < 5; ++i)
        SubmitThreadpoolWork(work);
    WaitForThreadpoolWorkCallbacks(work, TRUE); // nothing of work runs: returns at once
    blocker.release();
    ASSERT_TRUE(drain_single_thread_pool(*pool.env()));
    EXPECT_EQ(0, count->get());

    // The object stays usable: later submissions run.
    SubmitThreadpoolWork(work);
    SubmitThreadpoolWork(work);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    EXPECT_EQ(2, count->get());
    CloseThreadpoolWork(work);
}

struct HeldWork {
    Tokens tokens;
    Counter started;
    std::atomic<long> finished{0};
    std::atomic<int> timed_out{0};
};

void CALLBACK held_work(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WORK)
{
    auto *h = static_cast<HeldWork *>(ctx);
    h->started.increment();
    if (!h->tokens.acquire(kLongTimeout))
        h->timed_out++;
    h->finished++;
}

// Wine: ten submissions, then WaitFor(TRUE): fewer than ten ran. The running one is held
// until the main thread is inside the wait, so the queued ones are certainly cancelled.
TEST_P(WorkTest, WaitWithCancelLeavesFewerCallbacksThanSubmitted)
{
    Pool pool(mode(), 1);
    Shared<HeldWork> h;
    PTP_WORK work = CreateThreadpoolWork(held_work, h.get(), pool.env());
    ASSERT_NE(nullptr, work);
    for (int i = 0; i < 10; ++i)
        SubmitThreadpoolWork(work);
    ASSERT_TRUE(h->started.wait_for_at_least(1));
    {
        TokenDripper dripper(h->tokens);
        WaitForThreadpoolWorkCallbacks(work, TRUE);
    }
    long ran = h->finished.load();
    EXPECT_GE(ran, 1);
    EXPECT_LT(ran, 10);
    // The wait returned with nothing running: the count is final.
    EXPECT_EQ(ran, h->started.get());
    CloseThreadpoolWork(work);
    EXPECT_EQ(0, h->timed_out.load());
}

// Without cancel, the wait covers queued and running invocations.
TEST_P(WorkTest, WaitWithoutCancelWaitsForQueuedAndRunningInvocations)
{
    constexpr int kThreads = 4;
    constexpr int kPosts = 6;
    Pool pool(mode(), kThreads);
    Shared<HeldWork> h;
    PTP_WORK work = CreateThreadpoolWork(held_work, h.get(), pool.env());
    ASSERT_NE(nullptr, work);
    for (int i = 0; i < kPosts; ++i)
        SubmitThreadpoolWork(work);
    ASSERT_TRUE(h->started.wait_for_at_least(kThreads));
    {
        DelayedAction release(200ms, [&] { h->tokens.release(kPosts); });
        WaitForThreadpoolWorkCallbacks(work, FALSE);
        EXPECT_EQ(kPosts, h->finished.load());
    }
    CloseThreadpoolWork(work);
}

// CloseThreadpoolWork does not cancel: queued invocations still run.
TEST_P(WorkTest, CloseWithQueuedInvocationsLetsThemRun)
{
    Pool pool(mode(), 1);
    Shared<Counter> count;
    PTP_WORK work = CreateThreadpoolWork(count_work, count.get(), pool.env());
    ASSERT_NE(nullptr, work);
    Blocker blocker;
    ASSERT_TRUE(blocker.start(pool.env()));
    for (int i = 0; i < 5; ++i)
        SubmitThreadpoolWork(work);
    CloseThreadpoolWork(work);
    EXPECT_EQ(0, count->get());
    blocker.release();
    EXPECT_TRUE(count->wait_for_at_least(5));
    ASSERT_TRUE(drain_single_thread_pool(*pool.env()));
    EXPECT_EQ(5, count->get());
}

// Closing while an invocation runs does not block, and the invocation completes.
TEST_P(WorkTest, CloseWhileAnInvocationRunsLetsItFinish)
{
    Pool pool(mode());
    Shared<HeldWork> h;
    PTP_WORK work = CreateThreadpoolWork(held_work, h.get(), pool.env());
    ASSERT_NE(nullptr, work);
    SubmitThreadpoolWork(work);
    ASSERT_TRUE(h->started.wait_for_at_least(1));
    CloseThreadpoolWork(work); // returns although the callback is blocked
    EXPECT_EQ(0, h->finished.load());
    h->tokens.release();
    EXPECT_TRUE(eventually([&] { return h->finished.load() == 1; }));
}

struct SelfClosing {
    PTP_WORK work = nullptr;
    std::atomic<bool> closed{false};
    Counter ran;
};

void CALLBACK close_own_work_once(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WORK work)
{
    auto *s = static_cast<SelfClosing *>(ctx);
    if (work != s->work)
        ADD_FAILURE() << "callback got another work object";
    if (!s->closed.exchange(true))
        CloseThreadpoolWork(work);
    s->ran.increment();
}

// Closing from inside the object's own callback is allowed; queued invocations still run.
TEST_P(WorkTest, CloseFromInsideItsOwnCallback)
{
    Pool pool(mode(), 1);
    Shared<SelfClosing> s;
    s->work = CreateThreadpoolWork(close_own_work_once, s.get(), pool.env());
    ASSERT_NE(nullptr, s->work);
    Blocker blocker;
    ASSERT_TRUE(blocker.start(pool.env()));
    for (int i = 0; i < 3; ++i)
        SubmitThreadpoolWork(s->work);
    blocker.release();
    ASSERT_TRUE(s->ran.wait_for_at_least(3));
    ASSERT_TRUE(drain_single_thread_pool(*pool.env()));
    EXPECT_EQ(3, s->ran.get());
}

struct Chain {
    long target = 0;
    Counter ran;
    ConcurrencyTracker tracker;
};

void CALLBACK resubmit_until_target(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WORK work)
{
    auto *chain = static_cast<Chain *>(ctx);
    ConcurrencyTracker::Scope scope(chain->tracker);
    const long target = chain->target;
    if (chain->ran.increment() < target)
        SubmitThreadpoolWork(work);
    // On a one-thread pool the new invocation cannot start (inline or elsewhere) yet.
    std::this_thread::sleep_for(1ms);
}

TEST_P(WorkTest, SubmitFromInsideItsOwnCallback)
{
    for (DWORD max_threads : {1u, 0u}) {
        Pool pool(mode(), max_threads);
        Shared<Chain> chain;
        chain->target = 100;
        PTP_WORK work = CreateThreadpoolWork(resubmit_until_target, chain.get(), pool.env());
        ASSERT_NE(nullptr, work);
        SubmitThreadpoolWork(work);
        ASSERT_TRUE(chain->ran.wait_for_at_least(chain->target)) << "max " << max_threads;
        WaitForThreadpoolWorkCallbacks(work, FALSE);
        CloseThreadpoolWork(work);
        EXPECT_EQ(chain->target, chain->ran.get());
        if (max_threads == 1) {
            EXPECT_EQ(1, chain->tracker.peak()) << "a resubmitted invocation overlapped its submitter";
        }
    }
}

struct WaitsForOther {
    PTP_WORK other = nullptr;
    std::atomic<long> other_ran{0};
    std::atomic<long> seen_after_wait{-1};
};

// A callback of X may wait for the callbacks of another object Y.
TEST_P(WorkTest, CallbackMayWaitForAnotherObjectsCallbacks)
{
    Pool pool(mode());
    Shared<WaitsForOther> s;
    s->other = CreateThreadpoolWork(
        [](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WORK) {
            std::this_thread::sleep_for(30ms);
            static_cast<WaitsForOther *>(ctx)->other_ran++;
        },
        s.get(), pool.env());
    ASSERT_NE(nullptr, s->other);
    PTP_WORK waiter = CreateThreadpoolWork(
        [](PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WORK) {
            auto *st = static_cast<WaitsForOther *>(ctx);
            WaitForThreadpoolWorkCallbacks(st->other, FALSE);
            st->seen_after_wait = st->other_ran.load();
        },
        s.get(), pool.env());
    ASSERT_NE(nullptr, waiter);
    for (int i = 0; i < 3; ++i)
        SubmitThreadpoolWork(s->other);
    SubmitThreadpoolWork(waiter);
    WaitForThreadpoolWorkCallbacks(waiter, FALSE);
    EXPECT_EQ(3, s->seen_after_wait.load());
    CloseThreadpoolWork(waiter);
    CloseThreadpoolWork(s->other);
}

} // namespace
