#include "objects/timer.h"

#include "base/last_error.h"
#include "objects/callback_instance.h"
#include "objects/create.h"
#include "pool/timer_service.h"

namespace tpuring::objects {

Timer::Timer(const ObjectSettings &settings, PTP_TIMER_CALLBACK callback, void *context)
    : CallbackObject(settings, context), callback_(callback)
{
    entry_.bind(*this);
}

Timer::~Timer() { pool().timers().unreserve_timer(); }

void Timer::call(CallbackInstance &instance) { callback_(instance.handle(), context(), handle()); }

bool Timer::schedule(pool::TimerClock clock, int64_t due_ns, DWORD period_ms, DWORD window_ms)
{
    mark_set(period_ms == 0);
    // Once scheduled, the timer may fire and its callback close it: touch nothing after.
    // A close racing with this (from the timer's own callback) wins: the service refuses.
    return pool().timers().schedule(entry_, clock, due_ns, period_ms, window_ms);
}

bool Timer::set(const FILETIME *due_time, DWORD period_ms, DWORD window_ms)
{
    if (!due_time) {
        kind_state_.fetch_and(static_cast<uint8_t>(~set_bit), std::memory_order_release);
        return pool().timers().cancel(entry_);
    }
    int64_t due = pool::filetime_value(*due_time);
    if (due == 0) {
        // Expires during the call; a period counts from now. The callback queued here may
        // close the timer before this returns: hold a reference meanwhile.
        add_ref();
        bool cancelled;
        if (period_ms == 0) {
            cancelled = pool().timers().cancel(entry_);
            mark_set(true);
        } else {
            int64_t next = pool::clock_now_ns(pool::TimerClock::monotonic) + int64_t(period_ms) * pool::ns_per_ms;
            cancelled = schedule(pool::TimerClock::monotonic, next, period_ms, window_ms);
        }
        post();
        release();
        return cancelled;
    }
    pool::TimerDeadline deadline = pool::deadline_from_filetime(due);
    return schedule(deadline.clock, deadline.ns, period_ms, window_ms);
}

bool Timer::set_relative_ms(DWORD due_ms, DWORD period_ms)
{
    // As a relative FILETIME, so that a zero due time queues its callback during the call.
    int64_t relative = -int64_t(due_ms) * 10'000;
    FILETIME due{static_cast<DWORD>(uint64_t(relative)), static_cast<DWORD>(uint64_t(relative) >> 32)};
    return set(&due, period_ms, 0);
}

bool Timer::is_scheduled() { return pool().timers().is_scheduled(entry_); }

void Timer::disarm() { pool().timers().cancel(entry_); }

} // namespace tpuring::objects

using tpuring::objects::Timer;

extern "C" {

TPURING_API PTP_TIMER tpuring_CreateThreadpoolTimer(PTP_TIMER_CALLBACK pfnti, PVOID pv, PTP_CALLBACK_ENVIRON pcbe)
{
    if (!pfnti)
        return tpuring::fail(ERROR_INVALID_PARAMETER, PTP_TIMER(nullptr));
    using namespace tpuring::objects;
    Timer *timer = create_object<Timer>(pcbe, NeedsTimer::yes, pfnti, pv);
    return timer ? timer->handle() : nullptr;
}

TPURING_API void tpuring_SetThreadpoolTimer(PTP_TIMER pti, PFILETIME pftDueTime, DWORD msPeriod, DWORD msWindowLength)
{
    if (pti)
        Timer::from(pti)->set(pftDueTime, msPeriod, msWindowLength);
}

TPURING_API BOOL tpuring_SetThreadpoolTimerEx(PTP_TIMER pti, PFILETIME pftDueTime, DWORD msPeriod, DWORD msWindowLength)
{
    if (!pti)
        return tpuring::fail(ERROR_INVALID_PARAMETER, FALSE);
    return Timer::from(pti)->set(pftDueTime, msPeriod, msWindowLength) ? TRUE : FALSE;
}

TPURING_API BOOL tpuring_IsThreadpoolTimerSet(PTP_TIMER pti) { return pti && Timer::from(pti)->is_set(); }

TPURING_API void tpuring_WaitForThreadpoolTimerCallbacks(PTP_TIMER pti, BOOL fCancelPendingCallbacks)
{
    if (pti)
        Timer::from(pti)->wait_for_callbacks(fCancelPendingCallbacks != FALSE);
}

TPURING_API void tpuring_CloseThreadpoolTimer(PTP_TIMER pti)
{
    if (pti)
        Timer::from(pti)->close(); // disarms
}

} // extern "C"
