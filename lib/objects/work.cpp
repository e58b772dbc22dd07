// Work objects (PTP_WORK): one callback per SubmitThreadpoolWork.
#include "base/last_error.h"
#include "objects/callback_instance.h"
#include "objects/callback_object.h"
#include "objects/create.h"

namespace tpuring::objects {
namespace {

class Work final : public CallbackObject {
public:
    Work(const ObjectSettings &settings, PTP_WORK_CALLBACK callback, void *context)
        : CallbackObject(settings, context), callback_(callback)
    {
    }

    PTP_WORK handle() { return reinterpret_cast<PTP_WORK>(this); }
    static Work *from(PTP_WORK handle) { return reinterpret_cast<Work *>(handle); }

private:
    void call(CallbackInstance &instance) override { callback_(instance.handle(), context(), handle()); }

    const PTP_WORK_CALLBACK callback_;
};

} // namespace
} // namespace tpuring::objects

using tpuring::objects::Work;

extern "C" {

TPURING_API PTP_WORK tpuring_CreateThreadpoolWork(PTP_WORK_CALLBACK pfnwk, PVOID pv, PTP_CALLBACK_ENVIRON pcbe)
{
    if (!pfnwk)
        return tpuring::fail(ERROR_INVALID_PARAMETER, PTP_WORK(nullptr));
    Work *work = tpuring::objects::create_object<Work>(pcbe, tpuring::objects::NeedsTimer::no, pfnwk, pv);
    return work ? work->handle() : nullptr;
}

TPURING_API void tpuring_SubmitThreadpoolWork(PTP_WORK pwk)
{
    if (pwk)
        Work::from(pwk)->post();
}

TPURING_API void tpuring_WaitForThreadpoolWorkCallbacks(PTP_WORK pwk, BOOL fCancelPendingCallbacks)
{
    if (pwk)
        Work::from(pwk)->wait_for_callbacks(fCancelPendingCallbacks != FALSE);
}

TPURING_API void tpuring_CloseThreadpoolWork(PTP_WORK pwk)
{
    if (pwk)
        Work::from(pwk)->close();
}

} // extern "C"
