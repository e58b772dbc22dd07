#include "objects/one_shot_storage.h"

#include <mutex>
#include <new>

#include "base/fast_tls.h"

namespace tpuring::objects::one_shot_storage {
namespace {

// A block while it is free: linked to the next in its thread's cache or its batch; a
// batch's first block also links the next batch in the depot.
struct FreeBlock {
    FreeBlock *next;
    FreeBlock *next_batch;
};
static_assert(sizeof(FreeBlock) <= block_size);

constexpr unsigned cache_limit = 2 * batch_size; // per thread
constexpr unsigned depot_limit = 512;            // batches: 16,384 blocks, 1.5 MiB

void release_chain(FreeBlock *chain)
{
    while (chain) {
        FreeBlock *next = chain->next;
        ::operator delete(chain);
        chain = next;
    }
}

class Depot {
public:
    // False when full: the caller frees the batch.
    bool put(FreeBlock *batch)
    {
        std::lock_guard guard(lock_);
        if (count_ == depot_limit)
            return false;
        batch->next_batch = batches_;
        batches_ = batch;
        ++count_;
        return true;
    }

    // A chain of batch_size blocks, or nullptr.
    FreeBlock *take()
    {
        std::lock_guard guard(lock_);
        FreeBlock *batch = batches_;
        if (batch) {
            batches_ = batch->next_batch;
            --count_;
        }
        return batch;
    }

private:
    std::mutex lock_;
    FreeBlock *batches_ = nullptr;
    unsigned count_ = 0;
};

// Never destroyed: threads may give their caches back after static destructors ran.
Depot &depot()
{
    static Depot *instance = new Depot;
    return *instance;
}

// Trivially destructible, so that the hot path needs no initialisation check.
struct ThreadCache {
    FreeBlock *head;
    unsigned count;
    bool flush_registered;
    bool thread_exiting; // flushed: blocks go straight to operator delete
};
TPURING_FAST_TLS thread_local ThreadCache cache{};

// Detaches the cache's newest batch_size blocks (the cache holds at least that many).
FreeBlock *detach_batch()
{
    FreeBlock *batch = cache.head;
    FreeBlock *last = batch;
    for (unsigned i = 1; i < batch_size; ++i)
        last = last->next;
    cache.head = last->next;
    last->next = nullptr;
    cache.count -= batch_size;
    return batch;
}

void give_to_depot(FreeBlock *batch)
{
    if (!depot().put(batch))
        release_chain(batch);
}

// Hands the thread's blocks on when it exits.
struct CacheFlush {
    ~CacheFlush()
    {
        cache.thread_exiting = true;
        while (cache.count >= batch_size)
            give_to_depot(detach_batch());
        release_chain(cache.head);
        cache.head = nullptr;
        cache.count = 0;
    }
};
thread_local CacheFlush cache_flush;

// The first time a thread holds blocks: make sure they are handed on when it exits.
void register_flush()
{
    cache.flush_registered = true;
    CacheFlush *flush = &cache_flush; // the first use constructs it and registers its destructor
    asm volatile("" : : "r"(flush) : "memory");
}

} // namespace

void *allocate(std::size_t size) noexcept
{
    if (!recycles || size > block_size)
        return ::operator new(size, std::nothrow);
    if (!cache.head && !cache.thread_exiting) {
        if (FreeBlock *batch = depot().take()) {
            if (!cache.flush_registered)
                register_flush();
            cache.head = batch;
            cache.count = batch_size;
        }
    }
    if (FreeBlock *block = cache.head) {
        cache.head = block->next;
        --cache.count;
        return block;
    }
    return ::operator new(block_size, std::nothrow);
}

void deallocate(void *block, std::size_t size) noexcept
{
    if (!recycles || size > block_size || cache.thread_exiting) {
        ::operator delete(block);
        return;
    }
    if (!cache.flush_registered)
        register_flush();
    auto *free_block = static_cast<FreeBlock *>(block);
    free_block->next = cache.head;
    cache.head = free_block;
    if (++cache.count >= cache_limit)
        give_to_depot(detach_batch());
}

} // namespace tpuring::objects::one_shot_storage
