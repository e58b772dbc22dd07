#include "base/last_error.h"
#include "base/fast_tls.h"

#include <cerrno>

#include <tpuring/win32.h>

namespace tpuring {

namespace {
TPURING_FAST_TLS thread_local DWORD thread_last_error = ERROR_SUCCESS;
}

DWORD last_error() noexcept { return thread_last_error; }
void set_last_error(DWORD code) noexcept { thread_last_error = code; }

DWORD win32_error_from_errno(int err) noexcept
{
    if (err < 0)
        err = -err;
    switch (err) {
    case 0: return ERROR_SUCCESS;
    case ECANCELED: return ERROR_OPERATION_ABORTED;
    case EBADF: return ERROR_INVALID_HANDLE;
    case EINVAL: return ERROR_INVALID_PARAMETER;
    case ENOMEM: return ERROR_NOT_ENOUGH_MEMORY;
    case EFAULT: return ERROR_NOACCESS;
    case EPIPE: return ERROR_BROKEN_PIPE;
    case ENOENT: return ERROR_FILE_NOT_FOUND;
    case EACCES:
    case EPERM: return ERROR_ACCESS_DENIED;
    case ETIME:
    case ETIMEDOUT: return ERROR_TIMEOUT;
    case EAGAIN: return ERROR_NO_SYSTEM_RESOURCES;
    case ENOSYS:
    case EOPNOTSUPP: return ERROR_NOT_SUPPORTED;
    default: return ERROR_GEN_FAILURE;
    }
}

} // namespace tpuring

extern "C" {
TPURING_API DWORD tpuring_GetLastError(void) { return tpuring::last_error(); }
TPURING_API void tpuring_SetLastError(DWORD code) { tpuring::set_last_error(code); }
}
