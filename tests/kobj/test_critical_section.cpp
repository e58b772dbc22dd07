// Critical sections: layout, recursion, TryEnter, contention and blocking.
#include <vector>

#include "kobj_test_support.h"

using namespace kobj_test;

static_assert(sizeof(CRITICAL_SECTION) == 40, "x64 layout");

TEST(CriticalSection, InitializeGivesFreeUnownedLock)
{
    CRITICAL_SECTION section;
    InitializeCriticalSection(&section);
    EXPECT_EQ(section.OwningThread, nullptr);
    EXPECT_EQ(section.RecursionCount, 0);
    EXPECT_EQ(section.LockCount, -1);
    EXPECT_TRUE(TryEnterCriticalSection(&section));
    LeaveCriticalSection(&section);
    DeleteCriticalSection(&section);
}

TEST(CriticalSection, SpinCountVariantsSucceed)
{
    CRITICAL_SECTION section;
    EXPECT_TRUE(InitializeCriticalSectionAndSpinCount(&section, 4000));
    EXPECT_EQ(SetCriticalSectionSpinCount(&section, 100), 4000u);
    EXPECT_EQ(SetCriticalSectionSpinCount(&section, 0), 100u);
    DeleteCriticalSection(&section);
    // The high bit (pre-allocate the event, before Vista) is ignored.
    EXPECT_TRUE(InitializeCriticalSectionAndSpinCount(&section, 0x80000400));
    EnterCriticalSection(&section);
    LeaveCriticalSection(&section);
    DeleteCriticalSection(&section);
    EXPECT_TRUE(InitializeCriticalSectionEx(&section, 10, 0));
    DeleteCriticalSection(&section);
}

TEST(CriticalSection, OwnerReEntersAndOthersCannot)
{
    CRITICAL_SECTION section;
    InitializeCriticalSection(&section);
    EnterCriticalSection(&section);
    EnterCriticalSection(&section);
    EXPECT_TRUE(TryEnterCriticalSection(&section));
    EXPECT_EQ(section.RecursionCount, 3);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(section.OwningThread), GetCurrentThreadId());

    auto other_try = [&] {
        std::atomic<BOOL> entered{TRUE};
        std::thread([&] {
            entered = TryEnterCriticalSection(&section);
            if (entered)
                LeaveCriticalSection(&section);
        }).join();
        return entered.load();
    };
    EXPECT_FALSE(other_try());
    LeaveCriticalSection(&section);
    EXPECT_FALSE(other_try());
    LeaveCriticalSection(&section);
    EXPECT_FALSE(other_try());
    LeaveCriticalSection(&section);
    EXPECT_TRUE(other_try());
    DeleteCriticalSection(&section);
}

TEST(CriticalSection, EnterBlocksUntilLeave)
{
    CRITICAL_SECTION section;
    InitializeCriticalSection(&section);
    EnterCriticalSection(&section);
    std::atomic<bool> entered{false};
    std::thread waiter([&] {
        EnterCriticalSection(&section);
        entered = true;
        LeaveCriticalSection(&section);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    EXPECT_FALSE(entered.load());
    LeaveCriticalSection(&section);
    waiter.join();
    EXPECT_TRUE(entered.load());
    DeleteCriticalSection(&section);
}

TEST(CriticalSection, ZeroFilledAfterDeleteIsReusable)
{
    CRITICAL_SECTION section;
    InitializeCriticalSection(&section);
    EnterCriticalSection(&section);
    LeaveCriticalSection(&section);
    DeleteCriticalSection(&section);
    InitializeCriticalSection(&section);
    EXPECT_TRUE(TryEnterCriticalSection(&section));
    LeaveCriticalSection(&section);
    DeleteCriticalSection(&section);
}

namespace {

void run_contention(DWORD spin_count)
{
    CRITICAL_SECTION section;
    InitializeCriticalSectionAndSpinCount(&section, spin_count);
    long counter = 0; // deliberately not atomic: the lock protects it
    long tries_won = 0;
    constexpr int kThreads = 4;
    constexpr int kIterations = 20000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kIterations; ++i) {
                if ((i + t) % 5 == 0) {
                    if (TryEnterCriticalSection(&section)) {
                        ++counter;
                        ++tries_won;
                        LeaveCriticalSection(&section);
                        continue;
                    }
                }
                EnterCriticalSection(&section);
                EnterCriticalSection(&section); // recursion under contention
                ++counter;
                LeaveCriticalSection(&section);
                LeaveCriticalSection(&section);
            }
        });
    for (auto &t : threads)
        t.join();
    EXPECT_EQ(counter, static_cast<long>(kThreads) * kIterations);
    EXPECT_GT(tries_won, 0);
    EXPECT_EQ(section.OwningThread, nullptr);
    EXPECT_EQ(section.LockCount, -1);
    DeleteCriticalSection(&section);
}

} // namespace

TEST(CriticalSection, ContentionWithoutSpinning) { run_contention(0); }
TEST(CriticalSection, ContentionWithSpinning) { run_contention(1000); }
