// The base of every object a HANDLE can name: events, semaphores, mutexes, descriptor
// handles and the process/thread pseudo-handles.
//
// Events, semaphores and mutexes keep their whole state in one 32-bit futex word, so that
// any thread — or an io_uring IORING_OP_FUTEX_WAIT armed by a pool's ring owner — can sleep
// on it and then try to acquire:
//
//     obj->add_waiter();                  // before the snapshot: signalers then wake us
//     for (;;) {
//         std::uint32_t seen = obj->snapshot();
//         if (obj->try_acquire() != AcquireResult::NotSignaled) break;
//         sleep on obj->futex_word() while it still holds `seen` (private futex, 32-bit);
//     }
//     obj->remove_waiter();
//
// Every change that can make an object acquirable (SetEvent, ReleaseSemaphore,
// ReleaseMutex, abandonment) stores the new word and then wakes all sleepers on it if any
// waiter is registered. Changes that make it less acquirable (an acquisition, ResetEvent)
// wake nobody.
//
// Bit 31 of the word (kWordLock) is a short-lived lock that only WaitForMultipleObjects
// with bWaitAll takes, on all its objects at once, to test and acquire them atomically.
// Everyone else changes the word by compare-and-swap from an unlocked value, so while the
// lock is held the word cannot change, and nobody ever sleeps on a locked value:
// snapshot() waits for the lock to clear.
#pragma once

#include <atomic>
#include <cstdint>

#include <tpuring/win32/types.h>

#include "base/word_lock.h"
#include "kobj/signal_watcher.h"

namespace tpuring::kobj {

enum class ObjectType : std::uint8_t {
    Event,
    Semaphore,
    Mutex,
    Descriptor, // tpuring_handle_from_fd: no futex word; signaled while it polls readable
    Pseudo,     // GetCurrentProcess() / GetCurrentThread(): never signaled
};

enum class AcquireResult : std::uint8_t {
    NotSignaled,
    Acquired,  // the wait is satisfied (WAIT_OBJECT_0)
    Abandoned, // satisfied by a mutex whose owner exited (WAIT_ABANDONED); now owned
};

class Waitable {
public:
    static constexpr std::uint32_t kWordLock = 0x80000000u;

    Waitable(const Waitable &) = delete;
    Waitable &operator=(const Waitable &) = delete;

    ObjectType type() const noexcept { return type_; }

    void add_ref() noexcept;
    void release() noexcept; // frees the object with the last reference

    // The state word, or nullptr for descriptor handles (wait on poll_fd() instead).
    std::atomic<std::uint32_t> *futex_word() noexcept { return type_ == ObjectType::Descriptor ? nullptr : &word_; }
    // The descriptor of a descriptor handle, -1 for every other type.
    virtual int poll_fd() const noexcept { return -1; }

    // The word's current value with no wait-all lock on it: the value to sleep on.
    std::uint32_t snapshot() noexcept;

    // Non-blocking acquisition for the calling thread: takes an auto-reset event's signal,
    // one semaphore unit, or mutex ownership (recursion +1); only tests a manual-reset
    // event, a descriptor or a pseudo-handle.
    virtual AcquireResult try_acquire() noexcept;
    // Whether a wait by the calling thread would be satisfied now; changes nothing.
    virtual bool is_signaled() noexcept;

    // Counts a sleeper (thread or armed io_uring wait) that signalers must wake. Register
    // before taking the snapshot you sleep on; unregister once done waiting.
    void add_waiter() noexcept { waiters_.fetch_add(1, std::memory_order_seq_cst); }
    void remove_waiter() noexcept { waiters_.fetch_sub(1, std::memory_order_seq_cst); }

    // ---- signal hand-off (see signal_watcher.h) ----------------------------------------
    // Links watcher at the tail. Try to acquire after linking: a signal before the link is
    // in the word, one after it is offered to the watcher.
    void watch(SignalWatcher &watcher) noexcept;
    // Unlinks watcher; returns false if a signaller already did (it took a signal).
    bool unwatch(SignalWatcher &watcher) noexcept;

    // ---- for WaitForMultipleObjects(bWaitAll) ------------------------------------------
    // Sets kWordLock (waiting while another wait-all holds it); returns the unlocked value.
    std::uint32_t lock_word() noexcept;
    // Stores an unlocked value, ending the lock.
    void unlock_word(std::uint32_t value) noexcept;
    // Whether `word` (unlocked) lets `thread` acquire the object.
    virtual bool can_acquire(std::uint32_t word, DWORD thread) const noexcept = 0;
    // The word after `thread` acquires the object from state `word`, and the wait result.
    virtual std::uint32_t acquired_word(std::uint32_t word, DWORD thread, AcquireResult *result) const noexcept = 0;
    // Bookkeeping after `thread` stored acquired_word(): mutex ownership and recursion.
    virtual void on_acquired(std::uint32_t old_word, DWORD thread) noexcept;

    // Called once when the handle naming the object is closed (the object may live on).
    virtual void handle_closed() noexcept {}

protected:
    Waitable(ObjectType type, std::uint32_t initial_word, bool immortal = false) noexcept
        : word_(initial_word), references_(1), type_(type), immortal_(immortal)
    {
    }
    virtual ~Waitable() = default;

    // Stores next = change(word) by compare-and-swap from unlocked values, while change
    // returns true; returns false (and stores nothing) as soon as it returns false.
    template <typename Change>
    bool update_word(Change change) noexcept
    {
        std::uint32_t seen = snapshot();
        for (;;) {
            std::uint32_t next;
            if (!change(seen, &next))
                return false;
            if (word_.compare_exchange_weak(seen, next, std::memory_order_seq_cst))
                return true;
            if (seen & kWordLock)
                seen = snapshot();
        }
    }

    // Offers the change to the watchers, then wakes every sleeper, after a change that may
    // let a wait succeed.
    void wake_waiters() noexcept;

    std::atomic<std::uint32_t> word_;

private:
    void offer_to_watchers() noexcept;
    void unlink_locked(SignalWatcher &watcher) noexcept;

    std::atomic<std::uint32_t> references_;
    std::atomic<std::uint32_t> waiters_{0};
    const ObjectType type_;
    const bool immortal_; // a static object: reference counting does nothing
    WordLock watch_lock_;
    std::atomic<SignalWatcher *> watch_head_{nullptr}; // read without the lock by signallers
    SignalWatcher *watch_tail_ = nullptr;
};

} // namespace tpuring::kobj
