// The blocking step of WaitForSingleObject / WaitForMultipleObjects: sleep until one of
// several futex words changes (or is woken) or one of several descriptors polls ready.
#pragma once

#include <cstddef>

#include <poll.h>

#include "base/clock.h"
#include "kobj/futex.h"
#include <tpuring/win32/types.h>

namespace tpuring::kobj {

struct SleepSet {
    FutexWaitEntry futexes[MAXIMUM_WAIT_OBJECTS];
    std::size_t futex_count = 0;
    pollfd descriptors[MAXIMUM_WAIT_OBJECTS];
    std::size_t descriptor_count = 0;

    void add_futex(std::atomic<std::uint32_t> *word, std::uint32_t expected) noexcept
    {
        futexes[futex_count++] = FutexWaitEntry{word, expected};
    }
    void add_descriptor(int fd) noexcept { descriptors[descriptor_count++] = pollfd{fd, POLLIN, 0}; }
};

// Returns when something may have changed, when the deadline passes, or spuriously; the
// caller re-checks its objects every time.
void sleep_until_change(SleepSet &set, const Deadline &deadline) noexcept;

} // namespace tpuring::kobj
