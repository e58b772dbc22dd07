/* Where io_uring is forbidden (here by a seccomp filter, as a container policy would),
 * pool creation must fail with ERROR_NOT_SUPPORTED and the diagnostic must say why. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <tpuring/tpuring.h>

static int forbid_io_uring_setup(void)
{
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog program = {sizeof(filter) / sizeof(filter[0]), filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program);
}

static int failures;
#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            ++failures;                                                      \
        }                                                                    \
    } while (0)

static void CALLBACK never(PTP_CALLBACK_INSTANCE instance, PVOID context, PTP_WORK work)
{
    (void)instance;
    (void)context;
    (void)work;
}

static void CALLBACK never_simple(PTP_CALLBACK_INSTANCE instance, PVOID context)
{
    (void)instance;
    (void)context;
}

int main(void)
{
    if (forbid_io_uring_setup() != 0) {
        perror("seccomp");
        return 1;
    }
    const char *reason = tpuring_unsupported_reason();
    CHECK(reason != NULL);
    if (reason)
        CHECK(strstr(reason, "io_uring") != NULL);

    SetLastError(0);
    CHECK(CreateThreadpool(NULL) == NULL);
    CHECK(GetLastError() == ERROR_NOT_SUPPORTED);

    /* Objects on the default pool fail the same way, and say so. */
    SetLastError(0);
    CHECK(CreateThreadpoolWork(never, NULL, NULL) == NULL);
    CHECK(GetLastError() == ERROR_NOT_SUPPORTED);
    SetLastError(0);
    CHECK(!TrySubmitThreadpoolCallback(never_simple, NULL, NULL));
    CHECK(GetLastError() == ERROR_NOT_SUPPORTED);

    /* Kernel objects do not need io_uring. */
    HANDLE event = CreateEventW(NULL, TRUE, TRUE, NULL);
    CHECK(event != NULL);
    CHECK(WaitForSingleObject(event, 0) == WAIT_OBJECT_0);
    CHECK(CloseHandle(event));

    return failures ? 1 : 0;
}
