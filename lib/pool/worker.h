// A worker thread's record. Records are owned by their pool and reused, never freed
// while the pool lives, so a waker may touch one after dropping the pool lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <ctime>
#include <pthread.h>
#include <sys/types.h>

#include "pool/local_queue.h"

namespace tpuring::pool {

class Pool;

struct Worker {
    Pool *pool = nullptr;
    std::atomic<uint32_t> wake_word{0}; // 1 once a waker has taken this worker off the idle list
    pid_t tid = 0;
    clockid_t cpu_clock{};
    bool persistent = false;   // ran a persistent callback: never retires
    bool marked_long = false;  // current invocation may run long
    bool busy = false;         // running an invocation (pool-lock guarded)
    // Inside user code right now (not, say, waiting for the pool lock between two
    // invocations): only such a thread found asleep counts as a blocked callback.
    std::atomic<bool> in_callback{false};
    int64_t cpu_ns_at_tick = 0; // owner's last sample of this thread's CPU time
    std::atomic<uint64_t> invocations{0}; // written by this worker only
    // One-shot callbacks its callbacks submitted; others steal from it.
    LocalQueue local;
    bool local_turn = false; // normal priority alternates between it and the run queue

    // Pool-lock-guarded links: all workers, and the LIFO list of idle ones.
    Worker *next_all = nullptr;
    Worker *prev_all = nullptr;
    Worker *next_idle = nullptr;
    Worker *prev_idle = nullptr;
    bool idle = false;
};

// The worker running on the calling thread, or nullptr on other threads.
Worker *current_worker() noexcept;

} // namespace tpuring::pool
