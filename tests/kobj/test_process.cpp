// Process basics: last error, Sleep, tick counts, the performance counter, system time,
// thread and process ids, pseudo-handles, interlocked operations and libraries.
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cmath>
#include <ctime>
#include <vector>

#include "base/library.h"
#include "kobj_test_support.h"

using namespace kobj_test;

TEST(LastError, IsPerThread)
{
    SetLastError(1234);
    std::thread([] {
        EXPECT_EQ(GetLastError(), 0u);
        SetLastError(99);
        EXPECT_EQ(GetLastError(), 99u);
    }).join();
    EXPECT_EQ(GetLastError(), 1234u);
}

TEST(Time, SleepWaitsAtLeastTheGivenTime)
{
    auto start = std::chrono::steady_clock::now();
    Sleep(50);
    EXPECT_GE(elapsed_ms(start), 49);
    Sleep(0); // yields and returns
}

TEST(Time, TickCountsAdvanceMonotonically)
{
    ULONGLONG first = GetTickCount64();
    DWORD first32 = GetTickCount();
    EXPECT_LE(first32 - static_cast<DWORD>(first), 1000u); // the same clock, truncated
    Sleep(30);
    ULONGLONG second = GetTickCount64();
    EXPECT_GE(second, first + 29);
    EXPECT_LT(second, first + 60000);
    ULONGLONG previous = second;
    for (int i = 0; i < 1000; ++i) {
        ULONGLONG now = GetTickCount64();
        EXPECT_GE(now, previous);
        previous = now;
    }
}

TEST(Time, PerformanceCounterRunsAtTenMegahertz)
{
    LARGE_INTEGER frequency, before, after;
    ASSERT_TRUE(QueryPerformanceFrequency(&frequency));
    EXPECT_EQ(frequency.QuadPart, 10000000);
    ASSERT_TRUE(QueryPerformanceCounter(&before));
    Sleep(30);
    ASSERT_TRUE(QueryPerformanceCounter(&after));
    LONGLONG elapsed_ms = (after.QuadPart - before.QuadPart) * 1000 / frequency.QuadPart;
    EXPECT_GE(elapsed_ms, 29);
    EXPECT_LT(elapsed_ms, 60000);
    // Agrees with CLOCK_MONOTONIC.
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    LONGLONG monotonic_ticks = static_cast<LONGLONG>(now.tv_sec) * 10000000 + now.tv_nsec / 100;
    ASSERT_TRUE(QueryPerformanceCounter(&after));
    EXPECT_LT(std::llabs(after.QuadPart - monotonic_ticks), 10000000LL);
}

TEST(Time, PerformanceFunctionsRejectNull)
{
    SetLastError(0);
    EXPECT_FALSE(QueryPerformanceCounter(nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS));
    SetLastError(0);
    EXPECT_FALSE(QueryPerformanceFrequency(nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOACCESS));
}

TEST(Time, SystemTimeIsUnixTimeSince1601)
{
    FILETIME filetime;
    time_t before = time(nullptr);
    GetSystemTimeAsFileTime(&filetime);
    time_t after = time(nullptr);
    ULONGLONG value = (static_cast<ULONGLONG>(filetime.dwHighDateTime) << 32) | filetime.dwLowDateTime;
    long long unix_seconds = static_cast<long long>(value / 10000000ULL) - 11644473600LL;
    EXPECT_GE(unix_seconds, static_cast<long long>(before) - 1);
    EXPECT_LE(unix_seconds, static_cast<long long>(after) + 1);
}

TEST(Identity, ThreadAndProcessIds)
{
    EXPECT_EQ(GetCurrentThreadId(), static_cast<DWORD>(syscall(SYS_gettid)));
    EXPECT_EQ(GetCurrentProcessId(), static_cast<DWORD>(getpid()));
    DWORD main_id = GetCurrentThreadId();
    DWORD other_id = 0, other_pid = 0;
    std::thread([&] {
        other_id = GetCurrentThreadId();
        other_pid = GetCurrentProcessId();
    }).join();
    EXPECT_NE(other_id, 0u);
    EXPECT_NE(other_id, main_id);
    EXPECT_EQ(other_pid, GetCurrentProcessId());
}

TEST(Identity, PseudoHandles)
{
    EXPECT_EQ(GetCurrentProcess(), reinterpret_cast<HANDLE>(static_cast<LONG_PTR>(-1)));
    EXPECT_EQ(GetCurrentProcess(), INVALID_HANDLE_VALUE);
    EXPECT_EQ(GetCurrentThread(), reinterpret_cast<HANDLE>(static_cast<LONG_PTR>(-2)));
}

TEST(Interlocked, ThirtyTwoBitOperations)
{
    LONG volatile value = 5;
    EXPECT_EQ(InterlockedIncrement(&value), 6);
    EXPECT_EQ(InterlockedDecrement(&value), 5);
    EXPECT_EQ(InterlockedExchange(&value, 42), 5);
    EXPECT_EQ(value, 42);
    EXPECT_EQ(InterlockedExchangeAdd(&value, 8), 42);
    EXPECT_EQ(value, 50);
    EXPECT_EQ(InterlockedAdd(&value, -10), 40);
    EXPECT_EQ(InterlockedCompareExchange(&value, 7, 99), 40); // no match: unchanged
    EXPECT_EQ(value, 40);
    EXPECT_EQ(InterlockedCompareExchange(&value, 7, 40), 40); // match: exchanged
    EXPECT_EQ(value, 7);
    value = INT32_MAX;
    EXPECT_EQ(InterlockedIncrement(&value), INT32_MIN); // wraps like the Windows intrinsic
    EXPECT_EQ(InterlockedDecrement(&value), INT32_MAX);
}

TEST(Interlocked, SixtyFourBitOperations)
{
    LONGLONG volatile value = 1LL << 40;
    EXPECT_EQ(InterlockedIncrement64(&value), (1LL << 40) + 1);
    EXPECT_EQ(InterlockedDecrement64(&value), 1LL << 40);
    EXPECT_EQ(InterlockedExchange64(&value, -3), 1LL << 40);
    EXPECT_EQ(InterlockedExchangeAdd64(&value, 5), -3);
    EXPECT_EQ(InterlockedAdd64(&value, 1LL << 33), 2 + (1LL << 33));
    EXPECT_EQ(InterlockedCompareExchange64(&value, 11, 0), 2 + (1LL << 33));
    EXPECT_EQ(InterlockedCompareExchange64(&value, 11, 2 + (1LL << 33)), 2 + (1LL << 33));
    EXPECT_EQ(value, 11);
}

TEST(Interlocked, PointerOperations)
{
    int a = 0, b = 0;
    PVOID volatile pointer = &a;
    EXPECT_EQ(InterlockedExchangePointer(&pointer, &b), &a);
    EXPECT_EQ(pointer, &b);
    EXPECT_EQ(InterlockedCompareExchangePointer(&pointer, nullptr, &a), &b);
    EXPECT_EQ(pointer, &b);
    EXPECT_EQ(InterlockedCompareExchangePointer(&pointer, nullptr, &b), &b);
    EXPECT_EQ(pointer, nullptr);
}

TEST(Interlocked, ConcurrentIncrementsAreExact)
{
    LONG volatile counter = 0;
    LONGLONG volatile counter64 = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 50000; ++i) {
                InterlockedIncrement(&counter);
                InterlockedExchangeAdd64(&counter64, 2);
            }
        });
    for (auto &t : threads)
        t.join();
    EXPECT_EQ(counter, 200000);
    EXPECT_EQ(counter64, 400000);
}

TEST(Library, LoadFindCallFree)
{
    HMODULE libm = LoadLibraryA("libm.so.6");
    ASSERT_NE(libm, nullptr);
    FARPROC proc = GetProcAddress(libm, "cos");
    ASSERT_NE(proc, nullptr);
    // Through void (*)(void), the generic function type, as -Wcast-function-type asks.
    auto cosine = reinterpret_cast<double (*)(double)>(reinterpret_cast<void (*)(void)>(proc));
    EXPECT_DOUBLE_EQ(cosine(0.0), 1.0);
    SetLastError(0);
    EXPECT_EQ(GetProcAddress(libm, "no_such_function_anywhere"), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_PROC_NOT_FOUND));
    SetLastError(0);
    EXPECT_EQ(GetProcAddress(libm, nullptr), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_PROC_NOT_FOUND));
    SetLastError(0);
    EXPECT_EQ(GetProcAddress(libm, reinterpret_cast<LPCSTR>(static_cast<std::uintptr_t>(12))), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_PROC_NOT_FOUND)); // an ordinal
    EXPECT_TRUE(FreeLibrary(libm));
}

TEST(Library, WideNameLoads)
{
    static const WCHAR name[] = {'l', 'i', 'b', 'm', '.', 's', 'o', '.', '6', 0};
    HMODULE libm = LoadLibraryW(name);
    ASSERT_NE(libm, nullptr);
    EXPECT_NE(GetProcAddress(libm, "sin"), nullptr);
    EXPECT_TRUE(FreeLibrary(libm));
}

TEST(Library, FailuresSetErrors)
{
    SetLastError(0);
    EXPECT_EQ(LoadLibraryA(nullptr), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_MOD_NOT_FOUND));
    SetLastError(0);
    EXPECT_EQ(LoadLibraryA("libtpuring-no-such-library.so"), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_MOD_NOT_FOUND));
    SetLastError(0);
    EXPECT_EQ(LoadLibraryW(nullptr), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_MOD_NOT_FOUND));
    SetLastError(0);
    EXPECT_FALSE(FreeLibrary(nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    SetLastError(0);
    EXPECT_FALSE(FreeLibrary(reinterpret_cast<HMODULE>(static_cast<std::uintptr_t>(0x1234))));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    SetLastError(0);
    EXPECT_EQ(GetProcAddress(reinterpret_cast<HMODULE>(static_cast<std::uintptr_t>(0x1234)), "cos"), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_MOD_NOT_FOUND));
}

TEST(Library, ReferencesAreCounted)
{
    HMODULE first = LoadLibraryA("libm.so.6");
    HMODULE second = LoadLibraryA("libm.so.6");
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first, second);
    EXPECT_TRUE(FreeLibrary(first));
    EXPECT_NE(GetProcAddress(second, "cos"), nullptr); // one reference left
    EXPECT_TRUE(FreeLibrary(second));
    SetLastError(0);
    EXPECT_FALSE(FreeLibrary(first)); // none left
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
}

TEST(Library, ModuleAddRefTakesAnotherReference)
{
    HMODULE libm = LoadLibraryA("libm.so.6");
    ASSERT_NE(libm, nullptr);
    EXPECT_TRUE(tpuring::module_add_ref(libm));
    EXPECT_TRUE(FreeLibrary(libm));
    EXPECT_TRUE(FreeLibrary(libm));
    EXPECT_FALSE(FreeLibrary(libm));
    SetLastError(0);
    EXPECT_FALSE(tpuring::module_add_ref(libm));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
}

TEST(Library, NullModuleSearchesTheProgram)
{
    EXPECT_NE(GetProcAddress(nullptr, "malloc"), nullptr);
}
