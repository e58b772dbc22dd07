// The process's handle table: HANDLE values name kernel objects without ever being
// dereferenced, so NULL, garbage, closed and stale handles are all recognised.
//
// A handle value is ((generation << 18 | slot) << 2): at most 2^18 handles are open at
// once, a slot's 12-bit generation (never 0) changes each time it is reused, and the two
// low bits are ignored on lookup, as Windows does. Values fit in 32 bits.
#pragma once

#include "kobj/ref.h"
#include "kobj/waitable.h"

namespace tpuring::kobj {

// Gives `object` a handle, taking over one reference the caller holds. On failure returns
// NULL with the last error set, and the reference is released.
HANDLE insert_handle(Waitable *object) noexcept;

// insert_handle for a newly created object: also sets the last error to 0 on success, as
// the Win32 Create functions do.
HANDLE publish_new_object(Waitable *object) noexcept;

// A counted reference to the object `handle` names, or null (last error untouched) if it
// names none. GetCurrentProcess() and GetCurrentThread() name never-signaled objects.
Ref<Waitable> lookup_handle(HANDLE handle) noexcept;

// lookup_handle restricted to one object type.
template <typename T>
Ref<T> lookup_handle_as(HANDLE handle, ObjectType type) noexcept
{
    Ref<Waitable> object = lookup_handle(handle);
    if (!object || object->type() != type)
        return nullptr;
    return Ref<T>::adopt(static_cast<T *>(object.detach()));
}

// Whether the value is one of the pseudo-handles (which need no closing).
bool is_pseudo_handle(HANDLE handle) noexcept;

// Removes the handle and drops its reference; false if it names no object.
bool close_handle(HANDLE handle) noexcept;

} // namespace tpuring::kobj
