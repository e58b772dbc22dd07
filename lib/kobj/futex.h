// Private (process-local) futex operations on 32-bit words, with absolute CLOCK_MONOTONIC
// deadlines. Every futex of the kernel objects is private: io_uring FUTEX_WAIT ops on them
// must use FUTEX2_SIZE_U32 | FUTEX2_PRIVATE to be woken by futex_wake_all.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <ctime>

namespace tpuring::kobj {

enum class FutexWaitResult { Woken, ValueChanged, TimedOut, Interrupted };

// Sleeps while *word == expected, until woken or the absolute deadline (nullptr: none).
FutexWaitResult futex_wait(std::atomic<std::uint32_t> *word, std::uint32_t expected,
                           const timespec *deadline) noexcept;

// Wakes every thread (and io_uring wait) sleeping on word.
void futex_wake_all(std::atomic<std::uint32_t> *word) noexcept;

// One entry of a vectored wait.
struct FutexWaitEntry {
    std::atomic<std::uint32_t> *word;
    std::uint32_t expected;
};

inline constexpr std::size_t kMaxFutexWaitEntries = 128; // the kernel's FUTEX_WAITV_MAX

// Sleeps until any word differs from its expected value or is woken (FUTEX_WAITV).
FutexWaitResult futex_wait_any(const FutexWaitEntry *entries, std::size_t count,
                               const timespec *deadline) noexcept;

} // namespace tpuring::kobj
