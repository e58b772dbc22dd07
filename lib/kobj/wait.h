// WaitForSingleObject / WaitForMultipleObjects on objects already looked up.
#pragma once

#include "kobj/waitable.h"

namespace tpuring::kobj {

// Waits until one object (wait_all false: the lowest-indexed signaled one) or all objects
// at once (wait_all true; they must be distinct) can be acquired by the calling thread,
// acquires it or them, and returns WAIT_OBJECT_0 + i, WAIT_ABANDONED_0 + i or WAIT_TIMEOUT.
// 1 <= count <= MAXIMUM_WAIT_OBJECTS. Never touches the last error.
DWORD wait_for_objects(Waitable *const *objects, DWORD count, bool wait_all, DWORD milliseconds) noexcept;

} // namespace tpuring::kobj
