// Semaphores: the word is the count (bits 0..30); the maximum is fixed at creation.
#pragma once

#include "kobj/waitable.h"

namespace tpuring::kobj {

class Semaphore final : public Waitable {
public:
    Semaphore(LONG initial_count, LONG maximum_count) noexcept
        : Waitable(ObjectType::Semaphore, static_cast<std::uint32_t>(initial_count)),
          maximum_(static_cast<std::uint32_t>(maximum_count))
    {
    }

    // Adds `count` units unless that would pass the maximum; the count before, via *previous.
    bool add_units(std::uint32_t count, std::uint32_t *previous) noexcept;

    bool can_acquire(std::uint32_t word, DWORD thread) const noexcept override;
    std::uint32_t acquired_word(std::uint32_t word, DWORD thread, AcquireResult *result) const noexcept override;

private:
    const std::uint32_t maximum_;
};

} // namespace tpuring::kobj
