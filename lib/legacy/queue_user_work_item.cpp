// QueueUserWorkItem: a one-shot callback on the default pool, as Windows builds it.
#include "base/last_error.h"
#include "legacy/environment.h"
#include "objects/create.h"
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
    TP_CALLBACK_ENVIRON environment = legacy::environment_for_flags(Flags);
    auto *item = objects::create_object<legacy::WorkItem>(&environment, objects::NeedsTimer::no, Function, Context);
    if (!item)
        return FALSE;
    item->submit();
    return TRUE;
}
