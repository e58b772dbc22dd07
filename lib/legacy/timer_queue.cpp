// Timer queues (CreateTimerQueue …): thread-pool timers of the default pool, grouped so
// that a queue can be deleted at once. No timer thread: WT_EXECUTEINTIMERTHREAD callbacks
// run on a worker like the others.
#include <atomic>
#include <mutex>
#include <new>

#include "base/futex.h"
#include "base/last_error.h"
#include "legacy/handle_registry.h"
#include "legacy/deletion.h"
#include "legacy/environment.h"
#include "objects/create.h"
#include "objects/timer.h"

namespace tpuring::legacy {
namespace {

class QueueTimer;

class TimerQueue {
public:
    static TimerQueue *default_queue()
    {
        static TimerQueue *queue = new (std::nothrow) TimerQueue(); // never deleted
        return queue;
    }

    void add_ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
    // A registered queue holds the application's reference, so this always succeeds.
    bool try_add_ref()
    {
        add_ref();
        return true;
    }
    void release()
    {
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
            delete this;
    }

    // Adds a live timer; false if the queue is being deleted.
    bool add(QueueTimer &timer);
    // The timer's last callback is done and it is freed.
    void timer_gone(QueueTimer &timer);
    // DeleteTimerQueueEx: disarm and release every timer; then wait, or signal `event`.
    void delete_all(HANDLE completion_event);

    HANDLE handle() { return static_cast<HANDLE>(this); }

private:
    std::atomic<uint32_t> refs_{1};
    std::mutex lock_;
    QueueTimer *head_ = nullptr;
    bool deleted_ = false;
    HANDLE completion_event_ = nullptr;
    std::atomic<uint32_t> live_{0}; // timers not yet freed; a futex word for blocking deletes
};

class QueueTimer final : public objects::Timer {
public:
    QueueTimer(const objects::ObjectSettings &settings, TimerQueue &queue, WAITORTIMERCALLBACK callback,
               void *parameter, ULONG flags)
        : Timer(settings, nullptr, parameter), queue_(queue), callback_(callback),
          once_only_((flags & WT_EXECUTEONLYONCE) != 0)
    {
    }

    bool once_only() const { return once_only_; }
    CompletionSignal &completion_signal() { return completion_; }
    HANDLE handle() { return static_cast<HANDLE>(this); }

    QueueTimer *queue_next = nullptr; // guarded by the queue's lock
    QueueTimer *queue_prev = nullptr;

private:
    ~QueueTimer() override { queue_.timer_gone(*this); }

    void call(objects::CallbackInstance &) override { callback_(context(), TRUE); }

    TimerQueue &queue_;
    const WAITORTIMERCALLBACK callback_;
    const bool once_only_;
    CompletionSignal completion_; // signalled after the destructor's body, as members go
};

bool TimerQueue::add(QueueTimer &timer)
{
    std::lock_guard guard(lock_);
    if (deleted_)
        return false;
    timer.queue_prev = nullptr;
    timer.queue_next = head_;
    if (head_)
        head_->queue_prev = &timer;
    head_ = &timer;
    live_.fetch_add(1);
    add_ref();
    return true;
}

void TimerQueue::timer_gone(QueueTimer &timer)
{
    HANDLE to_signal = nullptr;
    {
        std::lock_guard guard(lock_);
        if (timer.queue_prev || head_ == &timer) {
            (timer.queue_prev ? timer.queue_prev->queue_next : head_) = timer.queue_next;
            if (timer.queue_next)
                timer.queue_next->queue_prev = timer.queue_prev;
        }
        if (live_.fetch_sub(1) == 1 && deleted_)
            to_signal = completion_event_;
    }
    futex_wake_all(&live_);
    CompletionSignal::signal(to_signal);
    release();
}

void TimerQueue::delete_all(HANDLE completion_event)
{
    QueueTimer *taken = nullptr;
    bool signal_now;
    {
        std::lock_guard guard(lock_);
        deleted_ = true;
        completion_event_ = completion_event;
        // Take a reference on each timer still open; the others are already deleted and go
        // by themselves.
        for (QueueTimer *timer = head_; timer; timer = timer->queue_next) {
            if (unregister_handle(timer->handle(), HandleKind::queue_timer) && timer->try_add_ref()) {
                timer->queue_prev = taken; // reuse as a private list link while we hold refs
                taken = timer;
            }
        }
        signal_now = live_.load() == 0;
    }
    while (taken) {
        QueueTimer *next = taken->queue_prev;
        taken->close(); // disarms
        taken->release();
        taken = next;
    }
    if (completion_event == INVALID_HANDLE_VALUE) {
        for (uint32_t live; (live = live_.load()) != 0;)
            futex_wait(&live_, live);
    } else if (signal_now) {
        CompletionSignal::signal(completion_event);
    }
}

} // namespace
} // namespace tpuring::legacy

using namespace tpuring::legacy;
using tpuring::fail;

namespace {

// A live queue with a reference taken, or nullptr (the default queue for NULL).
TimerQueue *acquire_queue(HANDLE handle)
{
    if (!handle) {
        TimerQueue *queue = TimerQueue::default_queue();
        if (queue)
            queue->add_ref();
        return queue;
    }
    return acquire_handle<TimerQueue>(handle, HandleKind::timer_queue);
}

} // namespace

extern "C" {

TPURING_API HANDLE tpuring_CreateTimerQueue(void)
{
    auto *queue = new (std::nothrow) TimerQueue();
    if (!queue)
        return fail(ERROR_NOT_ENOUGH_MEMORY, HANDLE(nullptr));
    register_handle(queue->handle(), HandleKind::timer_queue);
    return queue->handle();
}

TPURING_API BOOL tpuring_CreateTimerQueueTimer(PHANDLE phNewTimer, HANDLE TimerQueue, WAITORTIMERCALLBACK Callback,
                                              PVOID Parameter, DWORD DueTime, DWORD Period, ULONG Flags)
{
    if (!phNewTimer || !Callback)
        return fail(ERROR_INVALID_PARAMETER, FALSE);
    class TimerQueue *queue = acquire_queue(TimerQueue);
    if (!queue)
        return fail(ERROR_INVALID_HANDLE, FALSE);
    TP_CALLBACK_ENVIRON environment = environment_for_flags(Flags);
    auto *timer = tpuring::objects::create_object<QueueTimer>(&environment, tpuring::objects::NeedsTimer::yes, *queue,
                                                              Callback, Parameter, Flags);
    if (!timer) {
        queue->release();
        return FALSE;
    }
    if (!queue->add(*timer)) { // deleted meanwhile
        timer->close();
        queue->release();
        return fail(ERROR_INVALID_HANDLE, FALSE);
    }
    queue->release();
    timer->add_ref(); // once published, a callback may delete it while we arm it
    register_handle(timer->handle(), HandleKind::queue_timer);
    *phNewTimer = timer->handle(); // before it can fire
    if (DueTime != INFINITE)
        timer->set_relative_ms(DueTime, timer->once_only() ? 0 : Period);
    timer->release();
    return TRUE;
}

TPURING_API BOOL tpuring_ChangeTimerQueueTimer(HANDLE, HANDLE Timer, ULONG DueTime, ULONG Period)
{
    QueueTimer *timer = acquire_handle<QueueTimer>(Timer, HandleKind::queue_timer);
    if (!timer)
        return fail(ERROR_INVALID_HANDLE, FALSE);
    // A one-shot timer that already fired stays spent.
    bool spent = timer->is_one_shot() && timer->is_set() && !timer->is_scheduled();
    if (!spent) {
        if (DueTime == INFINITE)
            timer->disarm();
        else
            timer->set_relative_ms(DueTime, timer->once_only() ? 0 : Period);
    }
    timer->release();
    return TRUE;
}

TPURING_API BOOL tpuring_DeleteTimerQueueTimer(HANDLE, HANDLE Timer, HANDLE CompletionEvent)
{
    if (!Timer)
        return fail(ERROR_INVALID_PARAMETER, FALSE);
    QueueTimer *timer = acquire_handle<QueueTimer>(Timer, HandleKind::queue_timer);
    if (!timer || !unregister_handle(Timer, HandleKind::queue_timer)) {
        if (timer)
            timer->release();
        return fail(ERROR_INVALID_HANDLE, FALSE);
    }
    BOOL result = finish_deletion(*timer, CompletionEvent);
    timer->release();
    return result;
}

TPURING_API BOOL tpuring_DeleteTimerQueueEx(HANDLE TimerQueue, HANDLE CompletionEvent)
{
    if (!TimerQueue || !unregister_handle(TimerQueue, HandleKind::timer_queue))
        return fail(ERROR_INVALID_HANDLE, FALSE);
    auto *queue = static_cast<class TimerQueue *>(TimerQueue);
    queue->delete_all(CompletionEvent);
    queue->release();
    return TRUE;
}

TPURING_API BOOL tpuring_DeleteTimerQueue(HANDLE TimerQueue) { return tpuring_DeleteTimerQueueEx(TimerQueue, nullptr); }

} // extern "C"
