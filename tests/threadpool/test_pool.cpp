// Pools: CreateThreadpool / CloseThreadpool, thread maximum and minimum, stack information,
// the default pool, and the worker-count rules (spec/pool-and-environment.md §2).
#include "../common/test_support.h"

namespace {

using namespace tptest;

constexpr DWORD kDefaultMaximum = 500;

// ---- Without posting work ----------------------------------------------------------------

TEST(PoolBasics, CreateReturnsPoolAndCloseAcceptsIt)
{
    PTP_POOL pool = CreateThreadpool(nullptr);
    ASSERT_NE(nullptr, pool) << "error " << GetLastError();
    CloseThreadpool(pool);
}

TEST(PoolBasics, SuccessfulCallsLeaveLastErrorUntouched)
{
    SetLastError(kSentinelError);
    PTP_POOL pool = CreateThreadpool(nullptr);
    ASSERT_NE(nullptr, pool);
    EXPECT_EQ(kSentinelError, GetLastError());

    SetThreadpoolThreadMaximum(pool, 4);
    EXPECT_TRUE(SetThreadpoolThreadMinimum(pool, 1));
    TP_POOL_STACK_INFORMATION info{};
    EXPECT_TRUE(QueryThreadpoolStackInformation(pool, &info));
    EXPECT_TRUE(SetThreadpoolStackInformation(pool, &info));
    EXPECT_EQ(kSentinelError, GetLastError());
    CloseThreadpool(pool);
}

// Spec: a non-NULL reserved argument is ignored (Wine; recommended).
TEST(PoolBasics, ReservedArgumentIsIgnored)
{
    int dummy = 0;
    PTP_POOL pool = CreateThreadpool(&dummy);
    ASSERT_NE(nullptr, pool) << "error " << GetLastError();
    CloseThreadpool(pool);
}

TEST(PoolBasics, NewPoolHasDefaultLimitsAndNoWorkerYet)
{
    PTP_POOL pool = CreateThreadpool(nullptr);
    ASSERT_NE(nullptr, pool);
    tpuring_pool_stats stats = pool_stats(pool);
    EXPECT_EQ(kDefaultMaximum, stats.max_workers);
    EXPECT_EQ(0u, stats.min_workers);
    // Threads are created on demand: nothing was bound or posted yet.
    EXPECT_EQ(0u, stats.workers);
    EXPECT_EQ(0u, stats.callbacks_run);
    CloseThreadpool(pool);
}

TEST(PoolBasics, DefaultPoolHasDefaultLimits)
{
    tpuring_pool_stats stats = pool_stats(nullptr);
    EXPECT_EQ(kDefaultMaximum, stats.max_workers);
    EXPECT_EQ(0u, stats.min_workers);
    EXPECT_LE(stats.workers, stats.max_workers);
    EXPECT_LE(stats.idle_workers, stats.workers);
}

TEST(PoolBasics, SetMaximumIsReported)
{
    PTP_POOL pool = CreateThreadpool(nullptr);
    ASSERT_NE(nullptr, pool);
    SetThreadpoolThreadMaximum(pool, 7);
    EXPECT_EQ(7u, pool_stats(pool).max_workers);
    SetThreadpoolThreadMaximum(pool, 2);
    EXPECT_EQ(2u, pool_stats(pool).max_workers);
    CloseThreadpool(pool);
}

TEST(PoolBasics, MaximumZeroIsStoredAsOne)
{
    PTP_POOL pool = CreateThreadpool(nullptr);
    ASSERT_NE(nullptr, pool);
    SetThreadpoolThreadMaximum(pool, 0);
    EXPECT_EQ(1u, pool_stats(pool).max_workers);
    CloseThreadpool(pool);
}

TEST(PoolBasics, LoweringMaximumBelowMinimumLowersMinimum)
{
    PTP_POOL pool = CreateThreadpool(nullptr);
    ASSERT_NE(nullptr, pool);
    ASSERT_TRUE(SetThreadpoolThreadMinimum(pool, 4));
    SetThreadpoolThreadMaximum(pool, 2);
    tpuring_pool_stats stats = pool_stats(pool);
    EXPECT_EQ(2u, stats.max_workers);
    EXPECT_EQ(2u, stats.min_workers);
    CloseThreadpool(pool);
}

TEST(PoolBasics, MinimumAboveMaximumRaisesMaximum)
{
    PTP_POOL pool = CreateThreadpool(nullptr);
    ASSERT_NE(nullptr, pool);
    SetThreadpoolThreadMaximum(pool, 2);
    ASSERT_TRUE(SetThreadpoolThreadMinimum(pool, 5));
    tpuring_pool_stats stats = pool_stats(pool);
    EXPECT_EQ(5u, stats.min_workers);
    EXPECT_EQ(5u, stats.max_workers);
    CloseThreadpool(pool);
}

// The minimum's threads are created inside the call (README: the call blocks until then).
TEST(PoolBasics, SetMinimumCreatesThreadsBeforeReturning)
{
    PTP_POOL pool = CreateThreadpool(nullptr);
    ASSERT_NE(nullptr, pool);
    ASSERT_TRUE(SetThreadpoolThreadMinimum(pool, 3));
    tpuring_pool_stats stats = pool_stats(pool);
    EXPECT_GE(stats.workers, 3u);
    EXPECT_LE(stats.workers, stats.max_workers);
    EXPECT_GE(stats.workers_started, 3u);
    CloseThreadpool(pool);
}

TEST(PoolBasics, DefaultStackInformationIsReported)
{
    PTP_POOL pool = CreateThreadpool(nullptr);
    ASSERT_NE(nullptr, pool);
    TP_POOL_STACK_INFORMATION info{~SIZE_T{0}, ~SIZE_T{0}};
    ASSERT_TRUE(QueryThreadpoolStackInformation(pool, &info));
    EXPECT_NE(~SIZE_T{0}, info.StackReserve);
    EXPECT_NE(0u, info.StackReserve);
    EXPECT_LE(info.StackCommit, info.StackReserve);
    CloseThreadpool(pool);
}

// Values are not validated: {1, 1} is accepted and reads back unchanged (Wine test on Windows).
TEST(PoolBasics, StackInformationOneOneRoundTrips)
{
    PTP_POOL pool = CreateThreadpool(nullptr);
    ASSERT_NE(nullptr, pool);
    TP_POOL_STACK_INFORMATION set{1, 1};
    ASSERT_TRUE(SetThreadpoolStackInformation(pool, &set));
    TP_POOL_STACK_INFORMATION got{0, 0};
    ASSERT_TRUE(QueryThreadpoolStackInformation(pool, &got));
    EXPECT_EQ(1u, got.StackReserve);
    EXPECT_EQ(1u, got.StackCommit);

    TP_POOL_STACK_INFORMATION big{256 * 1024, 4096};
    ASSERT_TRUE(SetThreadpoolStackInformation(pool, &big));
    ASSERT_TRUE(QueryThreadpoolStackInformation(pool, &got));
    EXPECT_EQ(big.StackReserve, got.StackReserve);
    EXPECT_EQ(big.StackCommit, got.StackCommit);
    CloseThreadpool(pool);
}

TEST(PoolBasics, StackInformationNullIsInvalidParameter)
{
    PTP_POOL pool = CreateThreadpool(nullptr);
    ASSERT_NE(nullptr, pool);
    SetLastError(0);
    EXPECT_FALSE(SetThreadpoolStackInformation(pool, nullptr));
    EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_PARAMETER), GetLastError());
    SetLastError(0);
    EXPECT_FALSE(QueryThreadpoolStackInformation(pool, nullptr));
    EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_PARAMETER), GetLastError());
    CloseThreadpool(pool);
}

TEST(PoolBasics, DispatchModeRoundTripsAndRejectsUnknownMode)
{
    PTP_POOL pool = CreateThreadpool(nullptr);
    ASSERT_NE(nullptr, pool);
    ASSERT_TRUE(tpuring_set_pool_dispatch(pool, TPURING_DISPATCH_RING));
    EXPECT_EQ(TPURING_DISPATCH_RING, tpuring_get_pool_dispatch(pool));
    ASSERT_TRUE(tpuring_set_pool_dispatch(pool, TPURING_DISPATCH_DIRECT));
    EXPECT_EQ(TPURING_DISPATCH_DIRECT, tpuring_get_pool_dispatch(pool));
    SetLastError(0);
    EXPECT_FALSE(tpuring_set_pool_dispatch(pool, static_cast<tpuring_dispatch_mode>(7)));
    EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_PARAMETER), GetLastError());
    EXPECT_EQ(TPURING_DISPATCH_DIRECT, tpuring_get_pool_dispatch(pool));
    CloseThreadpool(pool);
}

// ---- With work posted (both dispatch modes) ----------------------------------------------

class PoolTest : public DispatchTest {};
TPTEST_INSTANTIATE_DISPATCH_MODES(PoolTest);

struct ThreadRecord {
    Counter ran;
    std::atomic<int> on_caller_thread{0};
    DWORD caller = GetCurrentThreadId();
};

void CALLBACK record_thread(PTP_CALLBACK_INSTANCE, PVOID ctx)
{
    auto *record = static_cast<ThreadRecord *>(ctx);
    if (GetCurrentThreadId() == record->caller)
        record->on_caller_thread++;
    record->ran.increment();
}

TEST_P(PoolTest, CallbacksRunOnWorkerThreadsOfTheirPool)
{
    Pool pool(mode());
    Shared<ThreadRecord> record;
    constexpr int kPosts = 10;
    for (int i = 0; i < kPosts; ++i)
        ASSERT_TRUE(TrySubmitThreadpoolCallback(record_thread, record.get(), pool.env()));
    ASSERT_TRUE(record->ran.wait_for_at_least(kPosts));
    EXPECT_EQ(0, record->on_caller_thread.load());
    // Every one was counted by this pool.
    EXPECT_TRUE(eventually([&] { return pool.stats().callbacks_run >= kPosts; }));
    EXPECT_EQ(static_cast<ULONGLONG>(kPosts), pool.stats().callbacks_run);
}

TEST_P(PoolTest, NullEnvironmentUsesTheDefaultPool)
{
    Shared<ThreadRecord> record;
    ULONGLONG before = pool_stats(nullptr).callbacks_run;
    constexpr int kPosts = 5;
    for (int i = 0; i < kPosts; ++i)
        ASSERT_TRUE(TrySubmitThreadpoolCallback(record_thread, record.get(), nullptr));
    ASSERT_TRUE(record->ran.wait_for_at_least(kPosts));
    EXPECT_EQ(0, record->on_caller_thread.load());
    EXPECT_TRUE(eventually([&] { return pool_stats(nullptr).callbacks_run >= before + kPosts; }));
}

TEST_P(PoolTest, EnvironmentWithNullPoolUsesTheDefaultPool)
{
    Shared<ThreadRecord> record;
    TP_CALLBACK_ENVIRON env;
    InitializeThreadpoolEnvironment(&env);
    SetThreadpoolCallbackPool(&env, nullptr);
    ULONGLONG before = pool_stats(nullptr).callbacks_run;
    ASSERT_TRUE(TrySubmitThreadpoolCallback(record_thread, record.get(), &env));
    ASSERT_TRUE(record->ran.wait_for_at_least(1));
    EXPECT_TRUE(eventually([&] { return pool_stats(nullptr).callbacks_run >= before + 1; }));
    DestroyThreadpoolEnvironment(&env);
}

struct HeldCallbacks {
    ConcurrencyTracker tracker;
    Tokens release;
    Counter finished;
    std::atomic<int> timed_out{0};
};

void CALLBACK held_callback(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WORK)
{
    auto *held = static_cast<HeldCallbacks *>(ctx);
    {
        ConcurrencyTracker::Scope scope(held->tracker);
        if (!held->release.acquire())
            held->timed_out++;
    }
    held->finished.increment();
}

// At no time do more than the maximum number of workers exist or callbacks run.
TEST_P(PoolTest, WorkerCountNeverExceedsMaximum)
{
    constexpr DWORD kMax = 3;
    constexpr int kPosts = 30;
    Pool pool(mode(), kMax);
    Shared<HeldCallbacks> held;
    PTP_WORK work = CreateThreadpoolWork(held_callback, held.get(), pool.env());
    ASSERT_NE(nullptr, work);
    for (int i = 0; i < kPosts; ++i)
        SubmitThreadpoolWork(work);

    // The pool must grow to its maximum for blocked callbacks, and no further.
    ASSERT_TRUE(eventually([&] { return held->tracker.current() == static_cast<int>(kMax); }));
    std::this_thread::sleep_for(100ms); // give an over-eager injector the chance to show
    EXPECT_LE(pool.stats().workers, kMax);
    EXPECT_EQ(static_cast<int>(kMax), held->tracker.peak());

    // Release callbacks one at a time and keep sampling while the queue drains.
    for (int i = 0; i < kPosts; ++i) {
        held->release.release();
        tpuring_pool_stats stats = pool.stats();
        EXPECT_LE(stats.workers, kMax);
        EXPECT_LE(stats.idle_workers, stats.workers);
    }
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
    EXPECT_EQ(kPosts, held->finished.get());
    EXPECT_EQ(0, held->timed_out.load());
    EXPECT_LE(held->tracker.peak(), static_cast<int>(kMax));
    EXPECT_LE(pool.stats().workers, kMax);
    EXPECT_EQ(static_cast<ULONGLONG>(kPosts), pool.stats().callbacks_run);
}

struct Rendezvous {
    explicit Rendezvous(long parties) : barrier(parties) {}
    Barrier barrier;
    Counter met;
    Counter timed_out;
};

void CALLBACK meet_others(PTP_CALLBACK_INSTANCE, PVOID ctx)
{
    auto *rendezvous = static_cast<Rendezvous *>(ctx);
    if (rendezvous->barrier.arrive_and_wait(kLongTimeout))
        rendezvous->met.increment();
    else
        rendezvous->timed_out.increment();
}

// Callbacks that wait for each other need one thread each: the pool injects them.
TEST_P(PoolTest, InjectsThreadsUpToMaximumForBlockedCallbacks)
{
    constexpr int kParties = 8;
    Pool pool(mode(), kParties);
    Shared<Rendezvous> rendezvous(kParties);
    for (int i = 0; i < kParties; ++i)
        ASSERT_TRUE(TrySubmitThreadpoolCallback(meet_others, rendezvous.get(), pool.env()));
    ASSERT_TRUE(rendezvous->met.wait_for_at_least(kParties, kLongTimeout))
        << "arrived: " << rendezvous->barrier.arrived() << ", workers: " << pool.stats().workers;
    EXPECT_EQ(0, rendezvous->timed_out.get());
    EXPECT_LE(pool.stats().workers, static_cast<DWORD>(kParties));
}

// Minimum above maximum raises the maximum, so that many callbacks really run at once.
TEST_P(PoolTest, RaisedMaximumAllowsThatManyConcurrentCallbacks)
{
    constexpr int kParties = 3;
    Pool pool(mode(), 1);
    ASSERT_TRUE(SetThreadpoolThreadMinimum(pool.get(), kParties));
    Shared<Rendezvous> rendezvous(kParties);
    for (int i = 0; i < kParties; ++i)
        ASSERT_TRUE(TrySubmitThreadpoolCallback(meet_others, rendezvous.get(), pool.env()));
    ASSERT_TRUE(rendezvous->met.wait_for_at_least(kParties, kLongTimeout));
}

TEST_P(PoolTest, MinimumEqualToMaximumGivesPersistentThreadsThatServeCallbacks)
{
    constexpr int kParties = 2;
    Pool pool(mode(), kParties, kParties);
    EXPECT_EQ(static_cast<DWORD>(kParties), pool.stats().workers);
    Shared<Rendezvous> rendezvous(kParties);
    for (int i = 0; i < kParties; ++i)
        ASSERT_TRUE(TrySubmitThreadpoolCallback(meet_others, rendezvous.get(), pool.env()));
    ASSERT_TRUE(rendezvous->met.wait_for_at_least(kParties, kLongTimeout));
    EXPECT_GE(pool.stats().workers, static_cast<DWORD>(kParties));
}

TEST_P(PoolTest, MaximumZeroStillRunsCallbacksOneAtATime)
{
    Pool pool(mode());
    SetThreadpoolThreadMaximum(pool.get(), 0);
    Shared<HeldCallbacks> held;
    PTP_WORK work = CreateThreadpoolWork(held_callback, held.get(), pool.env());
    ASSERT_NE(nullptr, work);
    held->release.release(5);
    for (int i = 0; i < 5; ++i)
        SubmitThreadpoolWork(work);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
    EXPECT_EQ(5, held->finished.get());
    EXPECT_EQ(1, held->tracker.peak());
}

// Threads above a lowered maximum may linger, but must not run callbacks concurrently.
TEST_P(PoolTest, LoweredMaximumLimitsConcurrencyOfExistingThreads)
{
    constexpr int kParties = 4;
    Pool pool(mode(), kParties);
    Shared<Rendezvous> rendezvous(kParties);
    for (int i = 0; i < kParties; ++i)
        ASSERT_TRUE(TrySubmitThreadpoolCallback(meet_others, rendezvous.get(), pool.env()));
    ASSERT_TRUE(rendezvous->met.wait_for_at_least(kParties, kLongTimeout));

    SetThreadpoolThreadMaximum(pool.get(), 1);
    Shared<HeldCallbacks> held;
    PTP_WORK work = CreateThreadpoolWork(held_callback, held.get(), pool.env());
    ASSERT_NE(nullptr, work);
    const int posts = 40;
    for (int i = 0; i < posts; ++i)
        SubmitThreadpoolWork(work);
    // Let several threads try to pick up work before any finishes.
    std::this_thread::sleep_for(50ms);
    held->release.release(posts);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
    EXPECT_EQ(posts, held->finished.get());
    EXPECT_EQ(1, held->tracker.peak());
}

// Stack sizes are not validated; a real thread rounds them up, so callbacks still run.
TEST_P(PoolTest, TinyAndSmallStackSizesStillRunCallbacks)
{
    for (TP_POOL_STACK_INFORMATION info : {TP_POOL_STACK_INFORMATION{1, 1}, TP_POOL_STACK_INFORMATION{256 * 1024, 4096}}) {
        Pool pool(mode());
        ASSERT_TRUE(SetThreadpoolStackInformation(pool.get(), &info));
        Shared<Rendezvous> rendezvous(2); // two threads: both get created with the sizes
        for (int i = 0; i < 2; ++i)
            ASSERT_TRUE(TrySubmitThreadpoolCallback(meet_others, rendezvous.get(), pool.env()));
        ASSERT_TRUE(rendezvous->met.wait_for_at_least(2, kLongTimeout)) << "reserve " << info.StackReserve;
    }
}

TEST_P(PoolTest, PoolsAreScheduledIndependently)
{
    Pool busy(mode(), 1);
    Blocker blocker;
    ASSERT_TRUE(blocker.start(busy.env()));

    Pool other(mode(), 1);
    Shared<ThreadRecord> record;
    ASSERT_TRUE(TrySubmitThreadpoolCallback(record_thread, record.get(), other.env()));
    EXPECT_TRUE(record->ran.wait_for_at_least(1));
    blocker.release();
    EXPECT_TRUE(blocker.wait_finished());
}

void CALLBACK count_work(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WORK)
{
    static_cast<Counter *>(ctx)->increment();
}

// Objects keep their pool alive after CloseThreadpool (docs; recommended by the spec).
TEST_P(PoolTest, BoundObjectsKeepAClosedPoolWorking)
{
    Pool pool(mode());
    Shared<Counter> count;
    PTP_WORK work = CreateThreadpoolWork(count_work, count.get(), pool.env());
    ASSERT_NE(nullptr, work);
    CloseThreadpool(pool.release());
    for (int i = 0; i < 3; ++i)
        SubmitThreadpoolWork(work);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    EXPECT_EQ(3, count->get());
    SubmitThreadpoolWork(work);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    EXPECT_EQ(4, count->get());
    CloseThreadpoolWork(work);
}

// CloseThreadpool does not block and does not drop callbacks already queued.
TEST_P(PoolTest, CloseThreadpoolLetsQueuedCallbacksRun)
{
    Pool pool(mode(), 1);
    Blocker blocker;
    ASSERT_TRUE(blocker.start(pool.env()));
    Shared<Counter> count;
    PTP_WORK work = CreateThreadpoolWork(count_work, count.get(), pool.env());
    ASSERT_NE(nullptr, work);
    for (int i = 0; i < 5; ++i)
        SubmitThreadpoolWork(work);
    CloseThreadpoolWork(work);
    CloseThreadpool(pool.release()); // returns although its only worker is blocked
    EXPECT_EQ(0, count->get());
    blocker.release();
    EXPECT_TRUE(count->wait_for_at_least(5));
    EXPECT_TRUE(blocker.wait_finished());
}

struct SelfClosingPool {
    PTP_POOL pool = nullptr;
    Flag closed;
};

TEST_P(PoolTest, CloseThreadpoolFromInsideItsOwnCallback)
{
    Pool pool(mode());
    Shared<SelfClosingPool> state;
    state->pool = pool.get();
    ASSERT_TRUE(TrySubmitThreadpoolCallback(
        [](PTP_CALLBACK_INSTANCE, PVOID ctx) {
            auto *s = static_cast<SelfClosingPool *>(ctx);
            CloseThreadpool(s->pool);
            s->closed.set();
        },
        state.get(), pool.env()));
    pool.release();
    ASSERT_TRUE(state->closed.wait());
}

// Idle workers retire after a while, but never below the minimum.
TEST_P(PoolTest, IdleWorkersRetireButNotBelowTheMinimum)
{
    constexpr int kParties = 5;
    constexpr DWORD kMin = 2;
    Pool pool(mode(), kParties, kMin);
    Shared<Rendezvous> rendezvous(kParties);
    for (int i = 0; i < kParties; ++i)
        ASSERT_TRUE(TrySubmitThreadpoolCallback(meet_others, rendezvous.get(), pool.env()));
    ASSERT_TRUE(rendezvous->met.wait_for_at_least(kParties, kLongTimeout));
    EXPECT_GE(pool.stats().workers, static_cast<DWORD>(kParties));

    DWORD lowest = kParties;
    bool retired = eventually([&] {
        DWORD workers = pool.stats().workers;
        lowest = std::min(lowest, workers);
        return workers == kMin;
    }, 60s);
    EXPECT_TRUE(retired) << "workers: " << pool.stats().workers;
    EXPECT_GE(pool.stats().workers_retired, static_cast<ULONGLONG>(kParties - kMin));
    EXPECT_GE(lowest, kMin);
}

struct PersistentRun {
    Counter ran;
    std::atomic<DWORD> thread{0};
};

void CALLBACK record_persistent_thread(PTP_CALLBACK_INSTANCE, PVOID ctx)
{
    auto *run = static_cast<PersistentRun *>(ctx);
    run->thread = GetCurrentThreadId();
    run->ran.increment();
}

// Persistent callbacks run on a thread that never exits (spec: libtpuring gives the pool
// a worker that never retires), even with minimum 0.
TEST_P(PoolTest, PersistentCallbackKeepsItsThreadAlive)
{
    Pool pool(mode(), 4);
    TP_CALLBACK_ENVIRON env = *pool.env();
    SetThreadpoolCallbackPersistent(&env);
    Shared<PersistentRun> first, second;
    ASSERT_TRUE(TrySubmitThreadpoolCallback(record_persistent_thread, first.get(), &env));
    ASSERT_TRUE(first->ran.wait_for_at_least(1));
    // Let every ordinary worker retire; the persistent one must stay.
    std::this_thread::sleep_for(7s);
    EXPECT_TRUE(eventually([&] { return pool.stats().workers == 1; }, 60s)) << "workers: " << pool.stats().workers;
    ASSERT_TRUE(TrySubmitThreadpoolCallback(record_persistent_thread, second.get(), &env));
    ASSERT_TRUE(second->ran.wait_for_at_least(1));
    EXPECT_EQ(first->thread.load(), second->thread.load());
}

TEST_P(PoolTest, DefaultPoolWorkerCountStaysWithinItsMaximum)
{
    Shared<Rendezvous> rendezvous(4);
    for (int i = 0; i < 4; ++i)
        ASSERT_TRUE(TrySubmitThreadpoolCallback(meet_others, rendezvous.get(), nullptr));
    ASSERT_TRUE(rendezvous->met.wait_for_at_least(4, kLongTimeout));
    tpuring_pool_stats stats = pool_stats(nullptr);
    EXPECT_GE(stats.workers_started, 4u);
    EXPECT_LE(stats.workers, stats.max_workers);
    EXPECT_EQ(kDefaultMaximum, stats.max_workers);
}

} // namespace
