#include "objects/cleanup_group.h"

#include <new>

#include "base/last_error.h"
#include "objects/callback_object.h"

namespace tpuring::objects {

namespace {
// A member's list links; every member has extras, since they name its group.
ObjectExtras &links(CallbackObject &member) { return *member.extras(); }
} // namespace

void CleanupGroup::add(CallbackObject &member)
{
    std::lock_guard guard(lock_);
    links(member).group_prev = tail_;
    links(member).group_next = nullptr;
    (tail_ ? links(*tail_).group_next : head_) = &member;
    tail_ = &member;
    links(member).in_group_list = true;
}

void CleanupGroup::unlink_locked(CallbackObject &member)
{
    ObjectExtras &own = links(member);
    (own.group_prev ? links(*own.group_prev).group_next : head_) = own.group_next;
    (own.group_next ? links(*own.group_next).group_prev : tail_) = own.group_prev;
    own.group_next = own.group_prev = nullptr;
    own.in_group_list = false;
}

void CleanupGroup::remove(CallbackObject &member)
{
    std::lock_guard guard(lock_);
    if (links(member).in_group_list)
        unlink_locked(member);
}

void CleanupGroup::close_members(bool cancel_pending, void *cleanup_context)
{
    // 1. Take the members. One already being freed stays: its destructor unlinks it.
    CallbackObject *taken_head = nullptr;
    CallbackObject *taken_tail = nullptr;
    {
        std::lock_guard guard(lock_);
        CallbackObject *member = head_;
        while (member) {
            CallbackObject *next = links(*member).group_next;
            if (member->try_add_ref()) {
                unlink_locked(*member);
                links(*member).group_prev = taken_tail;
                (taken_tail ? links(*taken_tail).group_next : taken_head) = member;
                taken_tail = member;
            }
            member = next;
        }
    }
    // 2-3. Stop every source of new callbacks, and drop queued ones if asked.
    for (CallbackObject *member = taken_head; member; member = links(*member).group_next) {
        member->stop_sources();
        if (cancel_pending)
            member->cancel_pending();
    }
    // 4. One member after another: wait until idle, then cancel callback and release,
    //    unless the application closed it itself meanwhile.
    while (CallbackObject *member = taken_head) {
        taken_head = links(*member).group_next;
        links(*member).group_next = links(*member).group_prev = nullptr;
        member->wait_until_idle();
        member->close([&] {
            PTP_CLEANUP_GROUP_CANCEL_CALLBACK cancel_callback = member->extras()->cancel_callback;
            if (cancel_pending && cancel_callback)
                cancel_callback(member->context(), cleanup_context);
        });
        member->release(); // ours, from step 1
    }
}

} // namespace tpuring::objects

using tpuring::objects::CleanupGroup;

extern "C" {

TPURING_API PTP_CLEANUP_GROUP tpuring_CreateThreadpoolCleanupGroup(void)
{
    auto *group = new (std::nothrow) CleanupGroup();
    if (!group)
        return tpuring::fail(ERROR_NOT_ENOUGH_MEMORY, PTP_CLEANUP_GROUP(nullptr));
    return group->handle();
}

TPURING_API void tpuring_CloseThreadpoolCleanupGroupMembers(PTP_CLEANUP_GROUP ptpcg, BOOL fCancelPendingCallbacks,
                                                           PVOID pvCleanupContext)
{
    if (ptpcg)
        CleanupGroup::from(ptpcg)->close_members(fCancelPendingCallbacks != FALSE, pvCleanupContext);
}

TPURING_API void tpuring_CloseThreadpoolCleanupGroup(PTP_CLEANUP_GROUP ptpcg)
{
    if (ptpcg)
        CleanupGroup::from(ptpcg)->release();
}

} // extern "C"
