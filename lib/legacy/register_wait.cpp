// RegisterWaitForSingleObject and UnregisterWait(Ex): a thread-pool wait of the default
// pool that re-arms itself after every trigger (unless WT_EXECUTEONLYONCE). There is no
// wait thread: WT_EXECUTEINWAITTHREAD callbacks run on a worker like the others.
#include "base/last_error.h"
#include "kobj/handle_table.h"
#include "legacy/deletion.h"
#include "legacy/environment.h"
#include "legacy/handle_registry.h"
#include "objects/create.h"
#include "objects/wait.h"

namespace tpuring::legacy {
namespace {

class RegisteredWait final : public objects::Wait {
public:
    RegisteredWait(const objects::ObjectSettings &settings, WAITORTIMERCALLBACK callback, void *context, ULONG flags,
                   DWORD timeout_ms)
        : Wait(settings, nullptr, context), callback_(callback), once_only_((flags & WT_EXECUTEONLYONCE) != 0),
          timeout_ms_(timeout_ms)
    {
    }

    CompletionSignal &completion_signal() { return completion_; }
    HANDLE handle() { return static_cast<HANDLE>(this); }

private:
    void invoke(objects::CallbackInstance &, TP_WAIT_RESULT result) override
    {
        callback_(context(), result == WAIT_TIMEOUT);
    }

    bool renews_itself() const override { return !once_only_; }

    // Every trigger restarts the wait with a fresh timeout, timeouts included.
    bool rearm_after_trigger(objects::WaitTimeout &timeout) const override
    {
        if (once_only_)
            return false;
        timeout = objects::WaitTimeout::from_milliseconds(timeout_ms_);
        return true;
    }

    const WAITORTIMERCALLBACK callback_;
    const bool once_only_;
    const DWORD timeout_ms_;
    CompletionSignal completion_;
};

} // namespace
} // namespace tpuring::legacy

using namespace tpuring::legacy;
using tpuring::fail;

extern "C" {

TPURING_API BOOL tpuring_RegisterWaitForSingleObject(PHANDLE phNewWaitObject, HANDLE hObject,
                                                    WAITORTIMERCALLBACK Callback, PVOID Context, ULONG dwMilliseconds,
                                                    ULONG dwFlags)
{
    if (!phNewWaitObject || !Callback)
        return fail(ERROR_INVALID_PARAMETER, FALSE);
    tpuring::kobj::Ref<tpuring::kobj::Waitable> object = tpuring::kobj::lookup_handle(hObject);
    if (!object)
        return fail(ERROR_INVALID_HANDLE, FALSE);
    // Ownership of a mutex would go to the pool's internal waiter, which cannot release it.
    if (object->type() == tpuring::kobj::ObjectType::Mutex)
        return fail(ERROR_NOT_SUPPORTED, FALSE);
    TP_CALLBACK_ENVIRON environment = environment_for_flags(dwFlags);
    auto *wait = tpuring::objects::create_object<RegisteredWait>(&environment, tpuring::objects::NeedsTimer::yes,
                                                                 Callback, Context, dwFlags, dwMilliseconds);
    if (!wait)
        return FALSE;
    wait->add_ref(); // once published, another thread may unregister it while we arm it
    register_handle(wait->handle(), HandleKind::registered_wait);
    *phNewWaitObject = wait->handle(); // before the callback can run
    wait->arm(std::move(object), tpuring::objects::WaitTimeout::from_milliseconds(dwMilliseconds));
    wait->release();
    return TRUE;
}

TPURING_API BOOL tpuring_UnregisterWaitEx(HANDLE WaitHandle, HANDLE CompletionEvent)
{
    auto *wait = acquire_handle<RegisteredWait>(WaitHandle, HandleKind::registered_wait);
    if (!wait || !unregister_handle(WaitHandle, HandleKind::registered_wait)) {
        if (wait)
            wait->release();
        return fail(ERROR_INVALID_HANDLE, FALSE);
    }
    BOOL result = finish_deletion(*wait, CompletionEvent);
    wait->release();
    return result;
}

TPURING_API BOOL tpuring_UnregisterWait(HANDLE WaitHandle) { return tpuring_UnregisterWaitEx(WaitHandle, nullptr); }

} // extern "C"
