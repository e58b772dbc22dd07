// A worker's own queue of plain one-shot callbacks submitted from its callbacks (the
// fan-out case): the worker pushes and pops at the bottom without locking (newest first,
// so a tree of submissions runs depth first, on warm caches and with few objects alive),
// and other workers steal the oldest from the top with one compare-and-swap. Bounded: when
// full, submissions take the pool's shared queues. (A Chase-Lev deque without resizing.)
#pragma once

#include <atomic>
#include <cstdint>

namespace tpuring::pool {

class Dispatchable;

class LocalQueue {
public:
    // Owner only. False when full.
    bool push(Dispatchable &item)
    {
        int64_t bottom = bottom_.load(std::memory_order_relaxed);
        int64_t top = top_.load(std::memory_order_acquire);
        if (bottom - top >= capacity)
            return false;
        slots_[bottom & mask].store(&item, std::memory_order_relaxed);
        // Sequentially consistent: a parking worker that counted itself idle either sees
        // this or is seen by the pusher's check of the idle count (Pool::submit_local).
        bottom_.store(bottom + 1, std::memory_order_seq_cst);
        return true;
    }

    // Owner only: the newest, or nullptr.
    Dispatchable *pop()
    {
        int64_t bottom = bottom_.load(std::memory_order_relaxed) - 1;
        bottom_.store(bottom, std::memory_order_seq_cst);
        int64_t top = top_.load(std::memory_order_seq_cst);
        if (top > bottom) { // empty
            bottom_.store(bottom + 1, std::memory_order_relaxed);
            return nullptr;
        }
        Dispatchable *item = slots_[bottom & mask].load(std::memory_order_relaxed);
        if (top == bottom) {
            // The last one: a thief may be taking it too; the top decides.
            if (!top_.compare_exchange_strong(top, top + 1, std::memory_order_seq_cst, std::memory_order_relaxed))
                item = nullptr;
            bottom_.store(bottom + 1, std::memory_order_relaxed);
        }
        return item;
    }

    // Any thread: the oldest, or nullptr (also when another thief or the owner won it).
    Dispatchable *steal()
    {
        int64_t top = top_.load(std::memory_order_seq_cst);
        int64_t bottom = bottom_.load(std::memory_order_seq_cst);
        if (top >= bottom)
            return nullptr;
        Dispatchable *item = slots_[top & mask].load(std::memory_order_relaxed);
        if (!top_.compare_exchange_strong(top, top + 1, std::memory_order_seq_cst, std::memory_order_relaxed))
            return nullptr;
        return item;
    }

    bool empty() const { return size() == 0; }
    // Approximate while the owner or thieves are at work.
    uint32_t size() const
    {
        int64_t top = top_.load(std::memory_order_seq_cst);
        int64_t bottom = bottom_.load(std::memory_order_seq_cst);
        return bottom > top ? static_cast<uint32_t>(bottom - top) : 0;
    }

private:
    static constexpr int64_t capacity = 256;
    static constexpr int64_t mask = capacity - 1;

    alignas(64) std::atomic<int64_t> top_{0};
    alignas(64) std::atomic<int64_t> bottom_{0};
    std::atomic<Dispatchable *> slots_[capacity] = {};
};

} // namespace tpuring::pool
