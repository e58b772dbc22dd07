/* libtpuring — the Windows thread-pool API and the kernel objects used with it, on Linux.
 *
 * Include this header alone from C (C11) or C++ (17 and later). Every function is exported
 * as tpuring_<Win32 name>; the Win32 names are inline wrappers over those symbols (define
 * TPURING_NO_WIN32_NAMES before including to get only the prefixed names). */
#ifndef TPURING_WIN32_H
#define TPURING_WIN32_H

#include <tpuring/win32/types.h>
#include <tpuring/win32/process.h>
#include <tpuring/win32/sync.h>
#include <tpuring/win32/threadpool.h>

#endif /* TPURING_WIN32_H */
