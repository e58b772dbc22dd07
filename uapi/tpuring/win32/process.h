/* libtpuring — last error, time, thread identity, libraries and interlocked operations.
 * Part of <tpuring/win32.h>; include that header, not this one. */
#ifndef TPURING_WIN32_PROCESS_H
#define TPURING_WIN32_PROCESS_H

#include <tpuring/win32/types.h>

/* ---- Last error ------------------------------------------------------------------ */

TPURING_WIN32_FN(DWORD, GetLastError, (void), ())
TPURING_WIN32_VOID_FN(SetLastError, (DWORD dwErrCode), (dwErrCode))

/* ---- Time -----------------------------------------------------------------------------
 * GetTickCount counts milliseconds since boot, including time spent suspended
 * (CLOCK_BOOTTIME). The performance counter runs on CLOCK_MONOTONIC at a fixed frequency
 * of 10,000,000 Hz (100-ns ticks), so QueryPerformanceFrequency always reports 10000000. */

TPURING_WIN32_VOID_FN(Sleep, (DWORD dwMilliseconds), (dwMilliseconds))
TPURING_WIN32_FN(DWORD, GetTickCount, (void), ())
TPURING_WIN32_FN(ULONGLONG, GetTickCount64, (void), ())
TPURING_WIN32_FN(BOOL, QueryPerformanceCounter, (LARGE_INTEGER * lpPerformanceCount), (lpPerformanceCount))
TPURING_WIN32_FN(BOOL, QueryPerformanceFrequency, (LARGE_INTEGER * lpFrequency), (lpFrequency))
TPURING_WIN32_VOID_FN(GetSystemTimeAsFileTime, (LPFILETIME lpSystemTimeAsFileTime), (lpSystemTimeAsFileTime))

/* ---- Thread and process identity -------------------------------------------------------
 * Thread ids are Linux thread ids (gettid), process ids are getpid(). */

TPURING_WIN32_FN(DWORD, GetCurrentThreadId, (void), ())
TPURING_WIN32_FN(DWORD, GetCurrentProcessId, (void), ())

/* Pseudo-handles: valid only in the calling process/thread, never signaled while it runs,
 * and CloseHandle on them succeeds without effect. */
static inline HANDLE tpuring_GetCurrentProcess(void) { return (HANDLE)(LONG_PTR)-1; }
static inline HANDLE tpuring_GetCurrentThread(void) { return (HANDLE)(LONG_PTR)-2; }

/* ---- Libraries --------------------------------------------------------------------------
 * An HMODULE is the handle of dlopen(). Library names are passed to dlopen unchanged (the
 * W variant converts UTF-16 to UTF-8 first). GetProcAddress(NULL, name) searches the
 * program's global symbol scope. */

TPURING_WIN32_FN(HMODULE, LoadLibraryA, (LPCSTR lpLibFileName), (lpLibFileName))
TPURING_WIN32_FN(HMODULE, LoadLibraryW, (LPCWSTR lpLibFileName), (lpLibFileName))
TPURING_WIN32_FN(BOOL, FreeLibrary, (HMODULE hLibModule), (hLibModule))
TPURING_WIN32_FN(FARPROC, GetProcAddress, (HMODULE hModule, LPCSTR lpProcName), (hModule, lpProcName))

/* ---- Interlocked operations (sequentially consistent, as on Windows) ------------------- */

static inline LONG tpuring_InterlockedIncrement(LONG volatile *Addend)
{
    return __atomic_add_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}
static inline LONG tpuring_InterlockedDecrement(LONG volatile *Addend)
{
    return __atomic_sub_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}
static inline LONG tpuring_InterlockedExchange(LONG volatile *Target, LONG Value)
{
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}
static inline LONG tpuring_InterlockedExchangeAdd(LONG volatile *Addend, LONG Value)
{
    return __atomic_fetch_add(Addend, Value, __ATOMIC_SEQ_CST);
}
static inline LONG tpuring_InterlockedAdd(LONG volatile *Addend, LONG Value)
{
    return __atomic_add_fetch(Addend, Value, __ATOMIC_SEQ_CST);
}
static inline LONG tpuring_InterlockedCompareExchange(LONG volatile *Destination, LONG ExChange, LONG Comperand)
{
    __atomic_compare_exchange_n(Destination, &Comperand, ExChange, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return Comperand; /* the initial value, whether or not the exchange happened */
}

static inline LONGLONG tpuring_InterlockedIncrement64(LONGLONG volatile *Addend)
{
    return __atomic_add_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}
static inline LONGLONG tpuring_InterlockedDecrement64(LONGLONG volatile *Addend)
{
    return __atomic_sub_fetch(Addend, 1, __ATOMIC_SEQ_CST);
}
static inline LONGLONG tpuring_InterlockedExchange64(LONGLONG volatile *Target, LONGLONG Value)
{
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}
static inline LONGLONG tpuring_InterlockedExchangeAdd64(LONGLONG volatile *Addend, LONGLONG Value)
{
    return __atomic_fetch_add(Addend, Value, __ATOMIC_SEQ_CST);
}
static inline LONGLONG tpuring_InterlockedAdd64(LONGLONG volatile *Addend, LONGLONG Value)
{
    return __atomic_add_fetch(Addend, Value, __ATOMIC_SEQ_CST);
}
static inline LONGLONG tpuring_InterlockedCompareExchange64(LONGLONG volatile *Destination, LONGLONG ExChange,
                                                           LONGLONG Comperand)
{
    __atomic_compare_exchange_n(Destination, &Comperand, ExChange, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return Comperand;
}

static inline PVOID tpuring_InterlockedExchangePointer(PVOID volatile *Target, PVOID Value)
{
    return __atomic_exchange_n(Target, Value, __ATOMIC_SEQ_CST);
}
static inline PVOID tpuring_InterlockedCompareExchangePointer(PVOID volatile *Destination, PVOID Exchange,
                                                             PVOID Comperand)
{
    __atomic_compare_exchange_n(Destination, &Comperand, Exchange, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return Comperand;
}

/* ---- Win32 names of the header-only functions ------------------------------------------ */

#ifndef TPURING_NO_WIN32_NAMES
static inline HANDLE GetCurrentProcess(void) { return tpuring_GetCurrentProcess(); }
static inline HANDLE GetCurrentThread(void) { return tpuring_GetCurrentThread(); }

static inline LONG InterlockedIncrement(LONG volatile *Addend) { return tpuring_InterlockedIncrement(Addend); }
static inline LONG InterlockedDecrement(LONG volatile *Addend) { return tpuring_InterlockedDecrement(Addend); }
static inline LONG InterlockedExchange(LONG volatile *Target, LONG Value)
{
    return tpuring_InterlockedExchange(Target, Value);
}
static inline LONG InterlockedExchangeAdd(LONG volatile *Addend, LONG Value)
{
    return tpuring_InterlockedExchangeAdd(Addend, Value);
}
static inline LONG InterlockedAdd(LONG volatile *Addend, LONG Value) { return tpuring_InterlockedAdd(Addend, Value); }
static inline LONG InterlockedCompareExchange(LONG volatile *Destination, LONG ExChange, LONG Comperand)
{
    return tpuring_InterlockedCompareExchange(Destination, ExChange, Comperand);
}
static inline LONGLONG InterlockedIncrement64(LONGLONG volatile *Addend)
{
    return tpuring_InterlockedIncrement64(Addend);
}
static inline LONGLONG InterlockedDecrement64(LONGLONG volatile *Addend)
{
    return tpuring_InterlockedDecrement64(Addend);
}
static inline LONGLONG InterlockedExchange64(LONGLONG volatile *Target, LONGLONG Value)
{
    return tpuring_InterlockedExchange64(Target, Value);
}
static inline LONGLONG InterlockedExchangeAdd64(LONGLONG volatile *Addend, LONGLONG Value)
{
    return tpuring_InterlockedExchangeAdd64(Addend, Value);
}
static inline LONGLONG InterlockedAdd64(LONGLONG volatile *Addend, LONGLONG Value)
{
    return tpuring_InterlockedAdd64(Addend, Value);
}
static inline LONGLONG InterlockedCompareExchange64(LONGLONG volatile *Destination, LONGLONG ExChange,
                                                    LONGLONG Comperand)
{
    return tpuring_InterlockedCompareExchange64(Destination, ExChange, Comperand);
}
static inline PVOID InterlockedExchangePointer(PVOID volatile *Target, PVOID Value)
{
    return tpuring_InterlockedExchangePointer(Target, Value);
}
static inline PVOID InterlockedCompareExchangePointer(PVOID volatile *Destination, PVOID Exchange, PVOID Comperand)
{
    return tpuring_InterlockedCompareExchangePointer(Destination, Exchange, Comperand);
}

#ifdef UNICODE
#define LoadLibrary LoadLibraryW
#else
#define LoadLibrary LoadLibraryA
#endif
#endif /* TPURING_NO_WIN32_NAMES */

#endif /* TPURING_WIN32_PROCESS_H */
