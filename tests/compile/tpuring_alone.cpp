// <tpuring/tpuring.h> (the native extensions) included alone, first, from C++.
#include <tpuring/tpuring.h>

#include <cstdio>

int main()
{
    const char *why = tpuring_unsupported_reason();
    std::printf("io_uring: %s\n", why ? why : "usable");
    SetLastError(ERROR_SUCCESS);
    if (tpuring_handle_to_fd(nullptr) != -1 || GetLastError() != ERROR_INVALID_HANDLE) {
        std::fprintf(stderr, "tpuring_handle_to_fd(nullptr) should fail with ERROR_INVALID_HANDLE\n");
        return 1;
    }
    std::puts("OK");
    return 0;
}
