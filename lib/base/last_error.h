// The calling thread's Win32 last-error value, shared by every layer of the library.
#pragma once

#include <tpuring/win32/types.h>

namespace tpuring {

DWORD last_error() noexcept;
void set_last_error(DWORD code) noexcept;

// Sets the last error and returns the failure value, for `return fail(ERROR_X, FALSE);`.
template <typename T>
inline T fail(DWORD code, T result) noexcept
{
    set_last_error(code);
    return result;
}

// The Win32 error for a negative errno returned by a system call or io_uring completion.
DWORD win32_error_from_errno(int err) noexcept;

} // namespace tpuring
