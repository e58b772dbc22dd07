// <tpuring/win32.h> included alone, first, from C++: see meson.build for the modes.
#include <tpuring/win32.h>

#include "layout_checks.h"
#include "runtime_checks.h"

#include <type_traits>

// The same types as the SDK's, where C++ can tell.
static_assert(std::is_same<decltype(WaitForThreadpoolWorkCallbacks(nullptr, FALSE)), void>::value, "void");
static_assert(std::is_unsigned<DWORD>::value && std::is_signed<LONG>::value, "signedness");
static_assert(std::is_pointer<HANDLE>::value, "HANDLE is a pointer");
static_assert(std::is_standard_layout<TP_CALLBACK_ENVIRON>::value, "C layout");
static_assert(std::is_trivially_copyable<OVERLAPPED>::value, "C layout");

int main()
{
    int failures = tpu_runtime_checks();
    if (failures == 0)
        puts("OK");
    return failures == 0 ? 0 : 1;
}
