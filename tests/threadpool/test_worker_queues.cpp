// One-shot callbacks submitted from inside callbacks (fan-out): in direct mode a worker
// keeps the plain ones on its own queue. Whatever the queueing, every one runs exactly once,
// on the pool it was submitted to, even when the submitting callback blocks waiting for it;
// priorities and cleanup groups keep their meaning.
#include "../common/test_support.h"

namespace {

using namespace tptest;

class WorkerQueueTest : public DispatchTest {};
TPTEST_INSTANTIATE_DISPATCH_MODES(WorkerQueueTest);

struct ParentAndChild {
    PTP_CALLBACK_ENVIRON child_environment = nullptr;
    Flag child_ran;
    std::atomic<DWORD> child_thread{0};
    std::atomic<DWORD> parent_thread{0};
    std::atomic<bool> parent_saw_child{false};
    Flag parent_done;
};

void CALLBACK record_child(PTP_CALLBACK_INSTANCE, PVOID context)
{
    auto *state = static_cast<ParentAndChild *>(context);
    state->child_thread = GetCurrentThreadId();
    state->child_ran.set();
}

void CALLBACK submit_child_and_wait_for_it(PTP_CALLBACK_INSTANCE, PVOID context)
{
    auto *state = static_cast<ParentAndChild *>(context);
    state->parent_thread = GetCurrentThreadId();
    if (TrySubmitThreadpoolCallback(record_child, state, state->child_environment))
        state->parent_saw_child = state->child_ran.wait();
    state->parent_done.set();
}

TEST_P(WorkerQueueTest, ACallbackWaitingForItsOwnChildIsNotDeadlocked)
{
    Pool pool(mode());
    Shared<ParentAndChild> state;
    state->child_environment = pool.env();
    ASSERT_TRUE(TrySubmitThreadpoolCallback(submit_child_and_wait_for_it, state.get(), pool.env()));
    ASSERT_TRUE(state->parent_done.wait());
    EXPECT_TRUE(state->parent_saw_child.load());
    EXPECT_NE(state->parent_thread.load(), state->child_thread.load());
}

TEST_P(WorkerQueueTest, AChildSubmittedToAnotherPoolRunsThere)
{
    Pool parent_pool(mode());
    Pool child_pool(mode());
    Shared<ParentAndChild> state;
    state->child_environment = child_pool.env();
    ASSERT_TRUE(TrySubmitThreadpoolCallback(submit_child_and_wait_for_it, state.get(), parent_pool.env()));
    ASSERT_TRUE(state->parent_done.wait());
    EXPECT_TRUE(state->parent_saw_child.load());
    EXPECT_TRUE(eventually([&] { return child_pool.stats().callbacks_run == 1; }));
    EXPECT_EQ(1u, parent_pool.stats().callbacks_run);
}

struct FanOut {
    static constexpr int width = 8;
    static constexpr int depth = 3; // 1 + 8 + 64 + 512 callbacks
    static constexpr int total = 1 + 8 + 64 + 512;
    PTP_CALLBACK_ENVIRON environment = nullptr;
    std::atomic<int> runs[total] = {};
    Counter finished;
    std::atomic<int> submit_failures{0};
};

struct FanOutNode {
    FanOut *tree;
    int index; // children of n are n * width + 1 ... n * width + width
    int level;
};

void CALLBACK fan_out_node(PTP_CALLBACK_INSTANCE, PVOID context)
{
    auto *node = static_cast<FanOutNode *>(context);
    FanOut &tree = *node->tree;
    tree.runs[node->index].fetch_add(1);
    if (node->level < FanOut::depth) {
        for (int i = 1; i <= FanOut::width; ++i) {
            auto *child = new FanOutNode{&tree, node->index * FanOut::width + i, node->level + 1};
            if (!TrySubmitThreadpoolCallback(fan_out_node, child, tree.environment)) {
                tree.submit_failures.fetch_add(1);
                delete child;
            }
        }
    }
    delete node;
    tree.finished.increment();
}

TEST_P(WorkerQueueTest, EveryCallbackOfAFanOutTreeRunsExactlyOnce)
{
    Pool pool(mode());
    Shared<FanOut> tree;
    tree->environment = pool.env();
    ASSERT_TRUE(TrySubmitThreadpoolCallback(fan_out_node, new FanOutNode{tree.get(), 0, 0}, pool.env()));
    ASSERT_TRUE(tree->finished.wait_for_at_least(FanOut::total));
    EXPECT_EQ(0, tree->submit_failures.load());
    for (int i = 0; i < FanOut::total; ++i)
        EXPECT_EQ(1, tree->runs[i].load()) << "node " << i;
    EXPECT_TRUE(eventually([&] { return pool.stats().callbacks_run == FanOut::total; }));
}

struct BlockedParent {
    PTP_CALLBACK_ENVIRON environment = nullptr;
    static constexpr int children = 8;
    Counter children_done;
    std::atomic<DWORD> parent_thread{0};
    std::atomic<int> ran_on_parent_thread{0};
    std::atomic<bool> all_done_while_blocked{false};
    Flag parent_done;
};

void CALLBACK child_of_blocked_parent(PTP_CALLBACK_INSTANCE, PVOID context)
{
    auto *state = static_cast<BlockedParent *>(context);
    if (GetCurrentThreadId() == state->parent_thread.load())
        state->ran_on_parent_thread.fetch_add(1);
    state->children_done.increment();
}

void CALLBACK submit_children_then_block(PTP_CALLBACK_INSTANCE, PVOID context)
{
    auto *state = static_cast<BlockedParent *>(context);
    state->parent_thread = GetCurrentThreadId();
    for (int i = 0; i < BlockedParent::children; ++i)
        TrySubmitThreadpoolCallback(child_of_blocked_parent, state, state->environment);
    state->all_done_while_blocked = state->children_done.wait_for_at_least(BlockedParent::children);
    state->parent_done.set();
}

TEST_P(WorkerQueueTest, ChildrenOfABlockedCallbackAreTakenByOtherWorkers)
{
    Pool pool(mode(), 4, 2);
    Shared<BlockedParent> state;
    state->environment = pool.env();
    ASSERT_TRUE(TrySubmitThreadpoolCallback(submit_children_then_block, state.get(), pool.env()));
    ASSERT_TRUE(state->parent_done.wait());
    EXPECT_TRUE(state->all_done_while_blocked.load());
    EXPECT_EQ(0, state->ran_on_parent_thread.load());
}

struct PriorityOrder {
    PTP_POOL pool = nullptr;
    PTP_CALLBACK_ENVIRON normal = nullptr;
    TP_CALLBACK_ENVIRON high{};
    OrderLog log;
    Counter finished;
};

struct Labelled {
    PriorityOrder *order;
    int label;
};

void CALLBACK log_label(PTP_CALLBACK_INSTANCE, PVOID context)
{
    auto *labelled = static_cast<Labelled *>(context);
    labelled->order->log.add(labelled->label);
    labelled->order->finished.increment();
    delete labelled;
}

constexpr int kHighLabel = 100;

void CALLBACK submit_normal_children_then_a_high_one(PTP_CALLBACK_INSTANCE, PVOID context)
{
    auto *order = static_cast<PriorityOrder *>(context);
    for (int label = 1; label <= 3; ++label)
        TrySubmitThreadpoolCallback(log_label, new Labelled{order, label}, order->normal);
    TrySubmitThreadpoolCallback(log_label, new Labelled{order, kHighLabel}, &order->high);
    // Ring-mode posts arrive asynchronously: let all four arrive before this worker looks.
    eventually([&] { return pool_stats(order->pool).ready_objects >= 4; });
}

TEST_P(WorkerQueueTest, AHighPriorityCallbackOvertakesNormalChildrenQueuedBeforeIt)
{
    Pool pool(mode(), 1);
    Shared<PriorityOrder> order;
    order->pool = pool.get();
    order->normal = pool.env();
    order->high = env_with_priority(*pool.env(), TP_CALLBACK_PRIORITY_HIGH);
    ASSERT_TRUE(TrySubmitThreadpoolCallback(submit_normal_children_then_a_high_one, order.get(), pool.env()));
    ASSERT_TRUE(order->finished.wait_for_at_least(4));
    std::vector<int> labels = order->log.labels();
    ASSERT_EQ(4u, labels.size());
    EXPECT_EQ(kHighLabel, labels[0]);
    std::sort(labels.begin() + 1, labels.end());
    EXPECT_EQ((std::vector<int>{kHighLabel, 1, 2, 3}), labels);
}

// One-shots posted from outside while the only worker is busy are taken a batch at a time
// onto its own queue: they still start in their order of posting, and a high-priority
// callback posted while a batch runs still goes next.
struct Arrivals {
    static constexpr int normal_count = 40;
    OrderLog log;
    Counter finished;
    Flag first_started;
    Flag high_posted;
};

struct Arrival {
    Arrivals *arrivals;
    int label;
};

void CALLBACK log_arrival(PTP_CALLBACK_INSTANCE, PVOID context)
{
    auto *arrival = static_cast<Arrival *>(context);
    Arrivals &arrivals = *arrival->arrivals;
    arrivals.log.add(arrival->label);
    if (arrival->label == 1) {
        arrivals.first_started.set();
        arrivals.high_posted.wait();
    }
    arrivals.finished.increment();
}

TEST_P(WorkerQueueTest, OneShotsPostedFromOutsideKeepTheirOrderAndPriorities)
{
    Pool pool(mode(), 1);
    Shared<Arrivals> arrivals;
    std::vector<Arrival> posts;
    posts.reserve(Arrivals::normal_count + 1);
    Blocker blocker;
    ASSERT_TRUE(blocker.start(pool.env()));
    for (int label = 1; label <= Arrivals::normal_count; ++label) {
        posts.push_back({arrivals.get(), label});
        ASSERT_TRUE(TrySubmitThreadpoolCallback(log_arrival, &posts.back(), pool.env()));
    }
    EXPECT_TRUE(eventually([&] { return pool.stats().ready_objects == Arrivals::normal_count; }));
    blocker.release();
    ASSERT_TRUE(arrivals->first_started.wait());
    posts.push_back({arrivals.get(), kHighLabel});
    TP_CALLBACK_ENVIRON high = env_with_priority(*pool.env(), TP_CALLBACK_PRIORITY_HIGH);
    ASSERT_TRUE(TrySubmitThreadpoolCallback(log_arrival, &posts.back(), &high));
    // In ring mode the post reaches the run queue through the ring: let it arrive first.
    EXPECT_TRUE(eventually([&] { return pool.stats().ready_objects == Arrivals::normal_count; }));
    arrivals->high_posted.set();
    ASSERT_TRUE(arrivals->finished.wait_for_at_least(Arrivals::normal_count + 1));

    std::vector<int> expected{1, kHighLabel};
    for (int label = 2; label <= Arrivals::normal_count; ++label)
        expected.push_back(label);
    EXPECT_EQ(expected, arrivals->log.labels());
}

// A worker that may not claim more (its pool's maximum was lowered) hands what is left on
// its own queue to the shared queues before it leaves: another worker runs it.
struct LeavingWorker {
    PTP_CALLBACK_ENVIRON environment = nullptr;
    static constexpr int children = 4;
    Counter children_ran;
    Flag submitted;
    Flag maximum_lowered;
};

void CALLBACK count_leaving_worker_child(PTP_CALLBACK_INSTANCE, PVOID context)
{
    static_cast<LeavingWorker *>(context)->children_ran.increment();
}

void CALLBACK mark_long_submit_children_then_wait(PTP_CALLBACK_INSTANCE instance, PVOID context)
{
    auto *state = static_cast<LeavingWorker *>(context);
    CallbackMayRunLong(instance); // marked long: its worker goes back through the lock
    for (int i = 0; i < LeavingWorker::children; ++i)
        TrySubmitThreadpoolCallback(count_leaving_worker_child, state, state->environment);
    state->submitted.set();
    state->maximum_lowered.wait();
}

TEST_P(WorkerQueueTest, ALeavingWorkerHandsItsOwnQueueOver)
{
    Pool pool(mode(), 2);
    Shared<LeavingWorker> state;
    state->environment = pool.env();
    Blocker blocker;
    ASSERT_TRUE(blocker.start(pool.env()));
    ASSERT_TRUE(TrySubmitThreadpoolCallback(mark_long_submit_children_then_wait, state.get(), pool.env()));
    ASSERT_TRUE(state->submitted.wait());
    EXPECT_EQ(0, state->children_ran.get()); // both workers are busy
    SetThreadpoolThreadMaximum(pool.get(), 1);
    state->maximum_lowered.set();
    // The parent's worker leaves (the pool is above its maximum) while the other is still
    // blocked: only then may the other take the children.
    EXPECT_TRUE(eventually([&] { return pool.stats().workers == 1; }));
    blocker.release();
    EXPECT_TRUE(state->children_ran.wait_for_at_least(LeavingWorker::children));
}

struct GroupChildren {
    TP_CALLBACK_ENVIRON group_environment{};
    static constexpr int children = 4;
    Counter ran;
    Flag submitted;
    Flag release_parent;
};

void CALLBACK count_group_child(PTP_CALLBACK_INSTANCE, PVOID context)
{
    static_cast<GroupChildren *>(context)->ran.increment();
}

void CALLBACK submit_group_children_then_wait(PTP_CALLBACK_INSTANCE, PVOID context)
{
    auto *state = static_cast<GroupChildren *>(context);
    for (int i = 0; i < GroupChildren::children; ++i)
        TrySubmitThreadpoolCallback(count_group_child, state, &state->group_environment);
    state->submitted.set();
    state->release_parent.wait();
}

TEST_P(WorkerQueueTest, CleanupGroupMembersSubmittedFromACallbackCanStillBeCancelled)
{
    Pool pool(mode(), 1);
    PTP_CLEANUP_GROUP group = CreateThreadpoolCleanupGroup();
    ASSERT_NE(nullptr, group);
    Shared<GroupChildren> state;
    state->group_environment = *pool.env();
    SetThreadpoolCallbackCleanupGroup(&state->group_environment, group, nullptr);
    ASSERT_TRUE(TrySubmitThreadpoolCallback(submit_group_children_then_wait, state.get(), pool.env()));
    ASSERT_TRUE(state->submitted.wait());
    // The only worker is busy: the members are still queued, and cancelling drops them.
    CloseThreadpoolCleanupGroupMembers(group, TRUE, nullptr);
    state->release_parent.set();
    ASSERT_TRUE(drain_single_thread_pool(*pool.env()));
    EXPECT_EQ(0, state->ran.get());
    CloseThreadpoolCleanupGroup(group);
}

} // namespace
