// Process handles: a pidfd, which polls readable once the process has exited, so every
// wait (WaitForSingleObject, thread-pool waits, registered waits) sees it signalled then.
#include <cerrno>
#include <sys/syscall.h>
#include <unistd.h>

#include <tpuring/tpuring.h>

#include "base/last_error.h"

extern "C" TPURING_API HANDLE tpuring_open_process(int pid)
{
    if (pid <= 0)
        return tpuring::fail(ERROR_INVALID_PARAMETER, static_cast<HANDLE>(nullptr));
    int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) {
        DWORD error = errno == ESRCH ? ERROR_INVALID_PARAMETER : tpuring::win32_error_from_errno(errno);
        return tpuring::fail(error, static_cast<HANDLE>(nullptr));
    }
    HANDLE handle = tpuring_handle_from_fd(fd);
    if (!handle)
        close(fd);
    return handle;
}
