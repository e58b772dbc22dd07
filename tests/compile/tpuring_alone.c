/* <tpuring/tpuring.h> (the native extensions) included alone, first, from C. */
#include <tpuring/tpuring.h>

#include <stdio.h>

int main(void)
{
    int failures = 0;
    tpuring_pool_stats stats;
    const char *why = tpuring_unsupported_reason();

    (void)stats;
    printf("io_uring: %s\n", why ? why : "usable");
    /* Documented in tpuring.h: any handle that does not wrap a descriptor gives -1 and
     * ERROR_INVALID_HANDLE. */
    SetLastError(ERROR_SUCCESS);
    if (tpuring_handle_to_fd(NULL) != -1 || GetLastError() != ERROR_INVALID_HANDLE) {
        fprintf(stderr, "tpuring_handle_to_fd(NULL) should fail with ERROR_INVALID_HANDLE\n");
        failures++;
    }
    if (failures == 0)
        puts("OK");
    return failures == 0 ? 0 : 1;
}
