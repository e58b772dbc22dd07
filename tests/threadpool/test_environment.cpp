// Callback environments: the inline setters, validation at object creation, priorities and
// round robin, the finalization callback, and the runs-long / persistent / library flags
// (spec/pool-and-environment.md §3-§5, README "Fine points").
#include "../common/test_support.h"

#include <cstring>

namespace {

using namespace tptest;

// ---- The inline setters (no posting) -----------------------------------------------------

TEST(EnvironmentSetters, InitializeFillsTheV3Defaults)
{
    TP_CALLBACK_ENVIRON env;
    std::memset(&env, 0xAB, sizeof env);
    InitializeThreadpoolEnvironment(&env);
    EXPECT_EQ(3u, env.Version);
    EXPECT_EQ(nullptr, env.Pool);
    EXPECT_EQ(nullptr, env.CleanupGroup);
    EXPECT_EQ(nullptr, env.CleanupGroupCancelCallback);
    EXPECT_EQ(nullptr, env.RaceDll);
    EXPECT_EQ(nullptr, env.ActivationContext);
    EXPECT_EQ(nullptr, env.FinalizationCallback);
    EXPECT_EQ(0u, env.u.Flags);
    EXPECT_EQ(TP_CALLBACK_PRIORITY_NORMAL, env.CallbackPriority);
    EXPECT_EQ(sizeof(TP_CALLBACK_ENVIRON), env.Size);
    DestroyThreadpoolEnvironment(&env);
}

void CALLBACK unused_cancel(PVOID, PVOID) {}
void CALLBACK unused_simple(PTP_CALLBACK_INSTANCE, PVOID) {}

TEST(EnvironmentSetters, EachSetterWritesItsField)
{
    TP_CALLBACK_ENVIRON env;
    InitializeThreadpoolEnvironment(&env);
    auto *pool = reinterpret_cast<PTP_POOL>(0x1000);
    auto *group = reinterpret_cast<PTP_CLEANUP_GROUP>(0x2000);
    SetThreadpoolCallbackPool(&env, pool);
    SetThreadpoolCallbackCleanupGroup(&env, group, unused_cancel);
    SetThreadpoolCallbackLibrary(&env, reinterpret_cast<PVOID>(0x3000));
    SetThreadpoolCallbackPriority(&env, TP_CALLBACK_PRIORITY_LOW);
    TpSetCallbackFinalizationCallback(&env, unused_simple);
    EXPECT_EQ(pool, env.Pool);
    EXPECT_EQ(group, env.CleanupGroup);
    EXPECT_EQ(&unused_cancel, env.CleanupGroupCancelCallback);
    EXPECT_EQ(reinterpret_cast<PVOID>(0x3000), env.RaceDll);
    EXPECT_EQ(TP_CALLBACK_PRIORITY_LOW, env.CallbackPriority);
    EXPECT_EQ(&unused_simple, env.FinalizationCallback);
    EXPECT_EQ(0u, env.u.Flags);
    SetThreadpoolCallbackRunsLong(&env);
    EXPECT_EQ(1u, env.u.s.LongFunction);
    EXPECT_EQ(0u, env.u.s.Persistent);
    SetThreadpoolCallbackPersistent(&env);
    EXPECT_EQ(1u, env.u.s.Persistent);
    TpSetCallbackNoActivationContext(&env);
    EXPECT_EQ(reinterpret_cast<struct _ACTIVATION_CONTEXT *>(static_cast<LONG_PTR>(-1)), env.ActivationContext);
    DestroyThreadpoolEnvironment(&env);
}

// ---- Validation at creation (no callback runs) -----------------------------------------

void CALLBACK never_runs_work(PTP_CALLBACK_INSTANCE, PVOID, PTP_WORK) { ADD_FAILURE() << "callback ran"; }
void CALLBACK never_runs_simple(PTP_CALLBACK_INSTANCE, PVOID) { ADD_FAILURE() << "callback ran"; }

void expect_rejected(TP_CALLBACK_ENVIRON env, const char *what)
{
    SetLastError(0);
    EXPECT_EQ(nullptr, CreateThreadpoolWork(never_runs_work, nullptr, &env)) << what;
    EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_PARAMETER), GetLastError()) << what;
    SetLastError(0);
    EXPECT_FALSE(TrySubmitThreadpoolCallback(never_runs_simple, nullptr, &env)) << what;
    EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_PARAMETER), GetLastError()) << what;
}

TEST(EnvironmentValidation, InvalidPriorityIsRejectedAtCreation)
{
    TP_CALLBACK_ENVIRON env;
    InitializeThreadpoolEnvironment(&env);
    env.CallbackPriority = static_cast<TP_CALLBACK_PRIORITY>(10);
    expect_rejected(env, "priority 10");
    env.CallbackPriority = TP_CALLBACK_PRIORITY_INVALID;
    expect_rejected(env, "TP_CALLBACK_PRIORITY_INVALID");
    env.CallbackPriority = static_cast<TP_CALLBACK_PRIORITY>(-1);
    expect_rejected(env, "priority -1");
}

TEST(EnvironmentValidation, UnknownVersionIsRejected)
{
    TP_CALLBACK_ENVIRON env;
    InitializeThreadpoolEnvironment(&env);
    env.Version = 9999;
    expect_rejected(env, "version 9999");
    env.Version = 2;
    expect_rejected(env, "version 2");
}

// ---- Behaviour (both dispatch modes) ----------------------------------------------------

class EnvironmentTest : public DispatchTest {};
TPTEST_INSTANTIATE_DISPATCH_MODES(EnvironmentTest);

void CALLBACK count_simple(PTP_CALLBACK_INSTANCE, PVOID ctx) { static_cast<Counter *>(ctx)->increment(); }
void CALLBACK count_work(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WORK) { static_cast<Counter *>(ctx)->increment(); }

// A Vista-level (V1) environment: zeroed, Version 1; its priority field does not exist.
TP_CALLBACK_ENVIRON v1_environment(PTP_POOL pool)
{
    TP_CALLBACK_ENVIRON env;
    std::memset(&env, 0, sizeof env);
    env.Version = 1;
    env.Pool = pool;
    env.CallbackPriority = static_cast<TP_CALLBACK_PRIORITY>(10); // ignored for V1
    return env;
}

TEST_P(EnvironmentTest, VersionOneEnvironmentRunsOnDefaultAndPrivatePools)
{
    Shared<Counter> count;
    TP_CALLBACK_ENVIRON on_default = v1_environment(nullptr);
    ASSERT_TRUE(TrySubmitThreadpoolCallback(count_simple, count.get(), &on_default)) << GetLastError();
    ASSERT_TRUE(count->wait_for_at_least(1));

    Pool pool(mode());
    TP_CALLBACK_ENVIRON on_private = v1_environment(pool.get());
    ASSERT_TRUE(TrySubmitThreadpoolCallback(count_simple, count.get(), &on_private)) << GetLastError();
    PTP_WORK work = CreateThreadpoolWork(count_work, count.get(), &on_private);
    ASSERT_NE(nullptr, work) << GetLastError();
    SubmitThreadpoolWork(work);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
    ASSERT_TRUE(count->wait_for_at_least(3));
    EXPECT_TRUE(eventually([&] { return pool.stats().callbacks_run == 2; }));
}

TEST_P(EnvironmentTest, EveryValidPriorityRuns)
{
    Pool pool(mode());
    Shared<Counter> count;
    for (TP_CALLBACK_PRIORITY priority :
         {TP_CALLBACK_PRIORITY_HIGH, TP_CALLBACK_PRIORITY_NORMAL, TP_CALLBACK_PRIORITY_LOW}) {
        TP_CALLBACK_ENVIRON env = env_with_priority(*pool.env(), priority);
        ASSERT_TRUE(TrySubmitThreadpoolCallback(count_simple, count.get(), &env)) << priority;
        PTP_WORK work = CreateThreadpoolWork(count_work, count.get(), &env);
        ASSERT_NE(nullptr, work) << priority;
        SubmitThreadpoolWork(work);
        WaitForThreadpoolWorkCallbacks(work, FALSE);
        CloseThreadpoolWork(work);
    }
    EXPECT_TRUE(count->wait_for_at_least(6));
}

struct LabelledPost {
    OrderLog *log;
    int label;
};

void CALLBACK log_label(PTP_CALLBACK_INSTANCE, PVOID ctx)
{
    auto *post = static_cast<LabelledPost *>(ctx);
    post->log->add(post->label);
}

struct PriorityRun {
    OrderLog log;
    std::vector<LabelledPost> posts;
};

// Blocks the only worker, queues posts (priority, label) in the given order, releases the
// worker and returns the labels in start order.
std::vector<int> start_order_on_busy_single_thread_pool(
    tpuring_dispatch_mode mode, const std::vector<std::pair<TP_CALLBACK_PRIORITY, int>> &posts)
{
    Pool pool(mode, 1);
    Blocker blocker;
    EXPECT_TRUE(blocker.start(pool.env()));
    auto *run = new PriorityRun;
    run->posts.reserve(posts.size());
    for (auto [priority, label] : posts) {
        run->posts.push_back({&run->log, label});
        TP_CALLBACK_ENVIRON env = env_with_priority(*pool.env(), priority);
        EXPECT_TRUE(TrySubmitThreadpoolCallback(log_label, &run->posts.back(), &env));
    }
    // Ring-mode posts reach the run queue through the ring, after the call returned.
    EXPECT_TRUE(eventually([&] { return pool.stats().ready_objects == posts.size(); }));
    blocker.release();
    bool all_ran = eventually([&] { return run->log.labels().size() == posts.size(); });
    EXPECT_TRUE(all_ran);
    std::vector<int> order = run->log.labels();
    if (all_ran)
        delete run;
    return order;
}

// A free worker takes the highest-priority queue first.
TEST_P(EnvironmentTest, HighStartsBeforeNormalBeforeLowOnABusyPool)
{
    std::vector<int> order = start_order_on_busy_single_thread_pool(
        mode(), {{TP_CALLBACK_PRIORITY_LOW, 3}, {TP_CALLBACK_PRIORITY_NORMAL, 2}, {TP_CALLBACK_PRIORITY_HIGH, 1}});
    EXPECT_EQ((std::vector<int>{1, 2, 3}), order);
}

// Within one priority: first queued, first started.
TEST_P(EnvironmentTest, PostsOfOnePriorityStartInFifoOrder)
{
    std::vector<int> order = start_order_on_busy_single_thread_pool(
        mode(), {{TP_CALLBACK_PRIORITY_LOW, 31},
                 {TP_CALLBACK_PRIORITY_HIGH, 11},
                 {TP_CALLBACK_PRIORITY_NORMAL, 21},
                 {TP_CALLBACK_PRIORITY_LOW, 32},
                 {TP_CALLBACK_PRIORITY_NORMAL, 22},
                 {TP_CALLBACK_PRIORITY_HIGH, 12},
                 {TP_CALLBACK_PRIORITY_HIGH, 13}});
    EXPECT_EQ((std::vector<int>{11, 12, 13, 21, 22, 31, 32}), order);
}

struct RoundRobin {
    OrderLog log;
};

void CALLBACK log_object_a(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WORK) { static_cast<RoundRobin *>(ctx)->log.add(0); }
void CALLBACK log_object_b(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WORK) { static_cast<RoundRobin *>(ctx)->log.add(1); }

// Ten queued posts of object A do not hold back a later post of object B (round robin by
// object within a priority).
TEST_P(EnvironmentTest, DispatchIsRoundRobinByObject)
{
    Pool pool(mode(), 1);
    Shared<RoundRobin> state;
    PTP_WORK a = CreateThreadpoolWork(log_object_a, state.get(), pool.env());
    PTP_WORK b = CreateThreadpoolWork(log_object_b, state.get(), pool.env());
    ASSERT_NE(nullptr, a);
    ASSERT_NE(nullptr, b);
    Blocker blocker;
    ASSERT_TRUE(blocker.start(pool.env()));
    for (int i = 0; i < 10; ++i)
        SubmitThreadpoolWork(a);
    for (int i = 0; i < 10; ++i)
        SubmitThreadpoolWork(b);
    // Ring-mode posts reach the run queue through the ring, after the call returned.
    EXPECT_TRUE(eventually([&] { return pool.stats().ready_objects == 2; }));
    blocker.release();
    WaitForThreadpoolWorkCallbacks(a, FALSE);
    WaitForThreadpoolWorkCallbacks(b, FALSE);
    CloseThreadpoolWork(a);
    CloseThreadpoolWork(b);

    std::vector<int> order = state->log.labels();
    ASSERT_EQ(20u, order.size());
    auto first_b = std::find(order.begin(), order.end(), 1) - order.begin();
    EXPECT_LE(first_b, 1) << "B waited behind A's posts";
    EXPECT_GE(std::count(order.begin(), order.begin() + 6, 1), 2) << "A and B do not alternate";
    EXPECT_EQ(10, std::count(order.begin(), order.end(), 0));
}

struct Finalization {
    HANDLE event = nullptr; // set by the callback's return action
    PTP_CALLBACK_INSTANCE callback_instance = nullptr;
    DWORD callback_thread = 0;
    std::atomic<int> callbacks{0};
    std::atomic<int> finalizations{0};
    std::atomic<int> mismatches{0};
    std::atomic<int> event_set_too_early{0};
    Counter done;
};

void CALLBACK finalization_callback_body(PTP_CALLBACK_INSTANCE instance, PVOID ctx)
{
    auto *f = static_cast<Finalization *>(ctx);
    f->callback_instance = instance;
    f->callback_thread = GetCurrentThreadId();
    SetEventWhenCallbackReturns(instance, f->event);
    f->callbacks++;
}

void CALLBACK finalization_work_body(PTP_CALLBACK_INSTANCE instance, PVOID ctx, PTP_WORK)
{
    finalization_callback_body(instance, ctx);
}

void CALLBACK finalizer(PTP_CALLBACK_INSTANCE instance, PVOID ctx)
{
    auto *f = static_cast<Finalization *>(ctx);
    if (f->callbacks.load() != f->finalizations.load() + 1 || instance != f->callback_instance ||
        GetCurrentThreadId() != f->callback_thread)
        f->mismatches++;
    // Return actions run after the finalization callback.
    if (signaled_now(f->event))
        f->event_set_too_early++;
    f->finalizations++;
    f->done.increment();
}

// The finalization callback runs after each callback, on the same thread, with the same
// instance and context, before the return actions.
TEST_P(EnvironmentTest, FinalizationCallbackFollowsEachCallbackWithSameInstanceAndContext)
{
    Pool pool(mode(), 1);
    Handle event = make_event(false, false); // auto-reset: one wait per callback
    Shared<Finalization> f;
    f->event = event;
    TP_CALLBACK_ENVIRON env = *pool.env();
    TpSetCallbackFinalizationCallback(&env, finalizer);

    PTP_WORK work = CreateThreadpoolWork(finalization_work_body, f.get(), &env);
    ASSERT_NE(nullptr, work);
    for (int i = 0; i < 3; ++i) {
        SubmitThreadpoolWork(work);
        ASSERT_TRUE(signaled_within(event));
    }
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);

    ASSERT_TRUE(TrySubmitThreadpoolCallback(finalization_callback_body, f.get(), &env));
    ASSERT_TRUE(signaled_within(event));
    ASSERT_TRUE(f->done.wait_for_at_least(4));
    EXPECT_EQ(4, f->callbacks.load());
    EXPECT_EQ(4, f->finalizations.load());
    EXPECT_EQ(0, f->mismatches.load());
    EXPECT_EQ(0, f->event_set_too_early.load());
}

struct MayRunLongResult {
    Counter done;
    std::atomic<int> result{-1};
};

void CALLBACK report_may_run_long(PTP_CALLBACK_INSTANCE instance, PVOID ctx)
{
    auto *r = static_cast<MayRunLongResult *>(ctx);
    r->result = CallbackMayRunLong(instance) ? 1 : 0;
    r->done.increment();
}

// A runs-long environment marks every invocation long at once: CallbackMayRunLong returns
// TRUE even where the pool could not add a thread.
TEST_P(EnvironmentTest, RunsLongFlagMakesCallbackMayRunLongTrue)
{
    Pool pool(mode(), 1);
    TP_CALLBACK_ENVIRON env = *pool.env();
    SetThreadpoolCallbackRunsLong(&env);
    Shared<MayRunLongResult> r;
    ASSERT_TRUE(TrySubmitThreadpoolCallback(report_may_run_long, r.get(), &env));
    ASSERT_TRUE(r->done.wait_for_at_least(1));
    EXPECT_EQ(1, r->result.load());

    // Control: the same pool without the flag answers FALSE.
    Shared<MayRunLongResult> control;
    ASSERT_TRUE(TrySubmitThreadpoolCallback(report_may_run_long, control.get(), pool.env()));
    ASSERT_TRUE(control->done.wait_for_at_least(1));
    EXPECT_EQ(0, control->result.load());
}

TEST_P(EnvironmentTest, PersistentFlagIsAcceptedAndCallbacksRun)
{
    Pool pool(mode());
    TP_CALLBACK_ENVIRON env = *pool.env();
    SetThreadpoolCallbackPersistent(&env);
    Shared<Counter> count;
    ASSERT_TRUE(TrySubmitThreadpoolCallback(count_simple, count.get(), &env));
    PTP_WORK work = CreateThreadpoolWork(count_work, count.get(), &env);
    ASSERT_NE(nullptr, work);
    for (int i = 0; i < 3; ++i)
        SubmitThreadpoolWork(work);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
    SetThreadpoolCallbackRunsLong(&env);
    ASSERT_TRUE(TrySubmitThreadpoolCallback(count_simple, count.get(), &env));
    EXPECT_TRUE(count->wait_for_at_least(5));
}

TEST_P(EnvironmentTest, ActivationContextIsIgnored)
{
    Pool pool(mode());
    TP_CALLBACK_ENVIRON env = *pool.env();
    TpSetCallbackNoActivationContext(&env);
    Shared<Counter> count;
    ASSERT_TRUE(TrySubmitThreadpoolCallback(count_simple, count.get(), &env));
    EXPECT_TRUE(count->wait_for_at_least(1));
}

// RaceDll keeps the module alive for the object; the caller's own reference stays usable.
TEST_P(EnvironmentTest, CallbackLibraryIsAcceptedAndCallerKeepsItsReference)
{
    HMODULE module = LoadLibraryA("libm.so.6");
    ASSERT_NE(nullptr, module);
    Pool pool(mode());
    TP_CALLBACK_ENVIRON env = *pool.env();
    SetThreadpoolCallbackLibrary(&env, module);
    Shared<Counter> count;
    PTP_WORK work = CreateThreadpoolWork(count_work, count.get(), &env);
    ASSERT_NE(nullptr, work);
    SubmitThreadpoolWork(work);
    ASSERT_TRUE(TrySubmitThreadpoolCallback(count_simple, count.get(), &env));
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
    ASSERT_TRUE(count->wait_for_at_least(2));
    EXPECT_NE(nullptr, reinterpret_cast<void *>(GetProcAddress(module, "cos")));
    EXPECT_TRUE(FreeLibrary(module));
}

struct BindingProbe {
    Counter ran;
    std::atomic<int> finalizations{0};
};

void CALLBACK binding_probe_work(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WORK)
{
    static_cast<BindingProbe *>(ctx)->ran.increment();
}

void CALLBACK binding_probe_finalizer(PTP_CALLBACK_INSTANCE, PVOID ctx)
{
    static_cast<BindingProbe *>(ctx)->finalizations++;
}

// The environment is read once, at creation: later edits, or destroying it, change nothing.
TEST_P(EnvironmentTest, EnvironmentIsReadOnlyAtCreation)
{
    Pool first(mode());
    Pool second(mode());
    Shared<BindingProbe> probe;
    TP_CALLBACK_ENVIRON env = *first.env();
    TpSetCallbackFinalizationCallback(&env, binding_probe_finalizer);
    PTP_WORK work = CreateThreadpoolWork(binding_probe_work, probe.get(), &env);
    ASSERT_NE(nullptr, work);

    SetThreadpoolCallbackPool(&env, second.get());
    TpSetCallbackFinalizationCallback(&env, nullptr);
    env.CallbackPriority = static_cast<TP_CALLBACK_PRIORITY>(10);
    env.Version = 9999;
    DestroyThreadpoolEnvironment(&env);
    std::memset(&env, 0xCD, sizeof env);

    for (int i = 0; i < 3; ++i)
        SubmitThreadpoolWork(work);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CloseThreadpoolWork(work);
    EXPECT_EQ(3, probe->ran.get());
    EXPECT_EQ(3, probe->finalizations.load());
    EXPECT_TRUE(eventually([&] { return first.stats().callbacks_run == 3; }));
    EXPECT_EQ(0u, second.stats().callbacks_run);
}

} // namespace
