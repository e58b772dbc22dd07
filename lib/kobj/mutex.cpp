#include "kobj/mutex.h"

#include <new>

#include "base/last_error.h"
#include "base/thread_id.h"
#include "kobj/handle_table.h"
#include "kobj/object_name.h"
#include <tpuring/win32.h>

namespace tpuring::kobj {

// The mutexes the current thread owns. Its destructor runs when the thread exits and
// abandons whatever is still owned, so the next acquirer learns of it (WAIT_ABANDONED).
// Each listed mutex holds one reference, so closing its last handle while owned is safe.
struct OwnedMutexes {
    Mutex *head = nullptr;

    void push(Mutex *mutex) noexcept
    {
        mutex->add_ref();
        mutex->owned_prev_ = nullptr;
        mutex->owned_next_ = head;
        if (head != nullptr)
            head->owned_prev_ = mutex;
        head = mutex;
    }

    // Unlinks; the caller drops the list's reference.
    void remove(Mutex *mutex) noexcept
    {
        if (mutex->owned_prev_ != nullptr)
            mutex->owned_prev_->owned_next_ = mutex->owned_next_;
        else
            head = mutex->owned_next_;
        if (mutex->owned_next_ != nullptr)
            mutex->owned_next_->owned_prev_ = mutex->owned_prev_;
        mutex->owned_prev_ = mutex->owned_next_ = nullptr;
    }

    ~OwnedMutexes()
    {
        while (head != nullptr)
            head->abandon();
    }
};

namespace {
thread_local OwnedMutexes owned_mutexes;
}

void Mutex::take_initial_ownership() noexcept
{
    const DWORD thread = current_thread_id();
    word_.store(thread & kOwnerMask, std::memory_order_relaxed);
    recursion_ = 1;
    owned_mutexes.push(this);
}

bool Mutex::can_acquire(std::uint32_t word, DWORD thread) const noexcept
{
    std::uint32_t owner = word & kOwnerMask;
    return owner == 0 || owner == (thread & kOwnerMask);
}

std::uint32_t Mutex::acquired_word(std::uint32_t word, DWORD thread, AcquireResult *result) const noexcept
{
    if ((word & kOwnerMask) != 0) { // already ours: recursion only
        *result = AcquireResult::Acquired;
        return word;
    }
    *result = (word & kAbandoned) ? AcquireResult::Abandoned : AcquireResult::Acquired;
    return thread & kOwnerMask; // taking it clears the abandoned flag
}

void Mutex::on_acquired(std::uint32_t old_word, DWORD) noexcept
{
    if ((old_word & kOwnerMask) != 0) {
        ++recursion_;
        return;
    }
    recursion_ = 1;
    owned_mutexes.push(this);
}

bool Mutex::release_by_current_thread() noexcept
{
    const DWORD thread = current_thread_id() & kOwnerMask;
    // Only the owner can change the owner field, so this test cannot race.
    if ((snapshot() & kOwnerMask) != thread)
        return false;
    if (--recursion_ != 0)
        return true;
    owned_mutexes.remove(this);
    update_word([](std::uint32_t, std::uint32_t *next) {
        *next = 0;
        return true;
    });
    wake_waiters();
    release(); // the owned list's reference; the caller still holds one
    return true;
}

void Mutex::abandon() noexcept
{
    owned_mutexes.remove(this);
    recursion_ = 0;
    update_word([](std::uint32_t, std::uint32_t *next) {
        *next = kAbandoned;
        return true;
    });
    wake_waiters();
    release();
}

namespace {

HANDLE create_mutex(BOOL initial_owner) noexcept
{
    Mutex *mutex = new (std::nothrow) Mutex();
    if (mutex == nullptr)
        return fail(ERROR_NOT_ENOUGH_MEMORY, static_cast<HANDLE>(nullptr));
    if (initial_owner)
        mutex->take_initial_ownership();
    return publish_new_object(mutex);
}

} // namespace

} // namespace tpuring::kobj

using namespace tpuring::kobj;

extern "C" {

TPURING_API HANDLE tpuring_CreateMutexA(LPSECURITY_ATTRIBUTES, BOOL bInitialOwner, LPCSTR lpName)
{
    if (is_named(lpName))
        return tpuring::fail(ERROR_NOT_SUPPORTED, static_cast<HANDLE>(nullptr));
    return create_mutex(bInitialOwner);
}

TPURING_API HANDLE tpuring_CreateMutexW(LPSECURITY_ATTRIBUTES, BOOL bInitialOwner, LPCWSTR lpName)
{
    if (is_named(lpName))
        return tpuring::fail(ERROR_NOT_SUPPORTED, static_cast<HANDLE>(nullptr));
    return create_mutex(bInitialOwner);
}

TPURING_API BOOL tpuring_ReleaseMutex(HANDLE hMutex)
{
    Ref<Mutex> mutex = lookup_handle_as<Mutex>(hMutex, ObjectType::Mutex);
    if (!mutex)
        return tpuring::fail(ERROR_INVALID_HANDLE, FALSE);
    if (!mutex->release_by_current_thread())
        return tpuring::fail(ERROR_NOT_OWNER, FALSE);
    return TRUE;
}

} // extern "C"
