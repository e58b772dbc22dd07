#include "base/clock.h"

#include <cerrno>

#include <sched.h>
#include <unistd.h>

#include "base/last_error.h"
#include <tpuring/win32.h>

namespace tpuring {

namespace {

constexpr std::int64_t kNsPerSecond = 1000000000;
constexpr std::int64_t kNsPerMs = 1000000;
// QueryPerformanceFrequency: 100-ns ticks, the value Windows 10 and later report.
constexpr std::int64_t kPerformanceFrequency = 10000000;

std::int64_t clock_ns(clockid_t clock) noexcept
{
    timespec now;
    clock_gettime(clock, &now);
    return static_cast<std::int64_t>(now.tv_sec) * kNsPerSecond + now.tv_nsec;
}

timespec timespec_from_ns(std::int64_t ns) noexcept
{
    timespec ts;
    ts.tv_sec = static_cast<time_t>(ns / kNsPerSecond);
    ts.tv_nsec = static_cast<long>(ns % kNsPerSecond);
    return ts;
}

std::int64_t ns_from_timespec(const timespec &ts) noexcept
{
    return static_cast<std::int64_t>(ts.tv_sec) * kNsPerSecond + ts.tv_nsec;
}

} // namespace

std::int64_t monotonic_ns() noexcept { return clock_ns(CLOCK_MONOTONIC); }

Deadline Deadline::after_ms(DWORD milliseconds) noexcept
{
    Deadline deadline;
    if (milliseconds == INFINITE)
        return deadline;
    deadline.infinite_ = false;
    deadline.absolute_ = timespec_from_ns(monotonic_ns() + static_cast<std::int64_t>(milliseconds) * kNsPerMs);
    return deadline;
}

bool Deadline::has_passed() const noexcept
{
    return !infinite_ && monotonic_ns() >= ns_from_timespec(absolute_);
}

timespec Deadline::remaining() const noexcept
{
    std::int64_t left = ns_from_timespec(absolute_) - monotonic_ns();
    return timespec_from_ns(left > 0 ? left : 0);
}

} // namespace tpuring

extern "C" {

TPURING_API void tpuring_Sleep(DWORD dwMilliseconds)
{
    if (dwMilliseconds == 0) {
        sched_yield(); // Sleep(0) gives up the rest of the time slice
        return;
    }
    if (dwMilliseconds == INFINITE) {
        for (;;)
            pause();
    }
    // An absolute deadline keeps the total right when signals interrupt the sleep.
    tpuring::Deadline deadline = tpuring::Deadline::after_ms(dwMilliseconds);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline.absolute(), nullptr) == EINTR) {
    }
}

TPURING_API ULONGLONG tpuring_GetTickCount64(void)
{
    // Windows' tick count includes time spent suspended.
    return static_cast<ULONGLONG>(tpuring::clock_ns(CLOCK_BOOTTIME) / tpuring::kNsPerMs);
}

TPURING_API DWORD tpuring_GetTickCount(void) { return static_cast<DWORD>(tpuring_GetTickCount64()); }

TPURING_API BOOL tpuring_QueryPerformanceCounter(LARGE_INTEGER *lpPerformanceCount)
{
    if (lpPerformanceCount == nullptr)
        return tpuring::fail(ERROR_NOACCESS, FALSE);
    lpPerformanceCount->QuadPart = tpuring::monotonic_ns() / (tpuring::kNsPerSecond / tpuring::kPerformanceFrequency);
    return TRUE;
}

TPURING_API BOOL tpuring_QueryPerformanceFrequency(LARGE_INTEGER *lpFrequency)
{
    if (lpFrequency == nullptr)
        return tpuring::fail(ERROR_NOACCESS, FALSE);
    lpFrequency->QuadPart = tpuring::kPerformanceFrequency;
    return TRUE;
}

TPURING_API void tpuring_GetSystemTimeAsFileTime(LPFILETIME lpSystemTimeAsFileTime)
{
    std::int64_t unix_ns = tpuring::clock_ns(CLOCK_REALTIME);
    std::uint64_t filetime = tpuring::kFiletimeOfUnixEpoch + static_cast<std::uint64_t>(unix_ns / 100);
    lpSystemTimeAsFileTime->dwLowDateTime = static_cast<DWORD>(filetime);
    lpSystemTimeAsFileTime->dwHighDateTime = static_cast<DWORD>(filetime >> 32);
}

} // extern "C"
