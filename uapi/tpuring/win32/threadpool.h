/* libtpuring — the thread-pool API: pools, callback environments, work, cleanup groups and
 * callback instances. Part of <tpuring/win32.h>; include that header, not this one. */
#ifndef TPURING_WIN32_THREADPOOL_H
#define TPURING_WIN32_THREADPOOL_H

#include <tpuring/win32/types.h>

/* ---- Pools ---------------------------------------------------------------------- */

TPURING_WIN32_FN(PTP_POOL, CreateThreadpool, (PVOID reserved), (reserved))
TPURING_WIN32_VOID_FN(CloseThreadpool, (PTP_POOL ptpp), (ptpp))
TPURING_WIN32_VOID_FN(SetThreadpoolThreadMaximum, (PTP_POOL ptpp, DWORD cthrdMost), (ptpp, cthrdMost))
TPURING_WIN32_FN(BOOL, SetThreadpoolThreadMinimum, (PTP_POOL ptpp, DWORD cthrdMic), (ptpp, cthrdMic))
TPURING_WIN32_FN(BOOL, SetThreadpoolStackInformation, (PTP_POOL ptpp, PTP_POOL_STACK_INFORMATION ptpsi),
                 (ptpp, ptpsi))
TPURING_WIN32_FN(BOOL, QueryThreadpoolStackInformation, (PTP_POOL ptpp, PTP_POOL_STACK_INFORMATION ptpsi),
                 (ptpp, ptpsi))

/* ---- Callback environments (header inlines, as in winnt.h / winbase.h) ------------ */

FORCEINLINE VOID TpInitializeCallbackEnviron(PTP_CALLBACK_ENVIRON pcbe)
{
    pcbe->Version = 3;
    pcbe->Pool = NULL;
    pcbe->CleanupGroup = NULL;
    pcbe->CleanupGroupCancelCallback = NULL;
    pcbe->RaceDll = NULL;
    pcbe->ActivationContext = NULL;
    pcbe->FinalizationCallback = NULL;
    pcbe->u.Flags = 0;
    pcbe->CallbackPriority = TP_CALLBACK_PRIORITY_NORMAL;
    pcbe->Size = sizeof(TP_CALLBACK_ENVIRON);
}
FORCEINLINE VOID TpSetCallbackThreadpool(PTP_CALLBACK_ENVIRON pcbe, PTP_POOL ptpp) { pcbe->Pool = ptpp; }
FORCEINLINE VOID TpSetCallbackCleanupGroup(PTP_CALLBACK_ENVIRON pcbe, PTP_CLEANUP_GROUP ptpcg,
                                           PTP_CLEANUP_GROUP_CANCEL_CALLBACK pfng)
{
    pcbe->CleanupGroup = ptpcg;
    pcbe->CleanupGroupCancelCallback = pfng;
}
FORCEINLINE VOID TpSetCallbackActivationContext(PTP_CALLBACK_ENVIRON pcbe, struct _ACTIVATION_CONTEXT *actx)
{
    pcbe->ActivationContext = actx;
}
FORCEINLINE VOID TpSetCallbackNoActivationContext(PTP_CALLBACK_ENVIRON pcbe)
{
    pcbe->ActivationContext = (struct _ACTIVATION_CONTEXT *)(LONG_PTR)-1;
}
FORCEINLINE VOID TpSetCallbackLongFunction(PTP_CALLBACK_ENVIRON pcbe) { pcbe->u.s.LongFunction = 1; }
FORCEINLINE VOID TpSetCallbackRaceWithDll(PTP_CALLBACK_ENVIRON pcbe, PVOID dll) { pcbe->RaceDll = dll; }
FORCEINLINE VOID TpSetCallbackFinalizationCallback(PTP_CALLBACK_ENVIRON pcbe, PTP_SIMPLE_CALLBACK fn)
{
    pcbe->FinalizationCallback = fn;
}
FORCEINLINE VOID TpSetCallbackPriority(PTP_CALLBACK_ENVIRON pcbe, TP_CALLBACK_PRIORITY priority)
{
    pcbe->CallbackPriority = priority;
}
FORCEINLINE VOID TpSetCallbackPersistent(PTP_CALLBACK_ENVIRON pcbe) { pcbe->u.s.Persistent = 1; }
FORCEINLINE VOID TpDestroyCallbackEnviron(PTP_CALLBACK_ENVIRON pcbe) { (void)pcbe; }

FORCEINLINE VOID InitializeThreadpoolEnvironment(PTP_CALLBACK_ENVIRON pcbe) { TpInitializeCallbackEnviron(pcbe); }
FORCEINLINE VOID DestroyThreadpoolEnvironment(PTP_CALLBACK_ENVIRON pcbe) { TpDestroyCallbackEnviron(pcbe); }
FORCEINLINE VOID SetThreadpoolCallbackPool(PTP_CALLBACK_ENVIRON pcbe, PTP_POOL ptpp)
{
    TpSetCallbackThreadpool(pcbe, ptpp);
}
FORCEINLINE VOID SetThreadpoolCallbackCleanupGroup(PTP_CALLBACK_ENVIRON pcbe, PTP_CLEANUP_GROUP ptpcg,
                                                   PTP_CLEANUP_GROUP_CANCEL_CALLBACK pfng)
{
    TpSetCallbackCleanupGroup(pcbe, ptpcg, pfng);
}
FORCEINLINE VOID SetThreadpoolCallbackLibrary(PTP_CALLBACK_ENVIRON pcbe, PVOID mod)
{
    TpSetCallbackRaceWithDll(pcbe, mod);
}
FORCEINLINE VOID SetThreadpoolCallbackPriority(PTP_CALLBACK_ENVIRON pcbe, TP_CALLBACK_PRIORITY priority)
{
    TpSetCallbackPriority(pcbe, priority);
}
FORCEINLINE VOID SetThreadpoolCallbackRunsLong(PTP_CALLBACK_ENVIRON pcbe) { TpSetCallbackLongFunction(pcbe); }
FORCEINLINE VOID SetThreadpoolCallbackPersistent(PTP_CALLBACK_ENVIRON pcbe) { TpSetCallbackPersistent(pcbe); }

/* ---- Work objects and simple callbacks ------------------------------------------ */

TPURING_WIN32_FN(PTP_WORK, CreateThreadpoolWork, (PTP_WORK_CALLBACK pfnwk, PVOID pv, PTP_CALLBACK_ENVIRON pcbe),
                 (pfnwk, pv, pcbe))
TPURING_WIN32_VOID_FN(SubmitThreadpoolWork, (PTP_WORK pwk), (pwk))
TPURING_WIN32_FN(BOOL, TrySubmitThreadpoolCallback, (PTP_SIMPLE_CALLBACK pfns, PVOID pv, PTP_CALLBACK_ENVIRON pcbe),
                 (pfns, pv, pcbe))
TPURING_WIN32_VOID_FN(WaitForThreadpoolWorkCallbacks, (PTP_WORK pwk, BOOL fCancelPendingCallbacks),
                      (pwk, fCancelPendingCallbacks))
TPURING_WIN32_VOID_FN(CloseThreadpoolWork, (PTP_WORK pwk), (pwk))

/* ---- Timer objects ------------------------------------------------------------ */

TPURING_WIN32_FN(PTP_TIMER, CreateThreadpoolTimer, (PTP_TIMER_CALLBACK pfnti, PVOID pv, PTP_CALLBACK_ENVIRON pcbe),
                 (pfnti, pv, pcbe))
TPURING_WIN32_VOID_FN(SetThreadpoolTimer,
                      (PTP_TIMER pti, PFILETIME pftDueTime, DWORD msPeriod, DWORD msWindowLength),
                      (pti, pftDueTime, msPeriod, msWindowLength))
TPURING_WIN32_FN(BOOL, SetThreadpoolTimerEx, (PTP_TIMER pti, PFILETIME pftDueTime, DWORD msPeriod, DWORD msWindowLength),
                 (pti, pftDueTime, msPeriod, msWindowLength))
TPURING_WIN32_FN(BOOL, IsThreadpoolTimerSet, (PTP_TIMER pti), (pti))
TPURING_WIN32_VOID_FN(WaitForThreadpoolTimerCallbacks, (PTP_TIMER pti, BOOL fCancelPendingCallbacks),
                      (pti, fCancelPendingCallbacks))
TPURING_WIN32_VOID_FN(CloseThreadpoolTimer, (PTP_TIMER pti), (pti))

/* ---- Wait objects ------------------------------------------------------------- */

TPURING_WIN32_FN(PTP_WAIT, CreateThreadpoolWait, (PTP_WAIT_CALLBACK pfnwa, PVOID pv, PTP_CALLBACK_ENVIRON pcbe),
                 (pfnwa, pv, pcbe))
TPURING_WIN32_VOID_FN(SetThreadpoolWait, (PTP_WAIT pwa, HANDLE h, PFILETIME pftTimeout), (pwa, h, pftTimeout))
TPURING_WIN32_FN(BOOL, SetThreadpoolWaitEx, (PTP_WAIT pwa, HANDLE h, PFILETIME pftTimeout, PVOID Reserved),
                 (pwa, h, pftTimeout, Reserved))
TPURING_WIN32_VOID_FN(WaitForThreadpoolWaitCallbacks, (PTP_WAIT pwa, BOOL fCancelPendingCallbacks),
                      (pwa, fCancelPendingCallbacks))
TPURING_WIN32_VOID_FN(CloseThreadpoolWait, (PTP_WAIT pwa), (pwa))

/* ---- Cleanup groups ------------------------------------------------------------ */

TPURING_WIN32_FN(PTP_CLEANUP_GROUP, CreateThreadpoolCleanupGroup, (void), ())
TPURING_WIN32_VOID_FN(CloseThreadpoolCleanupGroupMembers,
                      (PTP_CLEANUP_GROUP ptpcg, BOOL fCancelPendingCallbacks, PVOID pvCleanupContext),
                      (ptpcg, fCancelPendingCallbacks, pvCleanupContext))
TPURING_WIN32_VOID_FN(CloseThreadpoolCleanupGroup, (PTP_CLEANUP_GROUP ptpcg), (ptpcg))

/* ---- Callback instances ---------------------------------------------------------- */

TPURING_WIN32_FN(BOOL, CallbackMayRunLong, (PTP_CALLBACK_INSTANCE pci), (pci))
TPURING_WIN32_VOID_FN(DisassociateCurrentThreadFromCallback, (PTP_CALLBACK_INSTANCE pci), (pci))
TPURING_WIN32_VOID_FN(FreeLibraryWhenCallbackReturns, (PTP_CALLBACK_INSTANCE pci, HMODULE mod), (pci, mod))
TPURING_WIN32_VOID_FN(LeaveCriticalSectionWhenCallbackReturns, (PTP_CALLBACK_INSTANCE pci, PCRITICAL_SECTION pcs),
                      (pci, pcs))
TPURING_WIN32_VOID_FN(ReleaseMutexWhenCallbackReturns, (PTP_CALLBACK_INSTANCE pci, HANDLE mut), (pci, mut))
TPURING_WIN32_VOID_FN(ReleaseSemaphoreWhenCallbackReturns, (PTP_CALLBACK_INSTANCE pci, HANDLE sem, DWORD crel),
                      (pci, sem, crel))
TPURING_WIN32_VOID_FN(SetEventWhenCallbackReturns, (PTP_CALLBACK_INSTANCE pci, HANDLE evt), (pci, evt))

/* ---- The original API: work items ----------------------------------------------------- */

TPURING_WIN32_FN(BOOL, QueueUserWorkItem, (LPTHREAD_START_ROUTINE Function, PVOID Context, ULONG Flags),
                 (Function, Context, Flags))

/* ---- The original API: registered waits ------------------------------------------------ */

TPURING_WIN32_FN(BOOL, RegisterWaitForSingleObject,
                 (PHANDLE phNewWaitObject, HANDLE hObject, WAITORTIMERCALLBACK Callback, PVOID Context,
                  ULONG dwMilliseconds, ULONG dwFlags),
                 (phNewWaitObject, hObject, Callback, Context, dwMilliseconds, dwFlags))
TPURING_WIN32_FN(BOOL, UnregisterWait, (HANDLE WaitHandle), (WaitHandle))
TPURING_WIN32_FN(BOOL, UnregisterWaitEx, (HANDLE WaitHandle, HANDLE CompletionEvent), (WaitHandle, CompletionEvent))

/* ---- The original API: timer queues ---------------------------------------------------- */

TPURING_WIN32_FN(HANDLE, CreateTimerQueue, (void), ())
TPURING_WIN32_FN(BOOL, CreateTimerQueueTimer,
                 (PHANDLE phNewTimer, HANDLE TimerQueue, WAITORTIMERCALLBACK Callback, PVOID Parameter, DWORD DueTime,
                  DWORD Period, ULONG Flags),
                 (phNewTimer, TimerQueue, Callback, Parameter, DueTime, Period, Flags))
TPURING_WIN32_FN(BOOL, ChangeTimerQueueTimer, (HANDLE TimerQueue, HANDLE Timer, ULONG DueTime, ULONG Period),
                 (TimerQueue, Timer, DueTime, Period))
TPURING_WIN32_FN(BOOL, DeleteTimerQueueTimer, (HANDLE TimerQueue, HANDLE Timer, HANDLE CompletionEvent),
                 (TimerQueue, Timer, CompletionEvent))
TPURING_WIN32_FN(BOOL, DeleteTimerQueueEx, (HANDLE TimerQueue, HANDLE CompletionEvent), (TimerQueue, CompletionEvent))
TPURING_WIN32_FN(BOOL, DeleteTimerQueue, (HANDLE TimerQueue), (TimerQueue))

#endif /* TPURING_WIN32_THREADPOOL_H */
