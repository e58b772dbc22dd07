// Work that must run on a pool's ring-owner thread (arming or cancelling ring operations).
// The node lives inside the object that needs it, so requesting never allocates; asking
// again while it is queued does nothing, and the owner runs it once for all requests.
#pragma once

#include <atomic>

#include "uring/ring.h"

namespace tpuring::pool {

class OwnerCommand {
public:
    // Runs on the owner thread, with the ring to submit to.
    virtual void run_on_owner(uring::Ring &ring) = 0;

protected:
    ~OwnerCommand() = default;

private:
    friend class RingOwner;
    OwnerCommand *next_command_ = nullptr;
    std::atomic<bool> queued_{false};
};

} // namespace tpuring::pool
