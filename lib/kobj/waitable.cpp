#include "kobj/waitable.h"

#include <mutex>

#include "base/spin.h"
#include "base/thread_id.h"
#include "kobj/futex.h"

namespace tpuring::kobj {

void Waitable::add_ref() noexcept
{
    if (!immortal_)
        references_.fetch_add(1, std::memory_order_relaxed);
}

void Waitable::release() noexcept
{
    if (!immortal_ && references_.fetch_sub(1, std::memory_order_acq_rel) == 1)
        delete this;
}

std::uint32_t Waitable::snapshot() noexcept
{
    // The wait-all lock is held for a few instructions, never across a sleep.
    Backoff backoff;
    for (;;) {
        std::uint32_t value = word_.load(std::memory_order_seq_cst);
        if (!(value & kWordLock))
            return value;
        backoff.pause();
    }
}

AcquireResult Waitable::try_acquire() noexcept
{
    const DWORD thread = current_thread_id();
    std::uint32_t seen = snapshot();
    for (;;) {
        if (!can_acquire(seen, thread))
            return AcquireResult::NotSignaled;
        AcquireResult result;
        std::uint32_t next = acquired_word(seen, thread, &result);
        if (word_.compare_exchange_weak(seen, next, std::memory_order_seq_cst)) {
            on_acquired(seen, thread);
            return result;
        }
        if (seen & kWordLock)
            seen = snapshot();
    }
}

bool Waitable::is_signaled() noexcept { return can_acquire(snapshot(), current_thread_id()); }

void Waitable::on_acquired(std::uint32_t, DWORD) noexcept {}

std::uint32_t Waitable::lock_word() noexcept
{
    Backoff backoff;
    std::uint32_t seen = word_.load(std::memory_order_relaxed);
    for (;;) {
        if (seen & kWordLock) {
            backoff.pause();
            seen = word_.load(std::memory_order_relaxed);
            continue;
        }
        if (word_.compare_exchange_weak(seen, seen | kWordLock, std::memory_order_seq_cst))
            return seen;
    }
}

void Waitable::unlock_word(std::uint32_t value) noexcept { word_.store(value, std::memory_order_seq_cst); }

void Waitable::wake_waiters() noexcept
{
    offer_to_watchers();
    // Pairs with add_waiter(): a waiter either sees the new word or is counted here.
    if (waiters_.load(std::memory_order_seq_cst) != 0)
        futex_wake_all(&word_);
}

void Waitable::watch(SignalWatcher &watcher) noexcept
{
    std::lock_guard guard(watch_lock_);
    watcher.watch_prev_ = watch_tail_;
    watcher.watch_next_ = nullptr;
    if (watch_tail_)
        watch_tail_->watch_next_ = &watcher;
    else
        watch_head_.store(&watcher, std::memory_order_seq_cst); // pairs with offer_to_watchers
    watch_tail_ = &watcher;
}

bool Waitable::unwatch(SignalWatcher &watcher) noexcept
{
    std::lock_guard guard(watch_lock_);
    if (!watcher.watch_prev_ && watch_head_.load(std::memory_order_relaxed) != &watcher)
        return false;
    unlink_locked(watcher);
    return true;
}

void Waitable::unlink_locked(SignalWatcher &watcher) noexcept
{
    if (watcher.watch_prev_)
        watcher.watch_prev_->watch_next_ = watcher.watch_next_;
    else
        watch_head_.store(watcher.watch_next_, std::memory_order_relaxed);
    if (watcher.watch_next_)
        watcher.watch_next_->watch_prev_ = watcher.watch_prev_;
    else
        watch_tail_ = watcher.watch_prev_;
    watcher.watch_prev_ = watcher.watch_next_ = nullptr;
}

void Waitable::offer_to_watchers() noexcept
{
    // The word changed (sequentially consistent) before this load, and watch() links
    // before its watcher tries to acquire: one of the two sees the other.
    if (!watch_head_.load(std::memory_order_seq_cst))
        return;
    std::lock_guard guard(watch_lock_);
    SignalWatcher *next;
    for (SignalWatcher *watcher = watch_head_.load(std::memory_order_relaxed); watcher; watcher = next) {
        next = watcher->watch_next_;
        switch (watcher->offer_signal(*this)) {
        case SignalWatcher::Offer::unsignaled:
            return;
        case SignalWatcher::Offer::passed:
            break;
        case SignalWatcher::Offer::taken:
            unlink_locked(*watcher);
            watcher->deliver_signal();
            break;
        case SignalWatcher::Offer::taken_kept:
            watcher->deliver_signal();
            break;
        }
    }
}

} // namespace tpuring::kobj
