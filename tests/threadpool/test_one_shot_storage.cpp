// The recycled storage behind one-shot objects (lib/objects/one_shot_storage.h), tested on
// its own: blocks are reused on the thread that freed them, travel in batches to other
// threads, leave with an exiting thread, and larger requests pass through to operator new.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "objects/one_shot_storage.h"

namespace {

namespace storage = tpuring::objects::one_shot_storage;

std::vector<void *> allocate_blocks(std::size_t count, std::size_t size = storage::block_size)
{
    std::vector<void *> blocks;
    for (std::size_t i = 0; i < count; ++i) {
        void *block = storage::allocate(size);
        EXPECT_NE(nullptr, block);
        std::memset(block, 0xa5, size); // all of it is the caller's
        blocks.push_back(block);
    }
    return blocks;
}

void deallocate_blocks(const std::vector<void *> &blocks, std::size_t size = storage::block_size)
{
    for (void *block : blocks)
        storage::deallocate(block, size);
}

TEST(OneShotStorage, BlocksAreDistinctWhileInUse)
{
    std::vector<void *> blocks = allocate_blocks(1000);
    EXPECT_EQ(blocks.size(), std::set<void *>(blocks.begin(), blocks.end()).size());
    deallocate_blocks(blocks);
}

TEST(OneShotStorage, AFreedBlockIsReusedByTheSameThread)
{
    void *first = storage::allocate(storage::block_size);
    ASSERT_NE(nullptr, first);
    storage::deallocate(first, storage::block_size);
    void *second = storage::allocate(storage::block_size);
    if (storage::recycles) {
        EXPECT_EQ(first, second);
    }
    storage::deallocate(second, storage::block_size);
}

// The common shape: one thread allocates, another frees. The freeing thread's batches
// reach a third thread through the depot, including those left in its cache at its exit.
TEST(OneShotStorage, BlocksFreedOnAnotherThreadReachOtherThreads)
{
    if (!storage::recycles)
        GTEST_SKIP() << "this build gives every block back (AddressSanitizer)";
    // Whole batches, so that all of them reach the depot, the last ones when the freeing
    // thread exits; they are the depot's newest, so the next thread to ask gets them.
    const std::size_t count = 20 * storage::batch_size;
    std::vector<void *> blocks;
    std::thread([&] { blocks = allocate_blocks(count); }).join();
    std::thread([&] { deallocate_blocks(blocks); }).join(); // exits with blocks in its cache
    std::set<void *> freed(blocks.begin(), blocks.end());
    std::vector<void *> again;
    std::thread([&] { again = allocate_blocks(count); }).join();
    std::size_t reused = 0;
    for (void *block : again)
        reused += freed.count(block);
    EXPECT_EQ(count, reused) << "every block should come back through the depot";
    deallocate_blocks(again);
}

TEST(OneShotStorage, LargerRequestsPassThrough)
{
    std::vector<void *> blocks = allocate_blocks(10, storage::block_size * 3);
    EXPECT_EQ(blocks.size(), std::set<void *>(blocks.begin(), blocks.end()).size());
    deallocate_blocks(blocks, storage::block_size * 3);
}

// Many threads allocating and freeing each other's blocks at once.
TEST(OneShotStorage, ConcurrentTrafficKeepsBlocksExclusive)
{
    constexpr int threads = 4;
    constexpr int rounds = 200;
    std::vector<std::thread> workers;
    std::atomic<int> clobbered{0};
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&, t] {
            for (int round = 0; round < rounds; ++round) {
                std::vector<unsigned char *> mine;
                for (int i = 0; i < 50; ++i) {
                    auto *block = static_cast<unsigned char *>(storage::allocate(storage::block_size));
                    std::memset(block, t * 31 + round % 7, storage::block_size);
                    mine.push_back(block);
                }
                for (unsigned char *block : mine) {
                    for (std::size_t b = 0; b < storage::block_size; ++b)
                        if (block[b] != static_cast<unsigned char>(t * 31 + round % 7)) {
                            clobbered++;
                            break;
                        }
                    storage::deallocate(block, storage::block_size);
                }
            }
        });
    for (auto &worker : workers)
        worker.join();
    EXPECT_EQ(0, clobbered.load()) << "a block was handed to two owners at once";
}

} // namespace
