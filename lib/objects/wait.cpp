#include "objects/wait.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <poll.h>

#include "base/last_error.h"
#include "kobj/handle_table.h"
#include "objects/callback_instance.h"
#include "objects/create.h"
#include "pool/timer_service.h"
#include "uring/opcodes.h"

namespace tpuring::objects {

WaitTimeout WaitTimeout::from_filetime(const FILETIME *timeout)
{
    WaitTimeout result;
    if (!timeout)
        return result;
    int64_t value = pool::filetime_value(*timeout);
    if (value == 0) {
        result.kind = Kind::immediate;
        return result;
    }
    pool::TimerDeadline deadline = pool::deadline_from_filetime(value);
    result.kind = Kind::deadline;
    result.clock = deadline.clock;
    result.deadline_ns = deadline.ns;
    return result;
}

WaitTimeout WaitTimeout::from_milliseconds(DWORD milliseconds)
{
    WaitTimeout result;
    if (milliseconds == INFINITE)
        return result;
    // Zero: look at the object once, then time out (a deadline already past).
    result.kind = Kind::deadline;
    result.deadline_ns = pool::clock_now_ns(pool::TimerClock::monotonic) + int64_t(milliseconds) * pool::ns_per_ms;
    return result;
}

Wait::Wait(const ObjectSettings &settings, PTP_WAIT_CALLBACK callback, void *context)
    : CallbackObject(settings, context), callback_(callback)
{
    timeout_entry_.bind(*this);
}

Wait::~Wait() { pool().timers().unreserve_timer(); }

bool Wait::set(HANDLE handle, const FILETIME *timeout)
{
    if (!handle)
        return arm(nullptr, {}); // the timeout is not even read
    kobj::Ref<kobj::Waitable> object = kobj::lookup_handle(handle);
    if (!object) {
        bool replaced = arm(nullptr, {});
        set_last_error(ERROR_INVALID_HANDLE);
        return replaced;
    }
    if (object->type() == kobj::ObjectType::Mutex) {
        // Ownership would go to the pool's internal waiter, which could never release it.
        bool replaced = arm(nullptr, {});
        set_last_error(ERROR_INVALID_PARAMETER);
        return replaced;
    }
    return arm(std::move(object), WaitTimeout::from_filetime(timeout));
}

bool Wait::arm(kobj::Ref<kobj::Waitable> object, WaitTimeout timeout)
{
    bool replaced;
    kobj::Ref<kobj::Waitable> previous;
    {
        std::lock_guard guard(lock_);
        replaced = untriggered_;
        untriggered_ = static_cast<bool>(object);
        previous = std::move(requested_);
        requested_ = std::move(object);
        requested_timeout_ = timeout;
        ++request_seq_;
    }
    // Closing never re-arms: an arming racing with the close is dropped by the owner.
    request_owner_service();
    return replaced;
}

void Wait::request_owner_service()
{
    add_ref(); // the queued command's reference
    if (!pool().run_on_owner(*this))
        release();
}

void Wait::cancel_pending()
{
    std::unique_lock guard(lock_);
    uint32_t discarded = pool().cancel_queued(*this);
    // The results left belong to invocations already claimed but not yet at take_result;
    // they take signalled results first, so keep those first.
    uint32_t pending = signalled_pending_ + timed_out_pending_;
    uint32_t kept = pending > discarded ? pending - discarded : 0;
    signalled_pending_ = signalled_pending_ < kept ? signalled_pending_ : kept;
    timed_out_pending_ = kept - signalled_pending_;
    uint32_t cleanups_owed = take_cleanups_owed_locked(); // their invocations may be gone
    guard.unlock();
    hand_cleanups_to_owner(cleanups_owed);
}

TP_WAIT_RESULT Wait::take_result(uint32_t &cleanups_owed)
{
    std::lock_guard guard(lock_);
    cleanups_owed = take_cleanups_owed_locked();
    if (signalled_pending_ > 0) {
        --signalled_pending_;
        return WAIT_OBJECT_0;
    }
    if (timed_out_pending_ > 0)
        --timed_out_pending_;
    return WAIT_TIMEOUT;
}

uint32_t Wait::take_cleanups_owed_locked()
{
    uint32_t owed = cleanups_owed_;
    cleanups_owed_ = 0;
    return owed;
}

void Wait::hand_cleanups_to_owner(uint32_t count)
{
    if (count == 0)
        return;
    // One link's reference becomes the queued command's: the owner cleans up the arming
    // (timeout entry, re-arming a registration) as after any trigger. The links of earlier
    // armings, which the owner has replaced since, only drop theirs.
    if (pool().run_on_owner(*this))
        --count;
    for (uint32_t i = 0; i < count; ++i)
        release();
}

void Wait::queue_result_locked(TP_WAIT_RESULT result)
{
    // Under lock_, together with marking the arming triggered: whoever sees it triggered
    // (a re-set, a cancel, a wait for callbacks) also sees its callback queued.
    ++(result == WAIT_OBJECT_0 ? signalled_pending_ : timed_out_pending_);
    pool().post_from_owner(*this);
}

void Wait::call(CallbackInstance &instance)
{
    // After a signaller's trigger the owner still has to clean up the arming. A wait that
    // re-arms itself needs that before its callback (the next signal may come during it);
    // any other asks after its callback, so that the owner's wake-up does not compete with
    // the callback's start.
    uint32_t cleanups_owed;
    TP_WAIT_RESULT result = take_result(cleanups_owed);
    if (renews_itself()) {
        hand_cleanups_to_owner(cleanups_owed);
        invoke(instance, result);
    } else {
        invoke(instance, result);
        hand_cleanups_to_owner(cleanups_owed);
    }
}

void Wait::invoke(CallbackInstance &instance, TP_WAIT_RESULT result)
{
    callback_(instance.handle(), context(), handle(), result);
}

void Wait::timer_expired()
{
    // On the owner, from the timer service; the next service pass reports the timeout.
    timeout_fired_ = true;
    request_owner_service();
}

void Wait::complete(int32_t res, uint32_t)
{
    op_res_ = res;
    op_done_ = true;
    request_owner_service();
    release(); // the op's reference
}

void Wait::run_on_owner(uring::Ring &ring)
{
    if (op_done_) {
        op_done_ = false;
        op_completed(op_res_);
    }
    apply_request(ring);
    if (take_signal_handover())
        after_trigger();
    if (timeout_fired_) {
        timeout_fired_ = false;
        trigger(WAIT_TIMEOUT);
    }
    if (active_ && op_ == Op::none)
        arm_op(ring);
    else if (!active_ && op_ != Op::none)
        cancel_op(ring);
    release(); // the queued command's reference
}

void Wait::apply_request(uring::Ring &ring)
{
    kobj::Ref<kobj::Waitable> next;
    WaitTimeout timeout;
    {
        std::lock_guard guard(lock_);
        if (request_seq_ == applied_seq_)
            return;
        applied_seq_ = request_seq_;
        signal_handed_over_ = false; // for the arming this pass ends
        if (!is_closed())
            next = requested_;
        timeout = requested_timeout_;
    }
    end_arming();
    timeout_fired_ = false;
    if (op_ != Op::none)
        cancel_op(ring); // its completion arrives later and is recognised as stale
    active_ = std::move(next);
    if (!active_)
        return;
    if (timeout.kind == WaitTimeout::Kind::immediate) {
        trigger(WAIT_TIMEOUT); // "time out now", before looking at the object
        return;
    }
    if (timeout.kind == WaitTimeout::Kind::deadline)
        pool().timers().schedule(timeout_entry_, timeout.clock, timeout.deadline_ns, 0, 0);
    if (active_->futex_word() && !watches_by_link()) {
        active_->add_waiter(); // signalers must wake our futex op from now on
        registered_waiter_ = true;
    }
}

void Wait::arm_op(uring::Ring &ring)
{
    switch (active_->type()) {
    case kobj::ObjectType::Pseudo:
        return; // never signalled: only the timeout can end this arming
    case kobj::ObjectType::Descriptor: {
        io_uring_sqe *sqe = ring.next_sqe();
        io_uring_prep_poll_add(sqe, active_->poll_fd(), POLLIN);
        sqe->user_data = op_user_data();
        op_ = Op::poll;
        break;
    }
    default: {
        if (!registered_waiter_) { // apply_request chose a link over a futex op
            // Link, then try: a signal before the link is in the word, one after it is
            // offered to this arming by the signaller.
            add_ref(); // the link's reference
            active_->watch(*this);
            op_ = Op::link;
            settle_if_acquirable();
            return;
        }
        // Snapshot, then try, then sleep on the snapshot: a signal after the snapshot
        // changes the word, so the futex op returns at once instead of missing it.
        uint32_t seen = active_->snapshot();
        if (settle_if_acquirable())
            return;
        io_uring_sqe *sqe = ring.next_sqe();
        uring::prep_futex_wait(sqe, reinterpret_cast<const uint32_t *>(active_->futex_word()), seen,
                               op_user_data());
        op_ = Op::futex;
        break;
    }
    }
    op_seq_ = applied_seq_;
    add_ref(); // the op's reference
}

bool Wait::settle_if_acquirable()
{
    {
        std::lock_guard guard(lock_);
        if (applied_seq_ != request_seq_ || !untriggered_)
            return true; // superseded or already reported: the next pass re-arms
        if (active_->try_acquire() == kobj::AcquireResult::NotSignaled)
            return false;
        untriggered_ = false;
        queue_result_locked(WAIT_OBJECT_0);
    }
    after_trigger();
    return true;
}

bool Wait::watches_by_link() const
{
    kobj::ObjectType type = active_->type();
    return pool().dispatch_mode() == TPURING_DISPATCH_DIRECT &&
           (type == kobj::ObjectType::Event || type == kobj::ObjectType::Semaphore);
}

kobj::SignalWatcher::Offer Wait::offer_signal(kobj::Waitable &object) noexcept
{
    std::lock_guard guard(lock_);
    if (applied_seq_ != request_seq_ || !untriggered_)
        return Offer::passed; // the owner unlinks it on its next pass
    if (object.try_acquire() == kobj::AcquireResult::NotSignaled)
        return Offer::unsignaled;
    ++signalled_pending_;
    // The worker's wake waits for deliver_signal(): woken now, it would find lock_ held.
    worker_owed_.store(pool().post_deferring_wake(*this), std::memory_order_relaxed);
    // A registration that repeats without a timeout stays armed as it is: nothing for
    // the owner to do.
    WaitTimeout fresh;
    if (requested_timeout_.kind == WaitTimeout::Kind::none && rearm_after_trigger(fresh) &&
        fresh.kind == WaitTimeout::Kind::none)
        return Offer::taken_kept;
    untriggered_ = false;
    signal_handed_over_ = true;
    ++cleanups_owed_; // the link's reference is in its custody until then
    return Offer::taken;
}

void Wait::deliver_signal() noexcept
{
    // Offers and deliveries to one wait are serialised by the watcher lock of the object
    // it is linked on, so no other thread touches worker_owed_ meanwhile.
    if (worker_owed_.exchange(false, std::memory_order_relaxed))
        pool().provide_worker_after_post();
    // The owner's clean-up is requested by the invocation (see call) or by a cancel: woken
    // now, the owner would compete with the worker for the cores.
}

bool Wait::take_signal_handover()
{
    std::lock_guard guard(lock_);
    bool handed_over = signal_handed_over_;
    signal_handed_over_ = false;
    return handed_over;
}

namespace {
class IgnoredCompletion final : public uring::Completion {
public:
    void complete(int32_t, uint32_t) override {}
};
IgnoredCompletion ignored_completion;
} // namespace

void Wait::cancel_op(uring::Ring &ring)
{
    if (op_cancel_sent_)
        return;
    io_uring_sqe *sqe = ring.next_sqe();
    io_uring_prep_cancel64(sqe, op_user_data(), 0);
    sqe->user_data = reinterpret_cast<uintptr_t>(static_cast<uring::Completion *>(&ignored_completion));
    op_cancel_sent_ = true;
}

void Wait::op_completed(int32_t res)
{
    Op finished = op_;
    op_ = Op::none;
    op_cancel_sent_ = false;
    if (op_seq_ != applied_seq_ || !active_)
        return; // an older arming's op
    // A futex op that returned (woken, or the word changed first) needs nothing here: the
    // owner's pass re-arms, trying to acquire first. A poll op reports readiness; a
    // descriptor in an error state counts as signalled, as poll(2) reports it.
    if (finished == Op::poll && res != -ECANCELED)
        trigger(WAIT_OBJECT_0);
}

void Wait::trigger(TP_WAIT_RESULT result)
{
    {
        std::lock_guard guard(lock_);
        if (applied_seq_ != request_seq_ || !untriggered_)
            return;
        untriggered_ = false;
        queue_result_locked(result);
    }
    after_trigger();
}

void Wait::after_trigger()
{
    end_arming();
    WaitTimeout fresh;
    if (!is_closed() && rearm_after_trigger(fresh)) {
        std::lock_guard guard(lock_);
        if (applied_seq_ == request_seq_) { // nobody re-set it meanwhile
            ++request_seq_;
            untriggered_ = true;
            requested_timeout_ = fresh;
        }
    }
    active_ = nullptr; // the pass cancels a still-pending op
    request_owner_service(); // apply a re-arm, if any, in a later pass
}

void Wait::end_arming()
{
    pool().timers().cancel(timeout_entry_);
    if (op_ == Op::link) {
        if (active_->unwatch(*this))
            release(); // the link's; a signaller that unlinked it handed it to the owner
        op_ = Op::none;
    }
    if (registered_waiter_) {
        active_->remove_waiter();
        registered_waiter_ = false;
    }
}

} // namespace tpuring::objects

using tpuring::objects::Wait;

extern "C" {

TPURING_API PTP_WAIT tpuring_CreateThreadpoolWait(PTP_WAIT_CALLBACK pfnwa, PVOID pv, PTP_CALLBACK_ENVIRON pcbe)
{
    if (!pfnwa)
        return tpuring::fail(ERROR_INVALID_PARAMETER, PTP_WAIT(nullptr));
    using namespace tpuring::objects;
    Wait *wait = create_object<Wait>(pcbe, NeedsTimer::yes, pfnwa, pv);
    return wait ? wait->handle() : nullptr;
}

TPURING_API void tpuring_SetThreadpoolWait(PTP_WAIT pwa, HANDLE h, PFILETIME pftTimeout)
{
    if (pwa)
        Wait::from(pwa)->set(h, pftTimeout);
}

TPURING_API BOOL tpuring_SetThreadpoolWaitEx(PTP_WAIT pwa, HANDLE h, PFILETIME pftTimeout, PVOID Reserved)
{
    if (!pwa || Reserved)
        return tpuring::fail(ERROR_INVALID_PARAMETER, FALSE);
    return Wait::from(pwa)->set(h, pftTimeout) ? TRUE : FALSE;
}

TPURING_API void tpuring_WaitForThreadpoolWaitCallbacks(PTP_WAIT pwa, BOOL fCancelPendingCallbacks)
{
    if (pwa)
        Wait::from(pwa)->wait_for_callbacks(fCancelPendingCallbacks != FALSE);
}

TPURING_API void tpuring_CloseThreadpoolWait(PTP_WAIT pwa)
{
    if (pwa)
        Wait::from(pwa)->close(); // disarms
}

} // extern "C"
