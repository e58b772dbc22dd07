/* <tpuring/win32.h> included alone, first, from C: see meson.build for the modes. */
#include <tpuring/win32.h>

#include "layout_checks.h"
#include "runtime_checks.h"

int main(void)
{
    int failures = tpu_runtime_checks();
    if (failures == 0)
        puts("OK");
    return failures == 0 ? 0 : 1;
}
