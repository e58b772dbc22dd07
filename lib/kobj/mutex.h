// Mutexes: the word holds the owner's thread id (bits 0..29, 0 = unowned) and the
// "abandoned" flag (bit 30). The recursion count sits beside it; only the owner touches it.
#pragma once

#include "kobj/waitable.h"

namespace tpuring::kobj {

class Mutex final : public Waitable {
public:
    static constexpr std::uint32_t kAbandoned = 0x40000000u;
    static constexpr std::uint32_t kOwnerMask = 0x3FFFFFFFu;

    Mutex() noexcept : Waitable(ObjectType::Mutex, 0) {}

    // Makes the calling thread the owner of a mutex nobody can see yet (bInitialOwner).
    void take_initial_ownership() noexcept;
    // One ReleaseMutex by the calling thread; false if it does not own the mutex.
    bool release_by_current_thread() noexcept;

    bool can_acquire(std::uint32_t word, DWORD thread) const noexcept override;
    std::uint32_t acquired_word(std::uint32_t word, DWORD thread, AcquireResult *result) const noexcept override;
    void on_acquired(std::uint32_t old_word, DWORD thread) noexcept override;

private:
    friend struct OwnedMutexes;

    // The owner thread is exiting: the mutex becomes unowned and abandoned.
    void abandon() noexcept;

    std::uint32_t recursion_ = 0;
    // Links in the owner thread's list of owned mutexes (see mutex.cpp).
    Mutex *owned_prev_ = nullptr;
    Mutex *owned_next_ = nullptr;
};

} // namespace tpuring::kobj
