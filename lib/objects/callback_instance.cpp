#include "objects/callback_instance.h"

#include "base/last_error.h"
#include "base/fast_tls.h"
#include "objects/callback_object.h"
#include "pool/pool.h"

namespace tpuring::objects {

namespace {
TPURING_FAST_TLS thread_local CallbackInstance *running_instance = nullptr;
}

CallbackInstance *current_instance() noexcept { return running_instance; }
void set_current_instance(CallbackInstance *instance) noexcept { running_instance = instance; }

CallbackInstance *instance_from_handle(PTP_CALLBACK_INSTANCE handle) noexcept
{
    CallbackInstance *instance = running_instance;
    return (instance && instance->handle() == handle) ? instance : nullptr;
}

void CallbackInstance::run_return_actions()
{
    // Order: critical section, mutex, semaphore, event, library. The last error a failed
    // action leaves is not the callback's business: keep the callback's own.
    DWORD saved_error = last_error();
    bool ok = true;
    if (leave_critical_section)
        tpuring_LeaveCriticalSection(leave_critical_section);
    if (ok && release_mutex)
        ok = tpuring_ReleaseMutex(release_mutex);
    if (ok && release_semaphore)
        ok = tpuring_ReleaseSemaphore(release_semaphore, static_cast<LONG>(semaphore_release_count), nullptr);
    if (ok && set_event)
        ok = tpuring_SetEvent(set_event);
    if (ok && free_library)
        tpuring_FreeLibrary(free_library);
    set_last_error(saved_error);
}

} // namespace tpuring::objects

using tpuring::objects::CallbackInstance;
using tpuring::objects::instance_from_handle;

namespace {
// Records a return action unless one of its kind already is.
template <typename T>
void record_first(T &slot, T value)
{
    if (!slot)
        slot = value;
}
} // namespace

extern "C" {

TPURING_API BOOL tpuring_CallbackMayRunLong(PTP_CALLBACK_INSTANCE pci)
{
    CallbackInstance *instance = instance_from_handle(pci);
    if (!instance)
        return tpuring::fail(ERROR_INVALID_PARAMETER, FALSE);
    if (!instance->object.pool().may_run_long(instance->worker))
        return tpuring::fail(ERROR_TOO_MANY_TCBS, FALSE);
    return TRUE;
}

TPURING_API void tpuring_DisassociateCurrentThreadFromCallback(PTP_CALLBACK_INSTANCE pci)
{
    CallbackInstance *instance = instance_from_handle(pci);
    if (!instance || !instance->associated)
        return;
    instance->associated = false;
    instance->object.disassociate_one();
}

TPURING_API void tpuring_LeaveCriticalSectionWhenCallbackReturns(PTP_CALLBACK_INSTANCE pci, PCRITICAL_SECTION pcs)
{
    if (CallbackInstance *instance = instance_from_handle(pci))
        record_first(instance->leave_critical_section, pcs);
}

TPURING_API void tpuring_ReleaseMutexWhenCallbackReturns(PTP_CALLBACK_INSTANCE pci, HANDLE mut)
{
    if (CallbackInstance *instance = instance_from_handle(pci))
        record_first(instance->release_mutex, mut);
}

TPURING_API void tpuring_ReleaseSemaphoreWhenCallbackReturns(PTP_CALLBACK_INSTANCE pci, HANDLE sem, DWORD crel)
{
    CallbackInstance *instance = instance_from_handle(pci);
    if (instance && !instance->release_semaphore) {
        instance->release_semaphore = sem;
        instance->semaphore_release_count = crel;
    }
}

TPURING_API void tpuring_SetEventWhenCallbackReturns(PTP_CALLBACK_INSTANCE pci, HANDLE evt)
{
    if (CallbackInstance *instance = instance_from_handle(pci))
        record_first(instance->set_event, evt);
}

TPURING_API void tpuring_FreeLibraryWhenCallbackReturns(PTP_CALLBACK_INSTANCE pci, HMODULE mod)
{
    if (CallbackInstance *instance = instance_from_handle(pci))
        record_first(instance->free_library, mod);
}

} // extern "C"
