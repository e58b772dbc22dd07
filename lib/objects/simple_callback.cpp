// TrySubmitThreadpoolCallback.
#include "objects/simple_callback.h"

#include <new>

#include "base/last_error.h"
#include "objects/callback_instance.h"

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
    ObjectSettings settings;
    if (!read_environment(pcbe, settings))
        return FALSE;
    auto *callback = new (std::nothrow) SimpleCallback(settings, pfns, pv);
    if (!callback) {
        settings.pool->release();
        return tpuring::fail(ERROR_NOT_ENOUGH_MEMORY, FALSE);
    }
    callback->join_group();
    callback->post();
    return TRUE;
}
