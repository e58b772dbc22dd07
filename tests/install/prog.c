/* A user's program: built against an installed libtpuring with exactly
 *     cc prog.c $(pkg-config --cflags --libs tpuring)
 * by check-install.sh. Uses only Win32 names from <tpuring/win32.h>. */
#include <tpuring/win32.h>

#include <stdio.h>

static volatile LONG counter;

static VOID CALLBACK count_cb(PTP_CALLBACK_INSTANCE instance, PVOID context, PTP_WORK work)
{
    (void)instance;
    (void)context;
    (void)work;
    InterlockedIncrement(&counter);
}

static VOID CALLBACK signal_cb(PTP_CALLBACK_INSTANCE instance, PVOID context)
{
    (void)instance;
    SetEvent((HANDLE)context);
}

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "prog: %s failed (last error %u)\n", #cond,                 \
                    (unsigned)GetLastError());                                          \
            return 1;                                                                   \
        }                                                                               \
    } while (0)

int main(void)
{
    TP_CALLBACK_ENVIRON env;
    PTP_POOL pool;
    PTP_WORK work;
    HANDLE done;
    int i;

    done = CreateEventW(NULL, FALSE, FALSE, NULL); /* auto-reset, not signaled */
    CHECK(done != NULL);
    pool = CreateThreadpool(NULL);
    CHECK(pool != NULL);
    SetThreadpoolThreadMaximum(pool, 2);
    CHECK(SetThreadpoolThreadMinimum(pool, 1));

    InitializeThreadpoolEnvironment(&env);
    SetThreadpoolCallbackPool(&env, pool);

    work = CreateThreadpoolWork(count_cb, NULL, &env);
    CHECK(work != NULL);
    for (i = 0; i < 10; i++)
        SubmitThreadpoolWork(work);
    WaitForThreadpoolWorkCallbacks(work, FALSE);
    CHECK(counter == 10);

    CHECK(TrySubmitThreadpoolCallback(signal_cb, done, &env));
    CHECK(WaitForSingleObject(done, 10000) == WAIT_OBJECT_0);

    CloseThreadpoolWork(work);
    DestroyThreadpoolEnvironment(&env);
    CloseThreadpool(pool);
    CHECK(CloseHandle(done));
    puts("OK");
    return 0;
}
