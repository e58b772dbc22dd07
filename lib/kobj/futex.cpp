#include "kobj/futex.h"

#include <cerrno>
#include <climits>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace tpuring::kobj {

namespace {

#ifndef SYS_futex_waitv
constexpr long SYS_futex_waitv = 449;
#endif

// Layout of struct futex_waitv (Linux 5.16), declared here so older headers suffice.
struct KernelFutexWaitv {
    std::uint64_t val;
    std::uint64_t uaddr;
    std::uint32_t flags;
    std::uint32_t reserved;
};

constexpr std::uint32_t kFutex2Size32 = 0x02;     // FUTEX2_SIZE_U32
constexpr std::uint32_t kFutex2Private = 128;     // FUTEX2_PRIVATE == FUTEX_PRIVATE_FLAG

FutexWaitResult result_from_errno(int err) noexcept
{
    switch (err) {
    case EAGAIN: return FutexWaitResult::ValueChanged;
    case ETIMEDOUT: return FutexWaitResult::TimedOut;
    default: return FutexWaitResult::Interrupted; // EINTR; the caller re-checks and retries
    }
}

} // namespace

FutexWaitResult futex_wait(std::atomic<std::uint32_t> *word, std::uint32_t expected,
                           const timespec *deadline) noexcept
{
    // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time, unlike FUTEX_WAIT.
    long rc = syscall(SYS_futex, reinterpret_cast<std::uint32_t *>(word), FUTEX_WAIT_BITSET_PRIVATE, expected,
                      deadline, nullptr, FUTEX_BITSET_MATCH_ANY);
    return rc == 0 ? FutexWaitResult::Woken : result_from_errno(errno);
}

void futex_wake_all(std::atomic<std::uint32_t> *word) noexcept
{
    syscall(SYS_futex, reinterpret_cast<std::uint32_t *>(word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}

FutexWaitResult futex_wait_any(const FutexWaitEntry *entries, std::size_t count,
                               const timespec *deadline) noexcept
{
    if (count == 1)
        return futex_wait(entries[0].word, entries[0].expected, deadline);
    KernelFutexWaitv waiters[kMaxFutexWaitEntries];
    if (count > kMaxFutexWaitEntries)
        count = kMaxFutexWaitEntries;
    for (std::size_t i = 0; i < count; ++i) {
        waiters[i].val = entries[i].expected;
        waiters[i].uaddr = reinterpret_cast<std::uintptr_t>(entries[i].word);
        waiters[i].flags = kFutex2Size32 | kFutex2Private;
        waiters[i].reserved = 0;
    }
    long rc = syscall(SYS_futex_waitv, waiters, static_cast<unsigned>(count), 0u, deadline, CLOCK_MONOTONIC);
    return rc >= 0 ? FutexWaitResult::Woken : result_from_errno(errno);
}

} // namespace tpuring::kobj
