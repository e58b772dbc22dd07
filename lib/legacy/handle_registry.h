// The original API hands out pointers as HANDLEs (timer queues, their timers, registered
// waits). The registry lets every call check a handle before touching it, so a stale or
// foreign handle gives ERROR_INVALID_HANDLE instead of a crash.
#pragma once

#include <cstdint>

namespace tpuring::legacy {

enum class HandleKind : uint8_t { timer_queue, queue_timer, registered_wait };

// Records a live handle.
void register_handle(const void *handle, HandleKind kind);

// Calls on_found(handle) under the registry's lock if `handle` is live with this kind, so
// the callee can take a reference before the handle may go. Returns whether found.
template <typename OnFound>
bool with_handle(const void *handle, HandleKind kind, OnFound &&on_found);

// Removes a live handle of this kind; returns whether it was live.
bool unregister_handle(const void *handle, HandleKind kind);

namespace detail {
bool lookup_locked_and_call(const void *handle, HandleKind kind, void (*call)(const void *, void *), void *context);
}

template <typename OnFound>
bool with_handle(const void *handle, HandleKind kind, OnFound &&on_found)
{
    return detail::lookup_locked_and_call(
        handle, kind, [](const void *found, void *context) { (*static_cast<OnFound *>(context))(found); },
        &on_found);
}

// The live object of type T behind `handle`, with a reference taken by T::try_add_ref(),
// or nullptr.
template <typename T>
T *acquire_handle(const void *handle, HandleKind kind)
{
    T *found = nullptr;
    with_handle(handle, kind, [&](const void *) {
        auto *object = static_cast<T *>(const_cast<void *>(handle));
        if (object->try_add_ref())
            found = object;
    });
    return found;
}

} // namespace tpuring::legacy
