// Thin wrappers over the futex system call on 32-bit words (process-private).
#pragma once

#include <atomic>
#include <climits>
#include <cstdint>
#include <ctime>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace tpuring {

// Sleeps while *word == expected. A relative timeout of nullptr waits forever.
// Returns 0 when woken (or spuriously), -1 with errno (EAGAIN, ETIMEDOUT, EINTR) otherwise.
inline int futex_wait(const std::atomic<uint32_t> *word, uint32_t expected, const timespec *timeout = nullptr)
{
    return static_cast<int>(
        syscall(SYS_futex, reinterpret_cast<const uint32_t *>(word), FUTEX_WAIT_PRIVATE, expected, timeout, nullptr, 0));
}

inline void futex_wake(const std::atomic<uint32_t> *word, int count)
{
    syscall(SYS_futex, reinterpret_cast<const uint32_t *>(word), FUTEX_WAKE_PRIVATE, count, nullptr, nullptr, 0);
}

inline void futex_wake_all(const std::atomic<uint32_t> *word) { futex_wake(word, INT_MAX); }

} // namespace tpuring
