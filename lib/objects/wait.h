// Wait objects (behind PTP_WAIT): each arming watches one handle until it is signalled
// or its timeout expires, then queues one callback.
//
// How an arming watches its object:
// - an event or semaphore, in a direct-dispatch pool: linked on the object as a
//   SignalWatcher, so that SetEvent / ReleaseSemaphore acquire it for the wait and queue
//   the callback from the signalling thread (one wake-up);
// - an event or semaphore, in a ring-dispatch pool: an IORING_OP_FUTEX_WAIT on its state
//   word; when it completes, the owner tries to acquire the object (the same atomic step
//   as WaitForSingleObject) and re-arms if another waiter won (two wake-ups: the owner's,
//   then a worker's);
// - a descriptor handle: an IORING_OP_POLL_ADD.
// The timeout is an entry of the pool's timer service.
//
// Threads: Set… runs on any thread and only records the request under lock_; everything
// else (ops, links, timeout entry, clean-up after a trigger) runs on the ring owner, which
// reconciles the request with what is armed. Triggering happens on the owner, or for a
// linked arming on the signalling thread; lock_ makes "trigger" and "re-set" exclude each
// other, so that a signal is consumed only by an arming that will report it.
#pragma once

#include <atomic>

#include "base/word_lock.h"
#include "kobj/ref.h"
#include "kobj/waitable.h"
#include "objects/callback_object.h"
#include "pool/owner_command.h"
#include "pool/timer_heap.h"

namespace tpuring::objects {

struct WaitTimeout {
    enum class Kind : uint8_t { none, immediate, deadline } kind = Kind::none;
    pool::TimerClock clock = pool::TimerClock::monotonic;
    int64_t deadline_ns = 0;

    static WaitTimeout from_filetime(const FILETIME *timeout);
    // For the original API: INFINITE = none; 0 = look at the object once, then time out.
    static WaitTimeout from_milliseconds(DWORD milliseconds);
};

class Wait : public CallbackObject,
             private pool::OwnerCommand,
             private uring::Completion,
             private kobj::SignalWatcher {
public:
    // A wait that is not armed; create with create_object(…, NeedsTimer::yes, …).
    Wait(const ObjectSettings &settings, PTP_WAIT_CALLBACK callback, void *context);

    // SetThreadpoolWaitEx. Returns whether an arming that had not triggered was replaced.
    bool set(HANDLE handle, const FILETIME *timeout);
    // Arms on an object already looked up (nullptr: disarm).
    bool arm(kobj::Ref<kobj::Waitable> object, WaitTimeout timeout);

    void stop_sources() override { arm(nullptr, {}); }
    void cancel_pending() override;
    void timer_expired() override;
    bool expires_on_owner_only() const override { return true; } // its state is the owner's

    PTP_WAIT handle() { return reinterpret_cast<PTP_WAIT>(this); }
    static Wait *from(PTP_WAIT handle) { return reinterpret_cast<Wait *>(handle); }

protected:
    ~Wait() override;

    void call(CallbackInstance &instance) final;
    void on_closed() override { arm(nullptr, {}); }
    // Runs the callback of an invocation that reports result.
    virtual void invoke(CallbackInstance &instance, TP_WAIT_RESULT result);
    // Called after a trigger (on the owner, or under lock_ on a signalling thread); a
    // registration that repeats returns the timeout to re-arm with (a fresh one), others
    // return false.
    virtual bool rearm_after_trigger(WaitTimeout &) const { return false; }
    // Whether every trigger re-arms it (a repeating registration).
    virtual bool renews_itself() const { return false; }

private:
    void run_on_owner(uring::Ring &ring) override;
    void complete(int32_t res, uint32_t flags) override; // the futex or poll op
    Offer offer_signal(kobj::Waitable &object) noexcept override;
    void deliver_signal() noexcept override;
    // The result the starting invocation reports (signalled ones first), and how many
    // clean-up requests after signallers' triggers the owner is owed.
    TP_WAIT_RESULT take_result(uint32_t &cleanups_owed);
    bool watches_by_link() const;
    bool take_signal_handover();
    uint32_t take_cleanups_owed_locked();
    void hand_cleanups_to_owner(uint32_t count);
    // Reports the applied arming now if the object can be acquired; returns false only if
    // the arming is current and still waiting.
    bool settle_if_acquirable();
    uint64_t op_user_data() { return reinterpret_cast<uintptr_t>(static_cast<uring::Completion *>(this)); }
    void request_owner_service();
    void apply_request(uring::Ring &ring);
    void trigger(TP_WAIT_RESULT result);
    void queue_result_locked(TP_WAIT_RESULT result);
    void after_trigger();
    void end_arming();
    void arm_op(uring::Ring &ring);
    void cancel_op(uring::Ring &ring);
    void op_completed(int32_t res);

    const PTP_WAIT_CALLBACK callback_;

    // Laid out small: armed waits exist by the hundred thousand. Sequence numbers only
    // ever compare for equality, so 32 bits that wrap are enough.
    WordLock lock_;
    // Guarded by lock_: the latest request, and results not yet handed to invocations.
    uint32_t request_seq_ = 0;
    uint32_t signalled_pending_ = 0; // results of queued invocations, handed out signalled first
    uint32_t timed_out_pending_ = 0;
    // Signallers' triggers whose clean-up the owner has yet to be asked for (a re-set
    // while a callback waits in the queue can add a second).
    uint32_t cleanups_owed_ = 0;
    bool untriggered_ = false; // the latest arming has neither been signalled nor timed out
    bool signal_handed_over_ = false; // a signaller triggered the applied arming
    std::atomic<bool> worker_owed_{false}; // its post has yet to see to a worker
    // Owner thread only: what is applied and in flight.
    enum class Op : uint8_t { none, futex, poll, link } op_ = Op::none;
    bool registered_waiter_ = false;
    bool timeout_fired_ = false;
    bool op_cancel_sent_ = false;
    bool op_done_ = false;
    uint32_t applied_seq_ = 0; // written under lock_
    uint32_t op_seq_ = 0;
    int32_t op_res_ = 0;
    WaitTimeout requested_timeout_; // guarded by lock_
    kobj::Ref<kobj::Waitable> requested_; // guarded by lock_
    kobj::Ref<kobj::Waitable> active_;
    pool::TimerEntry timeout_entry_;
};

} // namespace tpuring::objects
