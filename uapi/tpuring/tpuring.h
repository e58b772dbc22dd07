/* libtpuring — native extensions beyond the Win32 API: descriptor handles, io_uring
 * diagnostics, dispatch selection and pool statistics. */
#ifndef TPURING_TPURING_H
#define TPURING_TPURING_H

#include <tpuring/win32.h>

/* Wraps a POSIX descriptor as a HANDLE that owns it: CloseHandle closes the descriptor.
 * Returns NULL with ERROR_INVALID_HANDLE if fd is negative. */
TPURING_API HANDLE tpuring_handle_from_fd(int fd);

/* The descriptor behind a handle made by tpuring_handle_from_fd, or -1 with
 * ERROR_INVALID_HANDLE for any other handle. */
TPURING_API int tpuring_handle_to_fd(HANDLE h);

/* A handle on a process (a pidfd underneath): waitable, signalled once the process has
 * exited. CloseHandle releases it. NULL with ERROR_INVALID_PARAMETER if no such process. */
TPURING_API HANDLE tpuring_open_process(int pid);

/* One sentence saying why io_uring (or an opcode the library needs) cannot be used on this
 * machine, or NULL when it can. CreateThreadpool fails with ERROR_NOT_SUPPORTED exactly
 * when this returns non-NULL. */
TPURING_API const char *tpuring_unsupported_reason(void);

/* How SubmitThreadpoolWork / TrySubmitThreadpoolCallback posts reach a pool's workers. */
typedef enum tpuring_dispatch_mode {
    /* Posts go straight onto the pool's run queue, waking at most one worker. */
    TPURING_DISPATCH_DIRECT = 0,
    /* Posts become completions on the pool's io_uring, which the ring owner dispatches. */
    TPURING_DISPATCH_RING = 1,
} tpuring_dispatch_mode;

/* Selects the dispatch mode of a pool (NULL: the default pool). Takes effect for posts made
 * after the call. FALSE with ERROR_INVALID_PARAMETER for an unknown mode. */
TPURING_API BOOL tpuring_set_pool_dispatch(PTP_POOL pool, tpuring_dispatch_mode mode);
TPURING_API tpuring_dispatch_mode tpuring_get_pool_dispatch(PTP_POOL pool);

/* A snapshot of a pool's counters (NULL pool: the default pool, created if needed). */
typedef struct tpuring_pool_stats {
    DWORD workers;           /* worker threads alive now */
    DWORD idle_workers;      /* of those, parked waiting for work */
    DWORD max_workers;       /* SetThreadpoolThreadMaximum */
    DWORD min_workers;       /* SetThreadpoolThreadMinimum */
    DWORD ready_objects;     /* objects with callbacks queued (run queues and workers' own queues) */
    ULONGLONG callbacks_run; /* callbacks started since the pool was created */
    ULONGLONG workers_started;
    ULONGLONG workers_retired;
} tpuring_pool_stats;

TPURING_API BOOL tpuring_query_pool_stats(PTP_POOL pool, tpuring_pool_stats *stats);

#endif /* TPURING_TPURING_H */
