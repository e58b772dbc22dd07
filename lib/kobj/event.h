// Events: word bit 0 is "signaled"; manual-reset events stay signaled until reset.
#pragma once

#include "kobj/waitable.h"

namespace tpuring::kobj {

class Event final : public Waitable {
public:
    static constexpr std::uint32_t kSignaled = 1;

    Event(bool manual_reset, bool initially_signaled) noexcept
        : Waitable(ObjectType::Event, initially_signaled ? kSignaled : 0), manual_reset_(manual_reset)
    {
    }

    bool manual_reset() const noexcept { return manual_reset_; }
    void set() noexcept;
    void reset() noexcept;

    AcquireResult try_acquire() noexcept override;
    bool can_acquire(std::uint32_t word, DWORD thread) const noexcept override;
    std::uint32_t acquired_word(std::uint32_t word, DWORD thread, AcquireResult *result) const noexcept override;

private:
    const bool manual_reset_;
};

} // namespace tpuring::kobj
