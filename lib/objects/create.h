// Creating a callback object from an environment, the same way for every kind.
#pragma once

#include <new>
#include <utility>

#include "base/last_error.h"
#include "objects/environment.h"
#include "pool/pool.h"

namespace tpuring::objects {

// Whether the object owns a timer entry (timers, and waits for their timeouts). Such
// objects get room in the pool's timer service at creation, so that arming them later
// never allocates; their destructor gives it back.
enum class NeedsTimer : bool { no, yes };

// Builds T(settings, args...) for an environment and registers it with its cleanup group.
// Returns nullptr with the last error set on failure.
template <typename T, typename... Args>
T *create_object(const TP_CALLBACK_ENVIRON *environment, NeedsTimer needs_timer, Args &&...args)
{
    ObjectSettings settings;
    if (!read_environment(environment, settings))
        return nullptr;
    bool reserved = needs_timer == NeedsTimer::yes;
    T *object = nullptr;
    if (!reserved || settings.pool->timers().reserve_timer()) {
        object = new (std::nothrow) T(settings, std::forward<Args>(args)...);
        if (!object && reserved)
            settings.pool->timers().unreserve_timer();
    }
    if (!object) {
        release_environment(settings);
        return fail(ERROR_NOT_ENOUGH_MEMORY, static_cast<T *>(nullptr));
    }
    object->join_group();
    return object;
}

} // namespace tpuring::objects
