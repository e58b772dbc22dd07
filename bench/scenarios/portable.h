/* The few things the scenarios need that the Win32 thread-pool API does not give: a
 * nanosecond monotonic clock, the process's thread count, resident memory, sleeping for
 * microseconds and starting a plain thread. One implementation for Linux, one for Windows
 * (built with mingw-w64 and run under Wine), so the scenario sources stay identical. The
 * C++ peers include it too, so it stays valid C++. */
#ifndef BENCH_PORTABLE_H
#define BENCH_PORTABLE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef unsigned long (*portable_thread_fn)(void *arg);

#ifdef _WIN32

#include <windows.h>
#include <tlhelp32.h>
#include <psapi.h>

static inline uint64_t portable_now_ns(void)
{
    static LARGE_INTEGER frequency;
    LARGE_INTEGER count;
    if (frequency.QuadPart == 0)
        QueryPerformanceFrequency(&frequency);
    QueryPerformanceCounter(&count);
    /* Split to keep the multiplication inside 64 bits. */
    uint64_t whole = (uint64_t)(count.QuadPart / frequency.QuadPart);
    uint64_t part = (uint64_t)(count.QuadPart % frequency.QuadPart);
    return whole * 1000000000ull + part * 1000000000ull / (uint64_t)frequency.QuadPart;
}

static inline int portable_thread_count(void)
{
    HANDLE snapshot = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
    if (snapshot == INVALID_HANDLE_VALUE)
        return -1;
    THREADENTRY32 entry;
    entry.dwSize = sizeof entry;
    DWORD self = GetCurrentProcessId();
    int count = 0;
    for (BOOL more = Thread32First(snapshot, &entry); more; more = Thread32Next(snapshot, &entry))
        if (entry.th32OwnerProcessID == self)
            count++;
    CloseHandle(snapshot);
    return count;
}

static inline uint64_t portable_rss_bytes(void)
{
    PROCESS_MEMORY_COUNTERS counters;
    if (!GetProcessMemoryInfo(GetCurrentProcess(), &counters, sizeof counters))
        return 0;
    return counters.WorkingSetSize;
}

/* Sleep(1) is a millisecond at best; NtDelayExecution takes 100 ns units, which Wine
 * honours with microsecond precision. */
static inline void portable_sleep_us(unsigned us)
{
    typedef LONG(NTAPI * delay_fn)(BOOLEAN, PLARGE_INTEGER);
    static delay_fn delay;
    if (!delay)
        delay = (delay_fn)(void (*)(void))GetProcAddress(GetModuleHandleA("ntdll.dll"), "NtDelayExecution");
    if (!delay) {
        Sleep(us < 1000 ? 1 : us / 1000);
        return;
    }
    LARGE_INTEGER interval;
    interval.QuadPart = -(LONGLONG)us * 10;
    delay(FALSE, &interval);
}

typedef HANDLE portable_thread;

static inline int portable_thread_start(portable_thread *thread, portable_thread_fn fn, void *arg)
{
    *thread = CreateThread(NULL, 0, (LPTHREAD_START_ROUTINE)(void (*)(void))fn, arg, 0, NULL);
    return *thread ? 0 : -1;
}

static inline void portable_thread_join(portable_thread thread)
{
    WaitForSingleObject(thread, INFINITE);
    CloseHandle(thread);
}

#else /* Linux */

#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t portable_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

/* The "Threads:" line of /proc/self/status. */
static inline int portable_thread_count(void)
{
    FILE *status = fopen("/proc/self/status", "r");
    if (!status)
        return -1;
    char line[256];
    int count = -1;
    while (fgets(line, sizeof line, status))
        if (strncmp(line, "Threads:", 8) == 0) {
            count = atoi(line + 8);
            break;
        }
    fclose(status);
    return count;
}

/* Second field of /proc/self/statm: resident pages. */
static inline uint64_t portable_rss_bytes(void)
{
    FILE *statm = fopen("/proc/self/statm", "r");
    if (!statm)
        return 0;
    unsigned long long size_pages = 0, resident_pages = 0;
    int fields = fscanf(statm, "%llu %llu", &size_pages, &resident_pages);
    fclose(statm);
    return fields == 2 ? resident_pages * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

static inline void portable_sleep_us(unsigned us)
{
    struct timespec interval;
    interval.tv_sec = (time_t)(us / 1000000u);
    interval.tv_nsec = (long)(us % 1000000u) * 1000L;
    while (nanosleep(&interval, &interval) != 0)
        ;
}

typedef pthread_t portable_thread;

struct portable_thread_trampoline {
    portable_thread_fn fn;
    void *arg;
};

static inline void *portable_thread_entry(void *raw)
{
    struct portable_thread_trampoline start = *(struct portable_thread_trampoline *)raw;
    free(raw);
    start.fn(start.arg);
    return NULL;
}

static inline int portable_thread_start(portable_thread *thread, portable_thread_fn fn, void *arg)
{
    struct portable_thread_trampoline *start = (struct portable_thread_trampoline *)malloc(sizeof *start);
    if (!start)
        return -1;
    start->fn = fn;
    start->arg = arg;
    if (pthread_create(thread, NULL, portable_thread_entry, start) != 0) {
        free(start);
        return -1;
    }
    return 0;
}

static inline void portable_thread_join(portable_thread thread) { pthread_join(thread, NULL); }

#endif

#endif /* BENCH_PORTABLE_H */
