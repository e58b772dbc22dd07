/* Stand-in for <tpuring/win32.h> in the Windows build of the scenarios (mingw-w64, run under
 * Wine): there the real Win32 API provides every name the scenarios use. */
#ifndef BENCH_MINGW_TPURING_WIN32_H
#define BENCH_MINGW_TPURING_WIN32_H
#include <windows.h>
#endif
