// A worker's own queue (lib/pool/local_queue.h) on its own: newest first for its owner,
// oldest first for thieves, bounded, and under contention every item is taken exactly once.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "pool/local_queue.h"

namespace {

using tpuring::pool::Dispatchable;
using tpuring::pool::LocalQueue;

// The queue stores and returns addresses without touching the objects: slots of plain
// storage stand in for them.
struct Items {
    explicit Items(size_t count) : slots(count) {}
    struct alignas(64) Slot {
        unsigned char bytes[64];
    };
    std::vector<Slot> slots;
    Dispatchable &operator[](size_t i) { return *reinterpret_cast<Dispatchable *>(&slots[i]); }
    size_t index_of(const Dispatchable *item) const
    {
        return static_cast<size_t>(reinterpret_cast<const Slot *>(item) - slots.data());
    }
};

TEST(LocalQueue, OwnerTakesNewestFirstAndThievesOldestFirst)
{
    auto queue = std::make_unique<LocalQueue>();
    Items items(4);
    EXPECT_TRUE(queue->empty());
    for (size_t i = 0; i < 4; ++i)
        ASSERT_TRUE(queue->push(items[i]));
    EXPECT_EQ(4u, queue->size());
    EXPECT_EQ(&items[0], queue->steal());
    EXPECT_EQ(&items[3], queue->pop());
    EXPECT_EQ(&items[1], queue->steal());
    EXPECT_EQ(&items[2], queue->pop());
    EXPECT_EQ(nullptr, queue->pop());
    EXPECT_EQ(nullptr, queue->steal());
    EXPECT_TRUE(queue->empty());
}

TEST(LocalQueue, RefusesPushesBeyondItsCapacityAndRecoversAfterTakes)
{
    auto queue = std::make_unique<LocalQueue>();
    Items items(300);
    size_t accepted = 0;
    while (accepted < items.slots.size() && queue->push(items[accepted]))
        ++accepted;
    EXPECT_EQ(256u, accepted);
    EXPECT_FALSE(queue->push(items[accepted]));
    EXPECT_EQ(&items[0], queue->steal());
    EXPECT_TRUE(queue->push(items[accepted])); // room again, in the slot the steal freed
    EXPECT_EQ(&items[accepted], queue->pop());
    EXPECT_EQ(&items[accepted - 1], queue->pop());
}

// The owner pushes and pops while two thieves steal: no item is lost or taken twice, in
// particular not the last one, which owner and thief race for.
TEST(LocalQueue, EveryItemIsTakenExactlyOnceUnderContention)
{
    auto queue = std::make_unique<LocalQueue>();
    constexpr size_t total = 200000;
    Items items(total);
    std::unique_ptr<std::atomic<int>[]> taken(new std::atomic<int>[total]);
    for (size_t i = 0; i < total; ++i)
        taken[i].store(0);
    std::atomic<bool> done{false};
    std::atomic<size_t> stolen{0};
    auto thief = [&] {
        for (;;) {
            bool finished = done.load();
            if (Dispatchable *item = queue->steal()) {
                taken[items.index_of(item)].fetch_add(1);
                stolen.fetch_add(1);
            } else if (finished) {
                return;
            }
        }
    };
    std::thread thieves[2] = {std::thread(thief), std::thread(thief)};
    // Make sure the thieves are at work before the contended part.
    size_t next = 0;
    for (; next < 100; ++next)
        ASSERT_TRUE(queue->push(items[next]));
    while (stolen.load() == 0)
        std::this_thread::yield();
    while (next < total) {
        // A few pushes, then a pop: the queue keeps running nearly empty, where the owner
        // and the thieves contend for the same item.
        for (int i = 0; i < 3 && next < total; ++i) {
            if (!queue->push(items[next]))
                break;
            ++next;
        }
        if (Dispatchable *item = queue->pop())
            taken[items.index_of(item)].fetch_add(1);
    }
    while (Dispatchable *item = queue->pop())
        taken[items.index_of(item)].fetch_add(1);
    done.store(true);
    for (std::thread &thread : thieves)
        thread.join();
    size_t wrong = 0;
    for (size_t i = 0; i < total; ++i)
        wrong += taken[i].load() != 1;
    EXPECT_EQ(0u, wrong);
    EXPECT_GT(stolen.load(), 0u);
}

} // namespace
