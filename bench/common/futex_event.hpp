// Synchronisation the peer scenarios and floors use around what they measure, the same for
// every peer: a futex-based auto-reset event (what the Win32 scenarios get from CreateEvent) and
// a countdown latch built on it (the Interlocked counter + event of the Win32 scenarios).
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace peer {

// One waiter at a time, which is all the scenarios need.
class AutoResetEvent {
public:
    void set()
    {
        word_.store(1, std::memory_order_seq_cst); // seq_cst: pairs with the waiter's flag (Dekker)
        if (waiting_.load(std::memory_order_seq_cst))
            futex(FUTEX_WAKE_PRIVATE, 1);
    }

    void wait()
    {
        for (;;) {
            if (word_.exchange(0, std::memory_order_acquire) == 1)
                return;
            waiting_.store(true, std::memory_order_seq_cst);
            if (word_.load(std::memory_order_seq_cst) == 0)
                futex(FUTEX_WAIT_PRIVATE, 0);
            waiting_.store(false, std::memory_order_relaxed);
        }
    }

private:
    void futex(int op, uint32_t value)
    {
        syscall(SYS_futex, reinterpret_cast<uint32_t *>(&word_), op, value, nullptr, nullptr, 0);
    }

    std::atomic<uint32_t> word_{0};
    std::atomic<bool> waiting_{false};
};

class CountdownLatch {
public:
    explicit CountdownLatch(long count) : remaining_(count) {}

    void count_down()
    {
        if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1)
            done_.set();
    }

    void wait() { done_.wait(); }

private:
    std::atomic<long> remaining_;
    AutoResetEvent done_;
};

} // namespace peer
