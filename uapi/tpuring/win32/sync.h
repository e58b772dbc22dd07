/* libtpuring — kernel objects (events, semaphores, mutexes), waits, handles and critical
 * sections. Part of <tpuring/win32.h>; include that header, not this one.
 *
 * Objects are process-local: a non-NULL, non-empty lpName makes the Create functions fail
 * with ERROR_NOT_SUPPORTED. Security attributes are accepted and ignored. */
#ifndef TPURING_WIN32_SYNC_H
#define TPURING_WIN32_SYNC_H

#include <tpuring/win32/types.h>

/* ---- Events -------------------------------------------------------------------------- */

TPURING_WIN32_FN(HANDLE, CreateEventA,
                 (LPSECURITY_ATTRIBUTES lpEventAttributes, BOOL bManualReset, BOOL bInitialState, LPCSTR lpName),
                 (lpEventAttributes, bManualReset, bInitialState, lpName))
TPURING_WIN32_FN(HANDLE, CreateEventW,
                 (LPSECURITY_ATTRIBUTES lpEventAttributes, BOOL bManualReset, BOOL bInitialState, LPCWSTR lpName),
                 (lpEventAttributes, bManualReset, bInitialState, lpName))
TPURING_WIN32_FN(BOOL, SetEvent, (HANDLE hEvent), (hEvent))
TPURING_WIN32_FN(BOOL, ResetEvent, (HANDLE hEvent), (hEvent))

/* ---- Semaphores ------------------------------------------------------------------------ */

TPURING_WIN32_FN(HANDLE, CreateSemaphoreA,
                 (LPSECURITY_ATTRIBUTES lpSemaphoreAttributes, LONG lInitialCount, LONG lMaximumCount,
                  LPCSTR lpName),
                 (lpSemaphoreAttributes, lInitialCount, lMaximumCount, lpName))
TPURING_WIN32_FN(HANDLE, CreateSemaphoreW,
                 (LPSECURITY_ATTRIBUTES lpSemaphoreAttributes, LONG lInitialCount, LONG lMaximumCount,
                  LPCWSTR lpName),
                 (lpSemaphoreAttributes, lInitialCount, lMaximumCount, lpName))
TPURING_WIN32_FN(BOOL, ReleaseSemaphore, (HANDLE hSemaphore, LONG lReleaseCount, LPLONG lpPreviousCount),
                 (hSemaphore, lReleaseCount, lpPreviousCount))

/* ---- Mutexes ----------------------------------------------------------------------------- */

TPURING_WIN32_FN(HANDLE, CreateMutexA, (LPSECURITY_ATTRIBUTES lpMutexAttributes, BOOL bInitialOwner, LPCSTR lpName),
                 (lpMutexAttributes, bInitialOwner, lpName))
TPURING_WIN32_FN(HANDLE, CreateMutexW, (LPSECURITY_ATTRIBUTES lpMutexAttributes, BOOL bInitialOwner, LPCWSTR lpName),
                 (lpMutexAttributes, bInitialOwner, lpName))
TPURING_WIN32_FN(BOOL, ReleaseMutex, (HANDLE hMutex), (hMutex))

/* ---- Waiting ------------------------------------------------------------------------------
 * Waits are never alertable: the Ex variants accept bAlertable and ignore it. Descriptor
 * handles (tpuring_handle_from_fd) are signaled while the descriptor polls readable (or
 * reports an error or hang-up); waiting on them does not consume anything. */

TPURING_WIN32_FN(DWORD, WaitForSingleObject, (HANDLE hHandle, DWORD dwMilliseconds), (hHandle, dwMilliseconds))
TPURING_WIN32_FN(DWORD, WaitForSingleObjectEx, (HANDLE hHandle, DWORD dwMilliseconds, BOOL bAlertable),
                 (hHandle, dwMilliseconds, bAlertable))
TPURING_WIN32_FN(DWORD, WaitForMultipleObjects,
                 (DWORD nCount, const HANDLE *lpHandles, BOOL bWaitAll, DWORD dwMilliseconds),
                 (nCount, lpHandles, bWaitAll, dwMilliseconds))
TPURING_WIN32_FN(DWORD, WaitForMultipleObjectsEx,
                 (DWORD nCount, const HANDLE *lpHandles, BOOL bWaitAll, DWORD dwMilliseconds, BOOL bAlertable),
                 (nCount, lpHandles, bWaitAll, dwMilliseconds, bAlertable))

/* ---- Handles ------------------------------------------------------------------------------- */

TPURING_WIN32_FN(BOOL, CloseHandle, (HANDLE hObject), (hObject))

/* ---- Critical sections ----------------------------------------------------------------------
 * All state lives inside the CRITICAL_SECTION: nothing is allocated, so a zero-filled
 * structure is also a valid unowned lock. OwningThread holds the owner's thread id. */

TPURING_WIN32_VOID_FN(InitializeCriticalSection, (LPCRITICAL_SECTION lpCriticalSection), (lpCriticalSection))
TPURING_WIN32_FN(BOOL, InitializeCriticalSectionAndSpinCount, (LPCRITICAL_SECTION lpCriticalSection, DWORD dwSpinCount),
                 (lpCriticalSection, dwSpinCount))
TPURING_WIN32_FN(BOOL, InitializeCriticalSectionEx,
                 (LPCRITICAL_SECTION lpCriticalSection, DWORD dwSpinCount, DWORD Flags),
                 (lpCriticalSection, dwSpinCount, Flags))
TPURING_WIN32_FN(DWORD, SetCriticalSectionSpinCount, (LPCRITICAL_SECTION lpCriticalSection, DWORD dwSpinCount),
                 (lpCriticalSection, dwSpinCount))
TPURING_WIN32_VOID_FN(EnterCriticalSection, (LPCRITICAL_SECTION lpCriticalSection), (lpCriticalSection))
TPURING_WIN32_FN(BOOL, TryEnterCriticalSection, (LPCRITICAL_SECTION lpCriticalSection), (lpCriticalSection))
TPURING_WIN32_VOID_FN(LeaveCriticalSection, (LPCRITICAL_SECTION lpCriticalSection), (lpCriticalSection))
TPURING_WIN32_VOID_FN(DeleteCriticalSection, (LPCRITICAL_SECTION lpCriticalSection), (lpCriticalSection))

#if !defined(TPURING_NO_WIN32_NAMES)
#ifdef UNICODE
#define CreateEvent CreateEventW
#define CreateSemaphore CreateSemaphoreW
#define CreateMutex CreateMutexW
#else
#define CreateEvent CreateEventA
#define CreateSemaphore CreateSemaphoreA
#define CreateMutex CreateMutexA
#endif
#endif

#endif /* TPURING_WIN32_SYNC_H */
