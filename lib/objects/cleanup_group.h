// A cleanup group (behind PTP_CLEANUP_GROUP): the objects created with it, so that one
// call can stop, wait for and release them all. Any object kind joins the same way.
//
// Locking: lock_ guards the member list and each member's list links. No callback, wait
// or release happens under it.
#pragma once

#include <atomic>
#include <mutex>

#include <tpuring/win32.h>

namespace tpuring::objects {

class CallbackObject;

class CleanupGroup {
public:
    // References: the creator's, and one per member object.
    void add_ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
    void release()
    {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
            delete this;
    }

    void add(CallbackObject &member);
    // Leaves the list if still in it (not taken by close_members).
    void remove(CallbackObject &member);

    // CloseThreadpoolCleanupGroupMembers.
    void close_members(bool cancel_pending, void *cleanup_context);

    PTP_CLEANUP_GROUP handle() { return reinterpret_cast<PTP_CLEANUP_GROUP>(this); }
    static CleanupGroup *from(PTP_CLEANUP_GROUP handle) { return reinterpret_cast<CleanupGroup *>(handle); }

private:
    ~CleanupGroup() = default;
    void unlink_locked(CallbackObject &member);

    std::atomic<uint32_t> refs_{1};
    std::mutex lock_;
    CallbackObject *head_ = nullptr; // creation order
    CallbackObject *tail_ = nullptr;
};

} // namespace tpuring::objects
