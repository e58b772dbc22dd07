// One invocation of a callback (behind PTP_CALLBACK_INSTANCE): its association with the
// object, its may-run-long mark and the return actions recorded for it.
#pragma once

#include <tpuring/win32.h>

namespace tpuring::pool {
struct Worker;
}

namespace tpuring::objects {

class CallbackObject;

struct CallbackInstance {
    CallbackInstance(CallbackObject &object, pool::Worker &worker) : object(object), worker(worker) {}

    CallbackObject &object;
    pool::Worker &worker;
    bool associated = true;

    // Return actions; the first value recorded for a kind wins.
    PCRITICAL_SECTION leave_critical_section = nullptr;
    HANDLE release_mutex = nullptr;
    HANDLE release_semaphore = nullptr;
    DWORD semaphore_release_count = 0;
    HANDLE set_event = nullptr;
    HMODULE free_library = nullptr;

    PTP_CALLBACK_INSTANCE handle() { return reinterpret_cast<PTP_CALLBACK_INSTANCE>(this); }

    // Performs the recorded actions in order; a failed one skips those after it.
    void run_return_actions();
};

// The invocation running on the calling thread, if any.
CallbackInstance *current_instance() noexcept;
void set_current_instance(CallbackInstance *instance) noexcept;

// The instance behind a handle, provided it is the calling thread's current one; other
// values (stale, foreign or garbage) give nullptr and are never dereferenced.
CallbackInstance *instance_from_handle(PTP_CALLBACK_INSTANCE handle) noexcept;

} // namespace tpuring::objects
