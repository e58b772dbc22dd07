// Happens-before edges that ThreadSanitizer cannot see by itself: hand-offs through the
// kernel (an object pointer carried by an io_uring completion) and ring memory that
// liburing maps with raw system calls, reused by the next ring at the same address.
#pragma once

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define TPURING_HAPPENS_BEFORE(address) __tsan_release(const_cast<void *>(static_cast<const volatile void *>(address)))
#define TPURING_HAPPENS_AFTER(address) __tsan_acquire(const_cast<void *>(static_cast<const volatile void *>(address)))
#else
#define TPURING_HAPPENS_BEFORE(address) ((void)(address))
#define TPURING_HAPPENS_AFTER(address) ((void)(address))
#endif
