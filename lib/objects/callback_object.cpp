#include "objects/callback_object.h"

#include "objects/callback_instance.h"
#include "objects/cleanup_group.h"
#include "pool/pool.h"

namespace tpuring::objects {

CallbackObject::CallbackObject(const ObjectSettings &settings, void *context)
    : Dispatchable(*settings.pool, settings.traits), extras_(settings.extras), context_(context)
{
}

CallbackObject::~CallbackObject()
{
    if (extras_ && extras_->group) {
        extras_->group->remove(*this);
        extras_->group->release();
    }
    ObjectSettings settings{&pool(), traits(), extras_};
    release_environment(settings);
}

void CallbackObject::join_group()
{
    if (extras_ && extras_->group) {
        extras_->group->add_ref();
        extras_->group->add(*this);
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
    if (extras_ && extras_->finalization)
        extras_->finalization(instance.handle(), context_);
    instance.run_return_actions();
    set_current_instance(nullptr);
    after_invocation();
    return instance.associated;
}

} // namespace tpuring::objects
