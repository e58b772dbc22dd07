/* tpuring-check: says whether libtpuring can run on this machine, and if not, why. */
#include <stdio.h>
#include <sys/utsname.h>

#include <tpuring/tpuring.h>

static void print_sysctl(const char *path)
{
    FILE *file = fopen(path, "r");
    int value;
    if (!file) {
        printf("  %s: not present\n", path);
        return;
    }
    if (fscanf(file, "%d", &value) == 1)
        printf("  %s = %d%s\n", path, value,
               value == 0 ? " (io_uring allowed)" : value == 1 ? " (io_uring only for a privileged group)" : " (io_uring disabled)");
    fclose(file);
}

int main(void)
{
    struct utsname uts;
    if (uname(&uts) == 0)
        printf("kernel: %s %s\n", uts.sysname, uts.release);
    print_sysctl("/proc/sys/kernel/io_uring_disabled");

    const char *reason = tpuring_unsupported_reason();
    if (reason) {
        printf("libtpuring cannot run here: %s.\n", reason);
        return 1;
    }
    PTP_POOL pool = CreateThreadpool(NULL);
    if (!pool) {
        printf("io_uring probes passed, but creating a pool failed (error %u).\n", (unsigned)GetLastError());
        return 1;
    }
    CloseThreadpool(pool);
    printf("libtpuring can run here: io_uring with futex operations is available.\n");
    return 0;
}
