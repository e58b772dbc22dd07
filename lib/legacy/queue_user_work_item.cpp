// QueueUserWorkItem: a one-shot callback on the default pool, as Windows builds it.
#include <new>

#include "base/last_error.h"
#include "objects/simple_callback.h"
#include "pool/pool.h"

namespace tpuring::legacy {
namespace {

class WorkItem final : public objects::OneShotCallback {
public:
    WorkItem(const objects::ObjectSettings &settings, LPTHREAD_START_ROUTINE function, void *context)
        : OneShotCallback(settings, context), function_(function)
    {
    }

private:
    void call(objects::CallbackInstance &) override { function_(context()); } // the DWORD result is ignored

    const LPTHREAD_START_ROUTINE function_;
};

} // namespace
} // namespace tpuring::legacy

extern "C" TPURING_API BOOL tpuring_QueueUserWorkItem(LPTHREAD_START_ROUTINE Function, PVOID Context, ULONG Flags)
{
    using namespace tpuring;
    if (!Function)
        return fail(ERROR_INVALID_PARAMETER, FALSE);
    // Thread-kind flags name one kind of worker here; impersonation and the thread-limit
    // bits have no meaning on Linux and are accepted.
    TP_CALLBACK_ENVIRON environment;
    TpInitializeCallbackEnviron(&environment);
    if (Flags & WT_EXECUTELONGFUNCTION)
        environment.u.s.LongFunction = 1;
    if (Flags & WT_EXECUTEINPERSISTENTTHREAD)
        environment.u.s.Persistent = 1;
    objects::ObjectSettings settings;
    if (!objects::read_environment(&environment, settings))
        return FALSE;
    auto *item = new (std::nothrow) legacy::WorkItem(settings, Function, Context);
    if (!item) {
        settings.pool->release();
        return fail(ERROR_NOT_ENOUGH_MEMORY, FALSE);
    }
    item->post();
    return TRUE;
}
