// Simple callbacks: TrySubmitThreadpoolCallback (spec/work.md), the hidden one-shot object
// that honours the whole environment, its callback instance, and its cleanup-group membership.
#include "../common/test_support.h"

namespace {

using namespace tptest;

class SimpleCallbackTest : public DispatchTest {};
TPTEST_INSTANTIATE_DISPATCH_MODES(SimpleCallbackTest);

struct Invocation {
    Counter ran;
    std::atomic<PVOID> context{nullptr};
    std::atomic<PTP_CALLBACK_INSTANCE> instance{nullptr};
    std::atomic<DWORD> thread{0};
};

void CALLBACK record_invocation(PTP_CALLBACK_INSTANCE instance, PVOID ctx)
{
    auto *inv = static_cast<Invocation *>(ctx);
    inv->context = ctx;
    inv->instance = instance;
    inv->thread = GetCurrentThreadId();
    inv->ran.increment();
}

void CALLBACK count_simple(PTP_CALLBACK_INSTANCE, PVOID ctx) { static_cast<Counter *>(ctx)->increment(); }

TEST_P(SimpleCallbackTest, RunsExactlyOnceWithItsContextOnAWorkerThread)
{
    Pool pool(mode(), 1);
    Shared<Invocation> inv;
    SetLastError(kSentinelError);
    ASSERT_TRUE(TrySubmitThreadpoolCallback(record_invocation, inv.get(), pool.env()));
    EXPECT_EQ(kSentinelError, GetLastError());
    ASSERT_TRUE(inv->ran.wait_for_at_least(1));
    ASSERT_TRUE(drain_single_thread_pool(*pool.env()));
    EXPECT_EQ(1, inv->ran.get());
    EXPECT_EQ(inv.get(), inv->context.load());
    EXPECT_NE(nullptr, inv->instance.load());
    EXPECT_NE(GetCurrentThreadId(), inv->thread.load());
}

TEST_P(SimpleCallbackTest, NullEnvironmentRunsOnTheDefaultPool)
{
    Shared<Invocation> inv;
    ULONGLONG before = pool_stats(nullptr).callbacks_run;
    ASSERT_TRUE(TrySubmitThreadpoolCallback(record_invocation, inv.get(), nullptr));
    ASSERT_TRUE(inv->ran.wait_for_at_least(1));
    EXPECT_NE(GetCurrentThreadId(), inv->thread.load());
    EXPECT_TRUE(eventually([&] { return pool_stats(nullptr).callbacks_run > before; }));
}

TEST_P(SimpleCallbackTest, InvalidEnvironmentIsRejected)
{
    Pool pool(mode());
    Shared<Counter> count;
    TP_CALLBACK_ENVIRON env = env_with_priority(*pool.env(), static_cast<TP_CALLBACK_PRIORITY>(10));
    SetLastError(0);
    EXPECT_FALSE(TrySubmitThreadpoolCallback(count_simple, count.get(), &env));
    EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_PARAMETER), GetLastError());
    env = *pool.env();
    env.Version = 9999;
    SetLastError(0);
    EXPECT_FALSE(TrySubmitThreadpoolCallback(count_simple, count.get(), &env));
    EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_PARAMETER), GetLastError());
    // A valid post afterwards proves the rejected ones never ran.
    ASSERT_TRUE(TrySubmitThreadpoolCallback(count_simple, count.get(), pool.env()));
    ASSERT_TRUE(count->wait_for_at_least(1));
    EXPECT_TRUE(eventually([&] { return pool.stats().callbacks_run == 1; }));
    EXPECT_EQ(1, count->get());
}

// Wine: CallbackMayRunLong inside a simple callback on a pool with maximum 1 returns FALSE.
TEST_P(SimpleCallbackTest, CallbackMayRunLongIsFalseOnAOneThreadPool)
{
    Pool pool(mode(), 1);
    struct Result {
        Counter done;
        std::atomic<int> value{-1};
        std::atomic<DWORD> error{0};
    };
    Shared<Result> r;
    ASSERT_TRUE(TrySubmitThreadpoolCallback(
        [](PTP_CALLBACK_INSTANCE instance, PVOID ctx) {
            auto *res = static_cast<Result *>(ctx);
            SetLastError(0);
            res->value = CallbackMayRunLong(instance) ? 1 : 0;
            res->error = GetLastError();
            res->done.increment();
        },
        r.get(), pool.env()));
    ASSERT_TRUE(r->done.wait_for_at_least(1));
    EXPECT_EQ(0, r->value.load());
    EXPECT_EQ(static_cast<DWORD>(ERROR_TOO_MANY_TCBS), r->error.load());
}

struct SemaphoreAndFinalizer {
    HANDLE action_semaphore = nullptr;
    HANDLE finalizer_semaphore = nullptr;
};

// Wine: ReleaseSemaphoreWhenCallbackReturns from a simple callback releases it after the
// callback, and the environment's finalization callback runs as well.
TEST_P(SimpleCallbackTest, ReturnActionAndFinalizationCallbackBothRun)
{
    Pool pool(mode());
    Handle action = make_semaphore(0, 1);
    Handle finalized = make_semaphore(0, 1);
    Shared<SemaphoreAndFinalizer> s;
    s->action_semaphore = action;
    s->finalizer_semaphore = finalized;
    TP_CALLBACK_ENVIRON env = *pool.env();
    TpSetCallbackFinalizationCallback(&env, [](PTP_CALLBACK_INSTANCE, PVOID ctx) {
        ReleaseSemaphore(static_cast<SemaphoreAndFinalizer *>(ctx)->finalizer_semaphore, 1, nullptr);
    });
    ASSERT_TRUE(TrySubmitThreadpoolCallback(
        [](PTP_CALLBACK_INSTANCE instance, PVOID ctx) {
            ReleaseSemaphoreWhenCallbackReturns(instance, static_cast<SemaphoreAndFinalizer *>(ctx)->action_semaphore, 1);
        },
        s.get(), &env));
    EXPECT_TRUE(signaled_within(action));
    EXPECT_TRUE(signaled_within(finalized));
}

// Many posts from two threads: each runs exactly once.
TEST_P(SimpleCallbackTest, ManyPostsFromTwoThreadsEachRunOnce)
{
    const long per_thread = scaled(50000);
    Pool pool(mode());
    struct Tally {
        std::atomic<long> ran{0};
        std::atomic<long> posted{0};
    };
    Shared<Tally> tally;
    std::vector<std::thread> posters;
    for (int t = 0; t < 2; ++t)
        posters.emplace_back([&] {
            for (long i = 0; i < per_thread; ++i)
                if (TrySubmitThreadpoolCallback(
                        [](PTP_CALLBACK_INSTANCE, PVOID ctx) { static_cast<Tally *>(ctx)->ran++; }, tally.get(),
                        pool.env()))
                    tally->posted++;
        });
    for (auto &poster : posters)
        poster.join();
    EXPECT_EQ(2 * per_thread, tally->posted.load());
    ASSERT_TRUE(eventually([&] { return tally->ran.load() >= tally->posted.load(); }, kLongTimeout));
    EXPECT_TRUE(eventually([&] { return pool.stats().callbacks_run == static_cast<ULONGLONG>(tally->posted.load()); }));
    EXPECT_EQ(tally->posted.load(), tally->ran.load());
}

struct ChainOfPosts {
    TP_CALLBACK_ENVIRON env{};
    long target = 100;
    Counter ran;
    std::atomic<int> post_failures{0};
};

void CALLBACK post_next(PTP_CALLBACK_INSTANCE, PVOID ctx)
{
    auto *chain = static_cast<ChainOfPosts *>(ctx);
    // Read before counting: the test may free the chain as soon as the last post counts.
    const long target = chain->target;
    if (chain->ran.increment() < target && !TrySubmitThreadpoolCallback(post_next, chain, &chain->env))
        chain->post_failures++;
}

TEST_P(SimpleCallbackTest, PostFromInsideASimpleCallback)
{
    Pool pool(mode(), 1);
    Shared<ChainOfPosts> chain;
    chain->env = *pool.env();
    ASSERT_TRUE(TrySubmitThreadpoolCallback(post_next, chain.get(), &chain->env));
    ASSERT_TRUE(chain->ran.wait_for_at_least(chain->target));
    ASSERT_TRUE(drain_single_thread_pool(*pool.env()));
    EXPECT_EQ(chain->target, chain->ran.get());
    EXPECT_EQ(0, chain->post_failures.load());
}

struct MixedOneShots {
    TP_CALLBACK_ENVIRON env{};
    std::atomic<long> ran{0};
};

void CALLBACK count_mixed(PTP_CALLBACK_INSTANCE, PVOID ctx) { static_cast<MixedOneShots *>(ctx)->ran++; }

// Fans out two more from inside a callback (onto the worker's own queue in direct mode).
void CALLBACK fan_out_two(PTP_CALLBACK_INSTANCE, PVOID ctx)
{
    auto *mixed = static_cast<MixedOneShots *>(ctx);
    TrySubmitThreadpoolCallback(count_mixed, mixed, &mixed->env);
    TrySubmitThreadpoolCallback(count_mixed, mixed, &mixed->env);
    mixed->ran++;
}

// A plain one-shot keeps a single reference through the inbound stack, the run queue and a
// worker's own queue: posted from outside and from callbacks, interleaved with one-shots
// that count references the usual way (high priority, long), every one runs once and is
// freed, so the pool's threads end when it is closed. A leaked one-shot would keep the
// pool and its threads alive; a reference dropped twice, a use after free.
TEST_P(SimpleCallbackTest, OneShotsOfEveryKindAreFreedAndLetThePoolEnd)
{
    const long threads_before = thread_count();
    const long per_poster = scaled(20000);
    auto pool = std::make_unique<Pool>(mode());
    Shared<MixedOneShots> mixed;
    mixed->env = *pool->env();
    TP_CALLBACK_ENVIRON high = env_with_priority(mixed->env, TP_CALLBACK_PRIORITY_HIGH);
    TP_CALLBACK_ENVIRON long_running = mixed->env;
    SetThreadpoolCallbackRunsLong(&long_running);
    std::atomic<long> expected{0};
    std::vector<std::thread> posters;
    for (int t = 0; t < 2; ++t)
        posters.emplace_back([&] {
            for (long i = 0; i < per_poster; ++i) {
                bool ok;
                long adds = 1;
                switch (i % 8) {
                case 0:
                    ok = TrySubmitThreadpoolCallback(fan_out_two, mixed.get(), &mixed->env);
                    adds = 3;
                    break;
                case 1:
                    ok = TrySubmitThreadpoolCallback(count_mixed, mixed.get(), &high);
                    break;
                case 2:
                    ok = TrySubmitThreadpoolCallback(count_mixed, mixed.get(), &long_running);
                    break;
                default:
                    ok = TrySubmitThreadpoolCallback(count_mixed, mixed.get(), &mixed->env);
                }
                if (ok)
                    expected += adds;
            }
        });
    for (auto &poster : posters)
        poster.join();
    ASSERT_EQ(2 * (per_poster + 2 * ((per_poster + 7) / 8)), expected.load()) << "a submission failed";
    ASSERT_TRUE(eventually([&] { return mixed->ran.load() >= expected.load(); }, kLongTimeout));
    pool.reset(); // closes the pool: its threads end once nothing references it
    EXPECT_TRUE(eventually([&] { return thread_count() <= threads_before; }))
        << threads_before << " threads before, " << thread_count() << " now";
    EXPECT_EQ(expected.load(), mixed->ran.load());
}

struct GroupedSimple {
    std::atomic<bool> side_effect{false};
    Counter started;
    std::atomic<int> cancels{0};
};

// Wine: a simple callback posted with a cleanup group is waited for by
// CloseThreadpoolCleanupGroupMembers(group, FALSE, NULL); its side effect is then visible.
TEST_P(SimpleCallbackTest, CleanupGroupWaitsForASimpleCallback)
{
    Pool pool(mode());
    PTP_CLEANUP_GROUP group = CreateThreadpoolCleanupGroup();
    ASSERT_NE(nullptr, group);
    TP_CALLBACK_ENVIRON env = *pool.env();
    SetThreadpoolCallbackCleanupGroup(&env, group, [](PVOID ctx, PVOID) { static_cast<GroupedSimple *>(ctx)->cancels++; });
    Shared<GroupedSimple> s;
    ASSERT_TRUE(TrySubmitThreadpoolCallback(
        [](PTP_CALLBACK_INSTANCE, PVOID ctx) {
            auto *g = static_cast<GroupedSimple *>(ctx);
            g->started.increment();
            std::this_thread::sleep_for(100ms);
            g->side_effect = true;
        },
        s.get(), &env));
    ASSERT_TRUE(s->started.wait_for_at_least(1));
    CloseThreadpoolCleanupGroupMembers(group, FALSE, nullptr);
    EXPECT_TRUE(s->side_effect.load());
    EXPECT_EQ(0, s->cancels.load());
    CloseThreadpoolCleanupGroup(group);
}

struct DisassociatedSimple {
    Flag disassociated;
    std::atomic<bool> finished{false};
};

// Wine: a simple callback that disassociates still holds up its cleanup group's teardown.
TEST_P(SimpleCallbackTest, DisassociatedSimpleCallbackStillHoldsItsCleanupGroup)
{
    Pool pool(mode());
    PTP_CLEANUP_GROUP group = CreateThreadpoolCleanupGroup();
    ASSERT_NE(nullptr, group);
    TP_CALLBACK_ENVIRON env = *pool.env();
    SetThreadpoolCallbackCleanupGroup(&env, group, nullptr);
    Shared<DisassociatedSimple> s;
    ASSERT_TRUE(TrySubmitThreadpoolCallback(
        [](PTP_CALLBACK_INSTANCE instance, PVOID ctx) {
            auto *d = static_cast<DisassociatedSimple *>(ctx);
            DisassociateCurrentThreadFromCallback(instance);
            d->disassociated.set();
            std::this_thread::sleep_for(200ms);
            d->finished = true;
        },
        s.get(), &env));
    ASSERT_TRUE(s->disassociated.wait());
    CloseThreadpoolCleanupGroupMembers(group, FALSE, nullptr);
    EXPECT_TRUE(s->finished.load());
    CloseThreadpoolCleanupGroup(group);
}

// A not-yet-started simple callback in a group is cancelled by a cancelling teardown: it
// never runs, and the cancel callback gets its context once, on the calling thread.
TEST_P(SimpleCallbackTest, CleanupGroupCancelsANotYetStartedSimpleCallback)
{
    Pool pool(mode(), 1);
    Blocker blocker;
    ASSERT_TRUE(blocker.start(pool.env())); // not a member: the teardown does not wait for it
    PTP_CLEANUP_GROUP group = CreateThreadpoolCleanupGroup();
    ASSERT_NE(nullptr, group);
    struct State {
        Counter ran;
        std::atomic<int> cancels{0};
        std::atomic<PVOID> object_context{nullptr};
        std::atomic<PVOID> cleanup_context{nullptr};
        std::atomic<DWORD> cancel_thread{0};
    };
    Shared<State> s;
    TP_CALLBACK_ENVIRON env = *pool.env();
    SetThreadpoolCallbackCleanupGroup(&env, group, [](PVOID object_ctx, PVOID cleanup_ctx) {
        auto *st = static_cast<State *>(object_ctx);
        st->cancels++;
        st->object_context = object_ctx;
        st->cleanup_context = cleanup_ctx;
        st->cancel_thread = GetCurrentThreadId();
    });
    ASSERT_TRUE(TrySubmitThreadpoolCallback(
        [](PTP_CALLBACK_INSTANCE, PVOID ctx) { static_cast<State *>(ctx)->ran.increment(); }, s.get(), &env));
    int cleanup_marker = 0;
    CloseThreadpoolCleanupGroupMembers(group, TRUE, &cleanup_marker);
    EXPECT_EQ(1, s->cancels.load());
    EXPECT_EQ(s.get(), s->object_context.load());
    EXPECT_EQ(&cleanup_marker, s->cleanup_context.load());
    EXPECT_EQ(GetCurrentThreadId(), s->cancel_thread.load());
    blocker.release();
    ASSERT_TRUE(drain_single_thread_pool(*pool.env()));
    EXPECT_EQ(0, s->ran.get());
    CloseThreadpoolCleanupGroup(group);
}

// A simple callback that already ran is no longer a member: no cancel callback.
TEST_P(SimpleCallbackTest, FinishedSimpleCallbackGetsNoCancelCallback)
{
    Pool pool(mode());
    PTP_CLEANUP_GROUP group = CreateThreadpoolCleanupGroup();
    ASSERT_NE(nullptr, group);
    struct State {
        Counter ran;
        std::atomic<int> cancels{0};
    };
    Shared<State> s;
    TP_CALLBACK_ENVIRON env = *pool.env();
    SetThreadpoolCallbackCleanupGroup(&env, group, [](PVOID ctx, PVOID) { static_cast<State *>(ctx)->cancels++; });
    ASSERT_TRUE(TrySubmitThreadpoolCallback(
        [](PTP_CALLBACK_INSTANCE, PVOID ctx) { static_cast<State *>(ctx)->ran.increment(); }, s.get(), &env));
    ASSERT_TRUE(s->ran.wait_for_at_least(1));
    CloseThreadpoolCleanupGroupMembers(group, TRUE, nullptr);
    EXPECT_EQ(0, s->cancels.load());
    EXPECT_EQ(1, s->ran.get());
    CloseThreadpoolCleanupGroup(group);
}

} // namespace
