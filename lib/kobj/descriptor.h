// Descriptor handles (tpuring_handle_from_fd): a POSIX descriptor owned by a handle.
// Signaled while the descriptor polls readable, or reports an error or hang-up; waiting
// consumes nothing. The descriptor is closed with the object's last reference, so an
// operation that holds a reference never sees it closed or reused underneath.
#pragma once

#include "kobj/waitable.h"

namespace tpuring::kobj {

class Descriptor final : public Waitable {
public:
    explicit Descriptor(int fd) noexcept : Waitable(ObjectType::Descriptor, 0), fd_(fd) {}

    int poll_fd() const noexcept override { return fd_; }
    // Gives the descriptor back to the caller: the object will not close it.
    void disown_fd() noexcept { fd_ = -1; }

    AcquireResult try_acquire() noexcept override;
    bool is_signaled() noexcept override;
    bool can_acquire(std::uint32_t word, DWORD thread) const noexcept override;
    std::uint32_t acquired_word(std::uint32_t word, DWORD thread, AcquireResult *result) const noexcept override;

private:
    ~Descriptor() override;

    int fd_;
};

} // namespace tpuring::kobj
