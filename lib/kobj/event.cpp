#include "kobj/event.h"

#include <new>

#include "base/last_error.h"
#include "kobj/handle_table.h"
#include "kobj/object_name.h"
#include <tpuring/win32.h>

namespace tpuring::kobj {

void Event::set() noexcept
{
    bool changed = update_word([](std::uint32_t word, std::uint32_t *next) {
        *next = word | kSignaled;
        return !(word & kSignaled); // setting a signaled event changes nothing
    });
    if (changed)
        wake_waiters();
}

void Event::reset() noexcept
{
    update_word([](std::uint32_t word, std::uint32_t *next) {
        *next = word & ~kSignaled;
        return (word & kSignaled) != 0;
    });
}

AcquireResult Event::try_acquire() noexcept
{
    // A manual-reset event is only tested: no compare-and-swap needed.
    if (manual_reset_)
        return (snapshot() & kSignaled) ? AcquireResult::Acquired : AcquireResult::NotSignaled;
    return Waitable::try_acquire();
}

bool Event::can_acquire(std::uint32_t word, DWORD) const noexcept { return (word & kSignaled) != 0; }

std::uint32_t Event::acquired_word(std::uint32_t word, DWORD, AcquireResult *result) const noexcept
{
    *result = AcquireResult::Acquired;
    return manual_reset_ ? word : (word & ~kSignaled);
}

namespace {

HANDLE create_event(BOOL manual_reset, BOOL initial_state) noexcept
{
    Event *event = new (std::nothrow) Event(manual_reset != FALSE, initial_state != FALSE);
    if (event == nullptr)
        return fail(ERROR_NOT_ENOUGH_MEMORY, static_cast<HANDLE>(nullptr));
    return publish_new_object(event);
}

} // namespace

} // namespace tpuring::kobj

using namespace tpuring::kobj;

extern "C" {

TPURING_API HANDLE tpuring_CreateEventA(LPSECURITY_ATTRIBUTES, BOOL bManualReset, BOOL bInitialState, LPCSTR lpName)
{
    if (is_named(lpName))
        return tpuring::fail(ERROR_NOT_SUPPORTED, static_cast<HANDLE>(nullptr));
    return create_event(bManualReset, bInitialState);
}

TPURING_API HANDLE tpuring_CreateEventW(LPSECURITY_ATTRIBUTES, BOOL bManualReset, BOOL bInitialState, LPCWSTR lpName)
{
    if (is_named(lpName))
        return tpuring::fail(ERROR_NOT_SUPPORTED, static_cast<HANDLE>(nullptr));
    return create_event(bManualReset, bInitialState);
}

TPURING_API BOOL tpuring_SetEvent(HANDLE hEvent)
{
    Ref<Event> event = lookup_handle_as<Event>(hEvent, ObjectType::Event);
    if (!event)
        return tpuring::fail(ERROR_INVALID_HANDLE, FALSE);
    event->set();
    return TRUE;
}

TPURING_API BOOL tpuring_ResetEvent(HANDLE hEvent)
{
    Ref<Event> event = lookup_handle_as<Event>(hEvent, ObjectType::Event);
    if (!event)
        return tpuring::fail(ERROR_INVALID_HANDLE, FALSE);
    event->reset();
    return TRUE;
}

} // extern "C"
