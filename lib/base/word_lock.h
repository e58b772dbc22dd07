// A mutex in one 32-bit word, for objects that exist by the hundred thousand and lock
// rarely (an armed wait): std::mutex is 40 bytes. Futex-based; no spinning.
#pragma once

#include <atomic>
#include <cstdint>

#include "base/futex.h"

namespace tpuring {

class WordLock {
public:
    void lock() noexcept
    {
        uint32_t state = unlocked;
        if (!word_.compare_exchange_strong(state, locked, std::memory_order_acquire, std::memory_order_relaxed))
            lock_contended();
    }

    void unlock() noexcept
    {
        if (word_.exchange(unlocked, std::memory_order_release) == locked_with_sleepers)
            futex_wake(&word_, 1);
    }

private:
    static constexpr uint32_t unlocked = 0;
    static constexpr uint32_t locked = 1;
    static constexpr uint32_t locked_with_sleepers = 2;

    void lock_contended() noexcept
    {
        // A thread that took the lock this way keeps the "sleepers" mark: it cannot know
        // whether others still sleep, and an unneeded wake is only a system call.
        while (word_.exchange(locked_with_sleepers, std::memory_order_acquire) != unlocked)
            futex_wait(&word_, locked_with_sleepers);
    }

    std::atomic<uint32_t> word_{unlocked};
};

} // namespace tpuring
