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
    bool is_set() const { return kind_state_.load(std::memory_order_acquire) & set_bit; }
    // Whether an expiry is scheduled (a fired one-shot timer is set but not scheduled).
    bool is_scheduled();
    bool is_one_shot() const { return kind_state_.load(std::memory_order_acquire) & one_shot_bit; }
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
    // In the base's kind_state_.
    static constexpr uint8_t set_bit = 1;
    static constexpr uint8_t one_shot_bit = 2;
    void mark_set(bool one_shot) { kind_state_.store(set_bit | (one_shot ? one_shot_bit : 0), std::memory_order_release); }
};

} // namespace tpuring::objects
