// Clocks and deadlines shared by the library's blocking calls and the Win32 time functions.
#pragma once

#include <cstdint>
#include <ctime>

#include <tpuring/win32/types.h>

namespace tpuring {

// 100-ns units between 1601-01-01 and 1970-01-01 (UTC), the FILETIME of the Unix epoch.
inline constexpr std::uint64_t kFiletimeOfUnixEpoch = 116444736000000000ULL;

// Nanoseconds on CLOCK_MONOTONIC.
std::int64_t monotonic_ns() noexcept;

// A point on CLOCK_MONOTONIC after which a blocking call gives up, or "never".
class Deadline {
public:
    // INFINITE gives "never"; any other value is that many milliseconds from now.
    static Deadline after_ms(DWORD milliseconds) noexcept;

    bool is_infinite() const noexcept { return infinite_; }
    bool has_passed() const noexcept;
    // The absolute CLOCK_MONOTONIC time, for futex waits; meaningless when infinite.
    const timespec &absolute() const noexcept { return absolute_; }
    // Time left, zero once passed; meaningless when infinite.
    timespec remaining() const noexcept;

private:
    bool infinite_ = true;
    timespec absolute_{};
};

} // namespace tpuring
