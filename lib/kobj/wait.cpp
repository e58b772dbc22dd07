// Blocking waits on kernel objects.
//
// Wait-any: snapshot every word, then try to acquire in index order, then sleep until a
// word differs from its snapshot (FUTEX_WAITV). A signal that lands after a snapshot makes
// the sleep return at once, so none is lost.
//
// Wait-all must test and acquire all objects as one step. It sets the wait-all lock bit
// on every object's word, in address order so that two wait-alls cannot deadlock; while
// the bits are set nobody else can change those words (every other change is a
// compare-and-swap from an unlocked value). With all words frozen it tests them and then
// either acquires every object, or puts every word back unchanged and sleeps on the
// values it saw. The bits are held for a few instructions and never across a sleep.
#include "kobj/wait.h"

#include <algorithm>

#include "base/clock.h"
#include "base/last_error.h"
#include "base/thread_id.h"
#include "kobj/handle_table.h"
#include "kobj/sleep_set.h"
#include <tpuring/win32.h>

namespace tpuring::kobj {

namespace {

// Registers the calling thread as a sleeper on every object for the whole wait.
class WaiterRegistration {
public:
    WaiterRegistration(Waitable *const *objects, DWORD count) noexcept : objects_(objects), count_(count)
    {
        for (DWORD i = 0; i < count_; ++i)
            objects_[i]->add_waiter();
    }
    ~WaiterRegistration()
    {
        for (DWORD i = 0; i < count_; ++i)
            objects_[i]->remove_waiter();
    }

private:
    Waitable *const *objects_;
    DWORD count_;
};

DWORD result_code(AcquireResult result, DWORD index) noexcept
{
    return (result == AcquireResult::Abandoned ? WAIT_ABANDONED_0 : WAIT_OBJECT_0) + index;
}

void add_to_sleep_set(SleepSet &set, Waitable *object, std::uint32_t seen) noexcept
{
    if (std::atomic<std::uint32_t> *word = object->futex_word())
        set.add_futex(word, seen);
    else
        set.add_descriptor(object->poll_fd());
}

DWORD wait_any(Waitable *const *objects, DWORD count, const Deadline &deadline) noexcept
{
    WaiterRegistration registration(objects, count);
    for (;;) {
        SleepSet set;
        for (DWORD i = 0; i < count; ++i)
            add_to_sleep_set(set, objects[i], objects[i]->snapshot());
        for (DWORD i = 0; i < count; ++i) {
            AcquireResult result = objects[i]->try_acquire();
            if (result != AcquireResult::NotSignaled)
                return result_code(result, i);
        }
        if (deadline.has_passed())
            return WAIT_TIMEOUT;
        sleep_until_change(set, deadline);
    }
}

DWORD wait_all(Waitable *const *objects, DWORD count, const Deadline &deadline) noexcept
{
    WaiterRegistration registration(objects, count);
    const DWORD thread = current_thread_id();
    DWORD lock_order[MAXIMUM_WAIT_OBJECTS];
    for (DWORD i = 0; i < count; ++i)
        lock_order[i] = i;
    std::sort(lock_order, lock_order + count, [&](DWORD a, DWORD b) {
        return std::less<Waitable *>()(objects[a], objects[b]);
    });

    std::uint32_t words[MAXIMUM_WAIT_OBJECTS];
    bool ready[MAXIMUM_WAIT_OBJECTS];
    for (;;) {
        for (DWORD k = 0; k < count; ++k)
            words[lock_order[k]] = objects[lock_order[k]]->lock_word();
        bool all_ready = true;
        for (DWORD i = 0; i < count; ++i) {
            ready[i] = objects[i]->can_acquire(words[i], thread);
            all_ready = all_ready && ready[i];
        }
        if (all_ready) {
            DWORD result = WAIT_OBJECT_0;
            for (DWORD i = 0; i < count; ++i) {
                AcquireResult acquired;
                objects[i]->unlock_word(objects[i]->acquired_word(words[i], thread, &acquired));
                objects[i]->on_acquired(words[i], thread);
                if (acquired == AcquireResult::Abandoned && result == WAIT_OBJECT_0)
                    result = WAIT_ABANDONED_0 + i; // the lowest abandoned index
            }
            return result;
        }
        for (DWORD i = 0; i < count; ++i)
            objects[i]->unlock_word(words[i]);
        if (deadline.has_passed())
            return WAIT_TIMEOUT;

        // Sleep on the words as they were; a descriptor that is already ready would wake
        // the sleep at once, so only the others are watched.
        SleepSet set;
        for (DWORD i = 0; i < count; ++i)
            if (objects[i]->futex_word() != nullptr || !ready[i])
                add_to_sleep_set(set, objects[i], words[i]);
        sleep_until_change(set, deadline);
    }
}

} // namespace

DWORD wait_for_objects(Waitable *const *objects, DWORD count, bool wait_all_objects, DWORD milliseconds) noexcept
{
    Deadline deadline = Deadline::after_ms(milliseconds);
    return wait_all_objects ? wait_all(objects, count, deadline) : wait_any(objects, count, deadline);
}

} // namespace tpuring::kobj

using namespace tpuring::kobj;

extern "C" {

TPURING_API DWORD tpuring_WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds)
{
    Ref<Waitable> object = lookup_handle(hHandle);
    if (!object)
        return tpuring::fail(ERROR_INVALID_HANDLE, WAIT_FAILED);
    Waitable *objects[1] = {object.get()};
    return wait_for_objects(objects, 1, false, dwMilliseconds);
}

TPURING_API DWORD tpuring_WaitForSingleObjectEx(HANDLE hHandle, DWORD dwMilliseconds, BOOL)
{
    return tpuring_WaitForSingleObject(hHandle, dwMilliseconds);
}

TPURING_API DWORD tpuring_WaitForMultipleObjects(DWORD nCount, const HANDLE *lpHandles, BOOL bWaitAll,
                                                 DWORD dwMilliseconds)
{
    if (nCount == 0 || nCount > MAXIMUM_WAIT_OBJECTS)
        return tpuring::fail(ERROR_INVALID_PARAMETER, WAIT_FAILED);
    if (lpHandles == nullptr)
        return tpuring::fail(ERROR_NOACCESS, WAIT_FAILED);
    Ref<Waitable> references[MAXIMUM_WAIT_OBJECTS];
    Waitable *objects[MAXIMUM_WAIT_OBJECTS];
    for (DWORD i = 0; i < nCount; ++i) {
        references[i] = lookup_handle(lpHandles[i]);
        if (!references[i])
            return tpuring::fail(ERROR_INVALID_HANDLE, WAIT_FAILED);
        objects[i] = references[i].get();
    }
    if (bWaitAll) {
        // One object twice (the same handle, or aliases differing in the low bits) cannot
        // be acquired twice at one moment.
        Waitable *sorted[MAXIMUM_WAIT_OBJECTS];
        std::copy(objects, objects + nCount, sorted);
        std::sort(sorted, sorted + nCount, std::less<Waitable *>());
        if (std::adjacent_find(sorted, sorted + nCount) != sorted + nCount)
            return tpuring::fail(ERROR_INVALID_PARAMETER, WAIT_FAILED);
    }
    return wait_for_objects(objects, nCount, bWaitAll != FALSE, dwMilliseconds);
}

TPURING_API DWORD tpuring_WaitForMultipleObjectsEx(DWORD nCount, const HANDLE *lpHandles, BOOL bWaitAll,
                                                   DWORD dwMilliseconds, BOOL)
{
    return tpuring_WaitForMultipleObjects(nCount, lpHandles, bWaitAll, dwMilliseconds);
}

} // extern "C"
