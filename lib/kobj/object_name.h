// Object names: the library keeps objects process-local and supports no names.
#pragma once

#include <tpuring/win32/types.h>

namespace tpuring::kobj {

// A NULL or empty name creates an unnamed object, as on Windows.
inline bool is_named(LPCSTR name) noexcept { return name != nullptr && name[0] != '\0'; }
inline bool is_named(LPCWSTR name) noexcept { return name != nullptr && name[0] != 0; }

} // namespace tpuring::kobj
