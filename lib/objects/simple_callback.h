// A hidden one-shot object: runs one function once, then closes itself. Until it starts
// it is a member of its environment's cleanup group (so it can be cancelled there).
#pragma once

#include "objects/callback_object.h"

namespace tpuring::objects {

class OneShotCallback : public CallbackObject {
public:
    using CallbackObject::CallbackObject;

private:
    void after_invocation() final { close(); }
};

} // namespace tpuring::objects
