// Critical sections, with all state inside the caller's CRITICAL_SECTION:
//   LockCount      the futex word: -1 free (Windows' initial value), 0 held, 1 held with
//                  sleepers that must be woken on leave
//   OwningThread   the owner's thread id, so recursive entry needs no atomic operation
//   RecursionCount entries by the owner; only the owner reads or writes it
//   SpinCount      attempts before sleeping (low 24 bits, as Windows keeps them)
#include <climits>
#include <cstdint>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/thread_id.h"
#include "base/spin.h"
#include <tpuring/win32.h>

namespace {

constexpr LONG kFree = -1;
constexpr LONG kHeld = 0;
constexpr LONG kHeldWithSleepers = 1;
constexpr ULONG_PTR kSpinCountMask = 0x00FFFFFF;

HANDLE thread_tag(DWORD thread) { return reinterpret_cast<HANDLE>(static_cast<std::uintptr_t>(thread)); }

HANDLE owner_of(const CRITICAL_SECTION *section)
{
    return __atomic_load_n(&section->OwningThread, __ATOMIC_RELAXED);
}

bool try_take(CRITICAL_SECTION *section)
{
    LONG expected = kFree;
    return __atomic_compare_exchange_n(&section->LockCount, &expected, kHeld, false, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}

void take_slowly(CRITICAL_SECTION *section)
{
    for (ULONG_PTR spins = __atomic_load_n(&section->SpinCount, __ATOMIC_RELAXED) & kSpinCountMask; spins > 0;
         --spins) {
        if (__atomic_load_n(&section->LockCount, __ATOMIC_RELAXED) == kFree && try_take(section))
            return;
        tpuring::cpu_relax();
    }
    // Whoever finds the lock busy marks it "held with sleepers" before sleeping, and takes
    // it in that state too: it cannot know whether others still sleep.
    while (__atomic_exchange_n(&section->LockCount, kHeldWithSleepers, __ATOMIC_ACQUIRE) != kFree)
        syscall(SYS_futex, &section->LockCount, FUTEX_WAIT_PRIVATE, kHeldWithSleepers, nullptr, nullptr, 0);
}

void become_owner(CRITICAL_SECTION *section, HANDLE self)
{
    __atomic_store_n(&section->OwningThread, self, __ATOMIC_RELAXED);
    section->RecursionCount = 1;
}

void initialize(CRITICAL_SECTION *section, DWORD spin_count)
{
    section->DebugInfo = nullptr;
    section->LockCount = kFree;
    section->RecursionCount = 0;
    section->OwningThread = nullptr;
    section->LockSemaphore = nullptr;
    section->SpinCount = spin_count & kSpinCountMask;
}

} // namespace

extern "C" {

TPURING_API void tpuring_InitializeCriticalSection(LPCRITICAL_SECTION lpCriticalSection)
{
    initialize(lpCriticalSection, 0);
}

TPURING_API BOOL tpuring_InitializeCriticalSectionAndSpinCount(LPCRITICAL_SECTION lpCriticalSection,
                                                               DWORD dwSpinCount)
{
    initialize(lpCriticalSection, dwSpinCount);
    return TRUE;
}

TPURING_API BOOL tpuring_InitializeCriticalSectionEx(LPCRITICAL_SECTION lpCriticalSection, DWORD dwSpinCount, DWORD)
{
    initialize(lpCriticalSection, dwSpinCount);
    return TRUE;
}

TPURING_API DWORD tpuring_SetCriticalSectionSpinCount(LPCRITICAL_SECTION lpCriticalSection, DWORD dwSpinCount)
{
    ULONG_PTR previous =
        __atomic_exchange_n(&lpCriticalSection->SpinCount, dwSpinCount & kSpinCountMask, __ATOMIC_RELAXED);
    return static_cast<DWORD>(previous);
}

TPURING_API void tpuring_EnterCriticalSection(LPCRITICAL_SECTION lpCriticalSection)
{
    const HANDLE self = thread_tag(tpuring::current_thread_id());
    // Only this thread ever stores its own id here, so the test cannot be fooled.
    if (owner_of(lpCriticalSection) == self) {
        ++lpCriticalSection->RecursionCount;
        return;
    }
    if (!try_take(lpCriticalSection))
        take_slowly(lpCriticalSection);
    become_owner(lpCriticalSection, self);
}

TPURING_API BOOL tpuring_TryEnterCriticalSection(LPCRITICAL_SECTION lpCriticalSection)
{
    const HANDLE self = thread_tag(tpuring::current_thread_id());
    if (owner_of(lpCriticalSection) == self) {
        ++lpCriticalSection->RecursionCount;
        return TRUE;
    }
    if (!try_take(lpCriticalSection))
        return FALSE;
    become_owner(lpCriticalSection, self);
    return TRUE;
}

TPURING_API void tpuring_LeaveCriticalSection(LPCRITICAL_SECTION lpCriticalSection)
{
    if (--lpCriticalSection->RecursionCount > 0)
        return;
    __atomic_store_n(&lpCriticalSection->OwningThread, static_cast<HANDLE>(nullptr), __ATOMIC_RELAXED);
    if (__atomic_exchange_n(&lpCriticalSection->LockCount, kFree, __ATOMIC_RELEASE) == kHeldWithSleepers)
        syscall(SYS_futex, &lpCriticalSection->LockCount, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

TPURING_API void tpuring_DeleteCriticalSection(LPCRITICAL_SECTION lpCriticalSection)
{
    // Nothing was allocated; leave the lock free and unowned.
    initialize(lpCriticalSection, 0);
}

} // extern "C"
