// The common part of every callback-producing thread-pool object: its environment, its
// cleanup-group membership, the creator's reference, and the invocation sequence
// (callback, finalization callback, return actions, counters).
//
// References: the creator's (dropped by Close… or by the cleanup group), one per run-queue
// link, one per running invocation, one per in-flight ring operation. The last frees it.
// (A plain one-shot keeps only the creator's until its invocation ends: Dispatchable::is_plain_one_shot.)
#pragma once

#include <atomic>

#include "objects/environment.h"
#include "pool/pool.h"

namespace tpuring::objects {

struct CallbackInstance;

class CallbackObject : public pool::Dispatchable {
public:
    CallbackObject(const ObjectSettings &settings, void *context);

    void *context() const { return context_; }
    // The environment's rarer settings, or nullptr when it set none of them.
    ObjectExtras *extras() const { return extras_; }

    // Registers the object with its cleanup group, if any. Called once, after construction.
    void join_group();

    // Queues one invocation.
    void post() { pool().post(*this); }

    // Drops the creator's reference unless the application or the cleanup group already
    // did; returns whether this call did it. `before_release` runs first when it does.
    template <typename BeforeRelease>
    bool close(BeforeRelease &&before_release)
    {
        if (!mark_closed())
            return false;
        on_closed();
        before_release();
        release();
        return true;
    }
    bool close()
    {
        return close([] {});
    }


    // WaitForThreadpool…Callbacks: optionally cancel queued invocations, then wait until
    // none is queued and none running is still associated. The caller's own invocation, if
    // it is one of this object's, is not waited for (that wait could never end).
    void wait_for_callbacks(bool cancel_pending);

    // Cleanup-group teardown: stop producing callbacks at the source, optionally drop the
    // queued ones, then wait until none is queued or running (disassociated ones too).
    virtual void stop_sources() {}
    virtual void cancel_pending() { pool().cancel_queued(*this); }
    void wait_until_idle();

    bool invoke(pool::Worker &worker) final;

protected:
    ~CallbackObject() override;
    void destroy() override { delete this; }

    // The object's own callback for one invocation.
    virtual void call(CallbackInstance &instance) = 0;
    // Runs after the return actions, before the invocation stops counting as running.
    virtual void after_invocation() {}
    // Runs once when the creator's reference is about to go: stop producing callbacks.
    virtual void on_closed() {}

private:
    ObjectExtras *const extras_;      // owned
    void *const context_;
};

} // namespace tpuring::objects
