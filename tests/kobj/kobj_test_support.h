// Helpers shared by the kernel-object suites.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include <gtest/gtest.h>

#include <tpuring/tpuring.h>
#include <tpuring/win32.h>

namespace kobj_test {

// Long enough never to expire on a loaded two-core machine when things work.
constexpr DWORD kLongWait = 30000;
// The last-error value tests plant to prove a call left it alone.
constexpr DWORD kPlantedError = 0xdeadbeef;

inline HANDLE with_low_bits(HANDLE handle, std::uintptr_t bits)
{
    return reinterpret_cast<HANDLE>(reinterpret_cast<std::uintptr_t>(handle) | bits);
}

inline HANDLE handle_value(std::uintptr_t value) { return reinterpret_cast<HANDLE>(value); }

// Milliseconds elapsed on the steady clock since `start`.
inline long long elapsed_ms(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
}

// Waits (yielding) until `condition` holds or kLongWait passes; returns whether it held.
template <typename Condition>
bool eventually(Condition condition)
{
    auto start = std::chrono::steady_clock::now();
    while (!condition()) {
        if (elapsed_ms(start) > kLongWait)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

// The state of an auto-reset event without changing it: consumes and restores a signal.
inline bool auto_event_is_signaled(HANDLE event)
{
    if (WaitForSingleObject(event, 0) != WAIT_OBJECT_0)
        return false;
    SetEvent(event);
    return true;
}

// Closes a handle at scope exit.
class HandleCloser {
public:
    explicit HandleCloser(HANDLE handle) : handle_(handle) {}
    HandleCloser(const HandleCloser &) = delete;
    HandleCloser &operator=(const HandleCloser &) = delete;
    ~HandleCloser()
    {
        if (handle_ != nullptr)
            CloseHandle(handle_);
    }

private:
    HANDLE handle_;
};

} // namespace kobj_test
