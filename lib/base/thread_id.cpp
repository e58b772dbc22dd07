#include "base/thread_id.h"

#include <pthread.h>
#include <unistd.h>

#include <tpuring/win32.h>

namespace tpuring {

namespace {

// 0 means "not looked up yet": no Linux thread has id 0.
thread_local DWORD cached_thread_id = 0;

// The thread that calls fork() is the only thread of the child, with a new id.
void forget_thread_id_in_child() { cached_thread_id = 0; }

[[maybe_unused]] const int fork_hook_registered = pthread_atfork(nullptr, nullptr, forget_thread_id_in_child);

} // namespace

DWORD current_thread_id() noexcept
{
    DWORD id = cached_thread_id;
    if (id == 0) {
        id = static_cast<DWORD>(gettid());
        cached_thread_id = id;
    }
    return id;
}

} // namespace tpuring

extern "C" {
TPURING_API DWORD tpuring_GetCurrentThreadId(void) { return tpuring::current_thread_id(); }
TPURING_API DWORD tpuring_GetCurrentProcessId(void) { return static_cast<DWORD>(getpid()); }
}
