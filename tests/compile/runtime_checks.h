/* The run-time half of the compile tests: the header inlines do what the SDK's do, the
 * nameless unions are usable as Win32 code uses them, and the program links libtpuring
 * (the last-error value lives in the library). Returns the number of failed checks. */
#ifndef TPURING_TESTS_RUNTIME_CHECKS_H
#define TPURING_TESTS_RUNTIME_CHECKS_H

#include <stdio.h>

#define TPU_EXPECT(cond)                                                             \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            ++failures;                                                              \
        }                                                                            \
    } while (0)

static int tpu_runtime_checks(void)
{
    int failures = 0;
    TP_CALLBACK_ENVIRON env;
    OVERLAPPED ov;
    LARGE_INTEGER li;

    InitializeThreadpoolEnvironment(&env);
    TPU_EXPECT(env.Version == 3);
    TPU_EXPECT(env.Pool == NULL);
    TPU_EXPECT(env.CleanupGroup == NULL);
    TPU_EXPECT(env.u.Flags == 0);
    TPU_EXPECT(env.CallbackPriority == TP_CALLBACK_PRIORITY_NORMAL);
    TPU_EXPECT(env.Size == sizeof(TP_CALLBACK_ENVIRON));
    SetThreadpoolCallbackRunsLong(&env);
    TPU_EXPECT(env.u.Flags == 1);
    SetThreadpoolCallbackPersistent(&env);
    TPU_EXPECT(env.u.Flags == 3);
    SetThreadpoolCallbackPriority(&env, TP_CALLBACK_PRIORITY_LOW);
    TPU_EXPECT(env.CallbackPriority == TP_CALLBACK_PRIORITY_LOW);
    DestroyThreadpoolEnvironment(&env);

    TPU_EXPECT(INVALID_HANDLE_VALUE == (HANDLE)(LONG_PTR)-1);

    li.QuadPart = 0x0000000100000002LL;
    TPU_EXPECT(li.u.LowPart == 2 && li.u.HighPart == 1);
#ifndef NONAMELESSUNION
    TPU_EXPECT(li.LowPart == 2 && li.HighPart == 1);
    ov.Internal = 0;
    ov.InternalHigh = 0;
    ov.Offset = 1;
    ov.OffsetHigh = 2;
    ov.hEvent = NULL;
    TPU_EXPECT(ov.Offset == 1 && ov.OffsetHigh == 2 && ov.hEvent == NULL);
#else
    (void)ov;
#endif

#ifdef TPURING_NO_WIN32_NAMES
    tpuring_SetLastError(ERROR_IO_PENDING);
    TPU_EXPECT(tpuring_GetLastError() == ERROR_IO_PENDING);
#else
    SetLastError(ERROR_IO_PENDING);
    TPU_EXPECT(GetLastError() == ERROR_IO_PENDING);
    SetLastError(ERROR_SUCCESS);
    TPU_EXPECT(GetLastError() == ERROR_SUCCESS);
#endif
    return failures;
}

#endif /* TPURING_TESTS_RUNTIME_CHECKS_H */
