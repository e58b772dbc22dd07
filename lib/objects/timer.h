// Timer objects (behind PTP_TIMER): a schedule in the pool's timer service; each expiry
// queues one callback.
#pragma once

#include <atomic>

#include "objects/callback_object.h"
#include "pool/timer_heap.h"

namespace tpuring::objects {

class Timer : public CallbackObject {
public:
    // A timer that is not set; create with create_object(…, NeedsTimer::yes, …).
    Timer(const ObjectSettings &settings, PTP_TIMER_CALLBACK callback, void *context);

    // SetThreadpoolTimerEx: replaces the schedule (nullptr due time: disarm). Returns
    // whether a scheduled expiry that had not fired yet was cancelled.
    bool set(const FILETIME *due_time, DWORD period_ms, DWORD window_ms);
    // Schedules the next expiry `due_ms` from now on the monotonic clock.
    bool set_relative_ms(DWORD due_ms, DWORD period_ms);
    bool is_set() const { return set_.load(std::memory_order_acquire); }
    // Whether an expiry is scheduled (a fired one-shot timer is set but not scheduled).
    bool is_scheduled();
    bool is_one_shot() const { return one_shot_.load(std::memory_order_acquire); }
    void disarm();

    void stop_sources() override { disarm(); }

    PTP_TIMER handle() { return reinterpret_cast<PTP_TIMER>(this); }
    static Timer *from(PTP_TIMER handle) { return reinterpret_cast<Timer *>(handle); }

protected:
    ~Timer() override;
    void call(CallbackInstance &instance) override;
    void on_closed() override { disarm(); }
    bool accepts_timer_schedule() const override { return !is_closed(); }

private:
    bool schedule(pool::TimerClock clock, int64_t due_ns, DWORD period_ms, DWORD window_ms);

    const PTP_TIMER_CALLBACK callback_;
    pool::TimerEntry entry_;
    std::atomic<bool> set_{false};
    std::atomic<bool> one_shot_{true};
};

} // namespace tpuring::objects
