// QueueUserWorkItem: the original work-item API on the default pool, with its WT_* flags
// (spec/legacy-api.md "QueueUserWorkItem" and its Wine observations).
#include "../common/test_support.h"

namespace {

using namespace tptest;

class QueueUserWorkItemTest : public DispatchTest {};
TPTEST_INSTANTIATE_DISPATCH_MODES(QueueUserWorkItemTest);

struct Item {
    Counter ran;
    std::atomic<PVOID> context{nullptr};
    std::atomic<DWORD> thread{0};
};

DWORD WINAPI record_item(LPVOID ctx)
{
    auto *item = static_cast<Item *>(ctx);
    item->context = ctx;
    item->thread = GetCurrentThreadId();
    item->ran.increment();
    return 12345; // ignored by the pool
}

// Wine: each of these flags is accepted and the item runs.
TEST_P(QueueUserWorkItemTest, EveryDocumentedFlagIsAcceptedAndTheItemRuns)
{
    ULONG with_max_threads = WT_EXECUTEDEFAULT;
    WT_SET_MAX_THREADPOOL_THREADS(with_max_threads, 16);
    const ULONG flags[] = {
        WT_EXECUTEDEFAULT,
        WT_EXECUTEINIOTHREAD,
        WT_EXECUTEINPERSISTENTTHREAD,
        WT_EXECUTELONGFUNCTION,
        WT_TRANSFER_IMPERSONATION,
        WT_EXECUTELONGFUNCTION | WT_EXECUTEINPERSISTENTTHREAD,
        with_max_threads, // bits 16-31: a legacy limit request, ignored
    };
    for (ULONG flag : flags) {
        Shared<Item> item;
        SetLastError(0x77);
        ASSERT_TRUE(QueueUserWorkItem(record_item, item.get(), flag)) << "flags 0x" << std::hex << flag;
        EXPECT_EQ(0x77u, GetLastError());
        ASSERT_TRUE(item->ran.wait_for_at_least(1)) << "flags 0x" << std::hex << flag;
        EXPECT_EQ(item.get(), item->context.load());
        EXPECT_NE(GetCurrentThreadId(), item->thread.load());
    }
}

// Unknown or inapplicable bits are ignored (recommended, as Wine).
TEST_P(QueueUserWorkItemTest, InapplicableFlagsAreIgnored)
{
    Shared<Item> item;
    ASSERT_TRUE(QueueUserWorkItem(record_item, item.get(), WT_EXECUTEINTIMERTHREAD | WT_EXECUTEONLYONCE | 0x200));
    EXPECT_TRUE(item->ran.wait_for_at_least(1));
}

struct Indexed {
    static constexpr int kItems = 100;
    std::atomic<int> runs[kItems] = {};
    Counter total;
};

struct IndexedItem {
    Indexed *owner;
    int index;
};

// Wine: 100 items all succeed and all 100 run; each exactly once.
TEST_P(QueueUserWorkItemTest, HundredItemsAllRunOnce)
{
    Shared<Indexed> indexed;
    Shared<std::vector<IndexedItem>> items;
    items->reserve(Indexed::kItems);
    for (int i = 0; i < Indexed::kItems; ++i)
        items->push_back({indexed.get(), i});
    for (int i = 0; i < Indexed::kItems; ++i)
        ASSERT_TRUE(QueueUserWorkItem(
            [](LPVOID ctx) -> DWORD {
                auto *item = static_cast<IndexedItem *>(ctx);
                item->owner->runs[item->index]++;
                item->owner->total.increment();
                return 0;
            },
            &(*items)[i], WT_EXECUTEDEFAULT));
    ASSERT_TRUE(indexed->total.wait_for_at_least(Indexed::kItems));
    for (int i = 0; i < Indexed::kItems; ++i)
        EXPECT_EQ(1, indexed->runs[i].load()) << "item " << i;
}

TEST_P(QueueUserWorkItemTest, ItemsRunOnTheDefaultPool)
{
    Shared<Item> item;
    ULONGLONG before = pool_stats(nullptr).callbacks_run;
    for (int i = 0; i < 5; ++i)
        ASSERT_TRUE(QueueUserWorkItem(record_item, item.get(), WT_EXECUTEDEFAULT));
    ASSERT_TRUE(item->ran.wait_for_at_least(5));
    EXPECT_TRUE(eventually([&] { return pool_stats(nullptr).callbacks_run >= before + 5; }));
}

struct MutualItems {
    explicit MutualItems(long parties) : barrier(parties) {}
    Barrier barrier;
    Counter met;
};

// Long-function items that wait for each other all complete (the pool adds threads).
TEST_P(QueueUserWorkItemTest, LongFunctionItemsThatWaitForEachOtherComplete)
{
    constexpr int kParties = 16;
    Shared<MutualItems> state(kParties);
    for (int i = 0; i < kParties; ++i)
        ASSERT_TRUE(QueueUserWorkItem(
            [](LPVOID ctx) -> DWORD {
                auto *s = static_cast<MutualItems *>(ctx);
                if (s->barrier.arrive_and_wait(kLongTimeout))
                    s->met.increment();
                return 0;
            },
            state.get(), WT_EXECUTELONGFUNCTION));
    EXPECT_TRUE(state->met.wait_for_at_least(kParties, kLongTimeout))
        << state->barrier.arrived() << " of " << kParties << " started";
}

struct ChainedItems {
    long target = 50;
    Counter ran;
    std::atomic<int> failures{0};
};

DWORD WINAPI queue_next(LPVOID ctx)
{
    auto *chain = static_cast<ChainedItems *>(ctx);
    // Read before counting: the test may free the chain as soon as the last item counts.
    const long target = chain->target;
    if (chain->ran.increment() < target && !QueueUserWorkItem(queue_next, chain, WT_EXECUTEDEFAULT))
        chain->failures++;
    return 0;
}

TEST_P(QueueUserWorkItemTest, ItemMayQueueFurtherItems)
{
    Shared<ChainedItems> chain;
    ASSERT_TRUE(QueueUserWorkItem(queue_next, chain.get(), WT_EXECUTEDEFAULT));
    ASSERT_TRUE(chain->ran.wait_for_at_least(chain->target));
    EXPECT_EQ(0, chain->failures.load());
}

TEST_P(QueueUserWorkItemTest, ManyItemsFromSeveralThreadsAllRun)
{
    const long per_thread = scaled(20000);
    struct Tally {
        std::atomic<long> ran{0};
        std::atomic<long> queued{0};
    };
    Shared<Tally> tally;
    std::vector<std::thread> posters;
    for (int t = 0; t < 3; ++t)
        posters.emplace_back([&] {
            for (long i = 0; i < per_thread; ++i)
                if (QueueUserWorkItem(
                        [](LPVOID ctx) -> DWORD {
                            static_cast<Tally *>(ctx)->ran++;
                            return 0;
                        },
                        tally.get(), WT_EXECUTEDEFAULT))
                    tally->queued++;
        });
    for (auto &poster : posters)
        poster.join();
    EXPECT_EQ(3 * per_thread, tally->queued.load());
    EXPECT_TRUE(eventually([&] { return tally->ran.load() == tally->queued.load(); }, kLongTimeout));
}

} // namespace
