#include "kobj/semaphore.h"

#include <new>

#include "base/last_error.h"
#include "kobj/handle_table.h"
#include "kobj/object_name.h"
#include <tpuring/win32.h>

namespace tpuring::kobj {

bool Semaphore::add_units(std::uint32_t count, std::uint32_t *previous) noexcept
{
    const std::uint32_t maximum = maximum_;
    bool released = update_word([&](std::uint32_t word, std::uint32_t *next) {
        *previous = word;
        if (count > maximum - word)
            return false;
        *next = word + count;
        return true;
    });
    if (released)
        wake_waiters();
    return released;
}

bool Semaphore::can_acquire(std::uint32_t word, DWORD) const noexcept { return word != 0; }

std::uint32_t Semaphore::acquired_word(std::uint32_t word, DWORD, AcquireResult *result) const noexcept
{
    *result = AcquireResult::Acquired;
    return word - 1;
}

namespace {

HANDLE create_semaphore(LONG initial_count, LONG maximum_count) noexcept
{
    if (maximum_count <= 0 || initial_count < 0 || initial_count > maximum_count)
        return fail(ERROR_INVALID_PARAMETER, static_cast<HANDLE>(nullptr));
    Semaphore *semaphore = new (std::nothrow) Semaphore(initial_count, maximum_count);
    if (semaphore == nullptr)
        return fail(ERROR_NOT_ENOUGH_MEMORY, static_cast<HANDLE>(nullptr));
    return publish_new_object(semaphore);
}

} // namespace

} // namespace tpuring::kobj

using namespace tpuring::kobj;

extern "C" {

TPURING_API HANDLE tpuring_CreateSemaphoreA(LPSECURITY_ATTRIBUTES, LONG lInitialCount, LONG lMaximumCount,
                                            LPCSTR lpName)
{
    if (is_named(lpName))
        return tpuring::fail(ERROR_NOT_SUPPORTED, static_cast<HANDLE>(nullptr));
    return create_semaphore(lInitialCount, lMaximumCount);
}

TPURING_API HANDLE tpuring_CreateSemaphoreW(LPSECURITY_ATTRIBUTES, LONG lInitialCount, LONG lMaximumCount,
                                            LPCWSTR lpName)
{
    if (is_named(lpName))
        return tpuring::fail(ERROR_NOT_SUPPORTED, static_cast<HANDLE>(nullptr));
    return create_semaphore(lInitialCount, lMaximumCount);
}

TPURING_API BOOL tpuring_ReleaseSemaphore(HANDLE hSemaphore, LONG lReleaseCount, LPLONG lpPreviousCount)
{
    if (lReleaseCount <= 0)
        return tpuring::fail(ERROR_INVALID_PARAMETER, FALSE);
    Ref<Semaphore> semaphore = lookup_handle_as<Semaphore>(hSemaphore, ObjectType::Semaphore);
    if (!semaphore)
        return tpuring::fail(ERROR_INVALID_HANDLE, FALSE);
    std::uint32_t previous = 0;
    if (!semaphore->add_units(static_cast<std::uint32_t>(lReleaseCount), &previous))
        return tpuring::fail(ERROR_TOO_MANY_POSTS, FALSE);
    if (lpPreviousCount != nullptr)
        *lpPreviousCount = static_cast<LONG>(previous);
    return TRUE;
}

} // extern "C"
