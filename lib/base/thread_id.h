// The calling thread's id as Win32 reports it (the Linux thread id), cached per thread.
#pragma once

#include <tpuring/win32/types.h>

namespace tpuring {

// gettid() of the calling thread; cached, and refreshed in a forked child.
DWORD current_thread_id() noexcept;

} // namespace tpuring
