// Deadlines for the timer service, from the API's FILETIME due times.
#pragma once

#include <cstdint>

#include <tpuring/win32/types.h>

#include "base/clock.h"
#include "pool/timer_heap.h"

namespace tpuring::pool {

// Nanoseconds on `clock` now.
int64_t clock_now_ns(TimerClock clock);

// Deadlines saturate at "never" rather than wrap into the past.
inline int64_t saturating_add(int64_t a, int64_t b) { return b > 0 && a > INT64_MAX - b ? INT64_MAX : a + b; }

struct TimerDeadline {
    TimerClock clock = TimerClock::monotonic;
    int64_t ns = 0;
};

// A FILETIME's 64-bit value (only 4-byte aligned in memory: read the halves).
inline int64_t filetime_value(const FILETIME &time)
{
    return static_cast<int64_t>((uint64_t(time.dwHighDateTime) << 32) | time.dwLowDateTime);
}

// A non-zero due time: negative is relative, in 100 ns units, on the monotonic clock;
// positive is absolute UTC on the realtime clock (a wall-clock change moves it; times
// before 1970 are simply past).
inline TimerDeadline deadline_from_filetime(int64_t due)
{
    if (due < 0) {
        int64_t delay = due == INT64_MIN || -due > INT64_MAX / 100 ? INT64_MAX : -due * 100;
        return {TimerClock::monotonic, saturating_add(clock_now_ns(TimerClock::monotonic), delay)};
    }
    int64_t since_unix = due - static_cast<int64_t>(kFiletimeOfUnixEpoch);
    return {TimerClock::realtime, since_unix <= 0 ? 0 : (since_unix > INT64_MAX / 100 ? INT64_MAX : since_unix * 100)};
}

} // namespace tpuring::pool
