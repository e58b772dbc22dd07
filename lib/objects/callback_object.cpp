#include "objects/callback_object.h"

#include "objects/callback_instance.h"
#include "objects/cleanup_group.h"
#include "pool/pool.h"

namespace tpuring::objects {

CallbackObject::CallbackObject(const ObjectSettings &settings, void *context)
    : Dispatchable(*settings.pool, settings.traits), settings_(settings), context_(context)
{
}

CallbackObject::~CallbackObject()
{
    if (settings_.group) {
        settings_.group->remove(*this);
        settings_.group->release();
    }
    release_environment(settings_);
}

void CallbackObject::join_group()
{
    if (settings_.group) {
        settings_.group->add_ref();
        settings_.group->add(*this);
    }
}

namespace {
// 1 when the calling thread runs an invocation of `object` that still counts for it.
uint32_t own_invocation(const CallbackObject &object, bool only_associated)
{
    CallbackInstance *instance = current_instance();
    if (!instance || &instance->object != &object)
        return 0;
    return (!only_associated || instance->associated) ? 1 : 0;
}
} // namespace

void CallbackObject::wait_for_callbacks(bool cancel_pending)
{
    if (cancel_pending)
        this->cancel_pending();
    const uint32_t own = own_invocation(*this, true);
    wait_until([&] { return queued() == 0 && associated() <= own; });
}

void CallbackObject::wait_until_idle()
{
    const uint32_t own = own_invocation(*this, false);
    wait_until([&] { return queued() == 0 && running() <= own; });
}

bool CallbackObject::invoke(pool::Worker &worker)
{
    CallbackInstance instance(*this, worker);
    set_current_instance(&instance);
    call(instance);
    if (settings_.finalization)
        settings_.finalization(instance.handle(), context_);
    instance.run_return_actions();
    set_current_instance(nullptr);
    after_invocation();
    return instance.associated;
}

} // namespace tpuring::objects
