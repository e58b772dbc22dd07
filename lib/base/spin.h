// Busy-waiting for locks that are held for a few instructions only: spin briefly, then let
// the holder run (it may have been preempted on a busy machine).
#pragma once

#include <sched.h>

namespace tpuring {

inline void cpu_relax() noexcept
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

class Backoff {
public:
    void pause() noexcept
    {
        if (++attempts_ < kSpinsBeforeYield)
            cpu_relax();
        else
            sched_yield();
    }

private:
    static constexpr unsigned kSpinsBeforeYield = 64;
    unsigned attempts_ = 0;
};

} // namespace tpuring
