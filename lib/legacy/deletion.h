// What DeleteTimerQueueTimer and UnregisterWaitEx share: a completion event signalled when
// the object's last callback is done, and the three CompletionEvent modes of deleting.
#pragma once

#include <tpuring/win32.h>

#include "base/last_error.h"

namespace tpuring::legacy {

// Held by an original-API object; signals the event (if any) when the object is freed,
// that is, after its last callback finished.
class CompletionSignal {
public:
    CompletionSignal() = default;
    CompletionSignal(const CompletionSignal &) = delete;
    CompletionSignal &operator=(const CompletionSignal &) = delete;
    ~CompletionSignal() { signal(event_); }

    void arm(HANDLE event) { event_ = event; }

    // Sets an event on behalf of the library without touching the caller's last error.
    static void signal(HANDLE event)
    {
        if (!event || event == INVALID_HANDLE_VALUE)
            return;
        DWORD saved = last_error();
        tpuring_SetEvent(event);
        set_last_error(saved);
    }

private:
    HANDLE event_ = nullptr;
};

// Closes an object whose handle was just unregistered (the caller holds a reference), then
// per `completion_event`: INVALID_HANDLE_VALUE waits for its callbacks; an event is
// signalled when they are done; NULL returns at once. FALSE with ERROR_IO_PENDING tells
// that callbacks were still queued or running (not a failure).
template <typename Object>
BOOL finish_deletion(Object &object, HANDLE completion_event)
{
    object.close(); // no further callbacks are produced
    if (completion_event == INVALID_HANDLE_VALUE) {
        object.wait_until_idle();
        return TRUE;
    }
    bool outstanding = object.queued() != 0 || object.running() != 0;
    if (completion_event)
        object.completion_signal().arm(completion_event);
    return outstanding ? fail(ERROR_IO_PENDING, FALSE) : TRUE;
}

} // namespace tpuring::legacy
