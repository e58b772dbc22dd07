// A hidden one-shot object: runs one function once, then closes itself. Until it starts
// it is a member of its environment's cleanup group (so it can be cancelled there).
#pragma once

#include "objects/callback_object.h"

namespace tpuring::objects {

class OneShotCallback : public CallbackObject {
public:
    using CallbackObject::CallbackObject;

    // Queues its one invocation. Without a cleanup group nobody else can reach it, so the
    // pool may keep it on the submitting worker's own queue.
    void submit()
    {
        if (extras() && extras()->group)
            post();
        else
            pool().post_one_shot(*this);
    }

private:
    void after_invocation() final { close(); }
};

} // namespace tpuring::objects
