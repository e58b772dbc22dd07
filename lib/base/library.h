// Loaded libraries (HMODULE = the dlopen handle), for the pool's library references.
#pragma once

#include <tpuring/win32/types.h>

namespace tpuring {

// Adds one reference to a module returned by LoadLibrary, as if it had been loaded again;
// FreeLibrary drops it. FALSE with ERROR_INVALID_HANDLE for a module LoadLibrary did not
// return (or that was freed).
BOOL module_add_ref(HMODULE module) noexcept;

} // namespace tpuring
