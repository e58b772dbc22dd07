// An armed thread-pool wait that the signalling thread satisfies itself. While armed it is
// linked on its event or semaphore (Waitable::watch); SetEvent and ReleaseSemaphore then
// offer the signal to the linked watchers in arming order, before waking sleeping threads.
// A watcher that takes the signal queues its callback from the signaller's thread: one
// wake-up (the worker's) instead of two (the ring owner's, then the worker's).
#pragma once

#include <cstdint>

namespace tpuring::kobj {

class Waitable;

class SignalWatcher {
public:
    enum class Offer : std::uint8_t {
        taken,      // acquired the object for its arming: the walker unlinks it
        taken_kept, // acquired it, and its arming stays armed (a repeating registration)
        passed,     // its arming is superseded or already reported: stays linked, walk on
        unsignaled, // the object cannot be acquired (any more): the walk ends
    };

    // Both run on the signalling thread under the object's watcher lock. The offer should
    // leave wake-ups to deliver_signal(), which follows a `taken` (once the walker has
    // unlinked the watcher) or a `taken_kept`.
    virtual Offer offer_signal(Waitable &object) noexcept = 0;
    virtual void deliver_signal() noexcept = 0;

protected:
    SignalWatcher() = default;
    ~SignalWatcher() = default;

private:
    friend class Waitable;
    SignalWatcher *watch_prev_ = nullptr;
    SignalWatcher *watch_next_ = nullptr;
};

} // namespace tpuring::kobj
