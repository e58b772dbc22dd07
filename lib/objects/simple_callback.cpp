// TrySubmitThreadpoolCallback.
#include "objects/simple_callback.h"

#include "base/last_error.h"
#include "objects/callback_instance.h"
#include "objects/create.h"

namespace tpuring::objects {
namespace {

class SimpleCallback final : public OneShotCallback {
public:
    SimpleCallback(const ObjectSettings &settings, PTP_SIMPLE_CALLBACK callback, void *context)
        : OneShotCallback(settings, context), callback_(callback)
    {
    }

private:
    void call(CallbackInstance &instance) override { callback_(instance.handle(), context()); }

    const PTP_SIMPLE_CALLBACK callback_;
};

} // namespace
} // namespace tpuring::objects

extern "C" TPURING_API BOOL tpuring_TrySubmitThreadpoolCallback(PTP_SIMPLE_CALLBACK pfns, PVOID pv,
                                                                PTP_CALLBACK_ENVIRON pcbe)
{
    using namespace tpuring::objects;
    if (!pfns)
        return tpuring::fail(ERROR_INVALID_PARAMETER, FALSE);
    auto *callback = create_object<SimpleCallback>(pcbe, NeedsTimer::no, pfns, pv);
    if (!callback)
        return FALSE;
    callback->submit();
    return TRUE;
}
