// A hidden one-shot object: runs one function once, then closes itself. Until it starts
// it is a member of its environment's cleanup group (so it can be cancelled there).
#pragma once

#include <cstddef>
#include <new>

#include "objects/callback_object.h"
#include "objects/one_shot_storage.h"

namespace tpuring::objects {

class OneShotCallback : public CallbackObject {
public:
    OneShotCallback(const ObjectSettings &settings, void *context)
        : CallbackObject(with_privacy(settings), context)
    {
    }

    // Queues its one invocation.
    void submit() { pool().post_one_shot(*this); }

    // One-shots come and go by the million: their memory is recycled (one_shot_storage.h).
    static void *operator new(std::size_t size, const std::nothrow_t &) noexcept
    {
        return one_shot_storage::allocate(size);
    }
    static void *operator new(std::size_t) = delete; // created through create_object only
    static void operator delete(void *block, std::size_t size) noexcept { one_shot_storage::deallocate(block, size); }

private:
    // Without a cleanup group nobody else can reach it: the pool may keep it on a worker's
    // own queue.
    static ObjectSettings with_privacy(ObjectSettings settings)
    {
        settings.traits.private_one_shot = !(settings.extras && settings.extras->group);
        return settings;
    }

    // A plain one-shot's one reference is the pool's to drop (Dispatchable::is_plain_one_shot).
    void after_invocation() final
    {
        if (!is_plain_one_shot())
            close();
    }
};

} // namespace tpuring::objects
