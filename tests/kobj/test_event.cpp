// Events: creation, manual and auto reset, SetEvent/ResetEvent and their errors.
#include "kobj_test_support.h"

using namespace kobj_test;

TEST(Event, CreateSetsLastErrorToZero)
{
    SetLastError(kPlantedError);
    HANDLE event = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    ASSERT_NE(event, nullptr);
    EXPECT_EQ(GetLastError(), 0u);
    SetLastError(kPlantedError);
    HANDLE wide = CreateEventW(nullptr, FALSE, TRUE, nullptr);
    ASSERT_NE(wide, nullptr);
    EXPECT_EQ(GetLastError(), 0u);
    EXPECT_NE(event, wide);
    EXPECT_TRUE(CloseHandle(event));
    EXPECT_TRUE(CloseHandle(wide));
}

TEST(Event, NamedEventsAreNotSupported)
{
    SetLastError(0);
    EXPECT_EQ(CreateEventA(nullptr, TRUE, FALSE, "WineTestEvent"), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOT_SUPPORTED));
    static const WCHAR name[] = {'e', 'v', 0};
    SetLastError(0);
    EXPECT_EQ(CreateEventW(nullptr, TRUE, FALSE, name), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOT_SUPPORTED));
}

TEST(Event, EmptyNameCreatesUnnamedEvent)
{
    HANDLE event = CreateEventA(nullptr, TRUE, FALSE, "");
    ASSERT_NE(event, nullptr);
    static const WCHAR empty[] = {0};
    HANDLE wide = CreateEventW(nullptr, TRUE, FALSE, empty);
    ASSERT_NE(wide, nullptr);
    CloseHandle(event);
    CloseHandle(wide);
}

TEST(Event, ManualResetStaysSignaledUntilReset)
{
    HANDLE event = CreateEventA(nullptr, TRUE, TRUE, nullptr);
    HandleCloser closer(event);
    EXPECT_EQ(WaitForSingleObject(event, 0), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForSingleObject(event, 0), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForSingleObject(event, 10), WAIT_OBJECT_0);
    SetLastError(kPlantedError);
    EXPECT_TRUE(ResetEvent(event));
    EXPECT_EQ(GetLastError(), kPlantedError);
    EXPECT_EQ(WaitForSingleObject(event, 0), WAIT_TIMEOUT);
    EXPECT_TRUE(ResetEvent(event)); // resetting a reset event is fine
    EXPECT_EQ(WaitForSingleObject(event, 0), WAIT_TIMEOUT);
    EXPECT_TRUE(SetEvent(event));
    EXPECT_EQ(WaitForSingleObject(event, 0), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForSingleObject(event, 0), WAIT_OBJECT_0);
}

TEST(Event, AutoResetIsConsumedByOneWait)
{
    HANDLE event = CreateEventA(nullptr, FALSE, TRUE, nullptr);
    HandleCloser closer(event);
    EXPECT_EQ(WaitForSingleObject(event, 0), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForSingleObject(event, 0), WAIT_TIMEOUT);
    SetLastError(kPlantedError);
    EXPECT_TRUE(SetEvent(event));
    EXPECT_EQ(GetLastError(), kPlantedError);
    EXPECT_TRUE(SetEvent(event)); // already signaled: no second signal
    EXPECT_EQ(WaitForSingleObject(event, 0), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForSingleObject(event, 0), WAIT_TIMEOUT);
}

TEST(Event, ResetClearsAutoResetSignal)
{
    HANDLE event = CreateEventA(nullptr, FALSE, TRUE, nullptr);
    HandleCloser closer(event);
    EXPECT_TRUE(ResetEvent(event));
    EXPECT_EQ(WaitForSingleObject(event, 0), WAIT_TIMEOUT);
}

TEST(Event, InitiallyNonSignaled)
{
    HANDLE manual = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    HANDLE automatic = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    HandleCloser c1(manual), c2(automatic);
    EXPECT_EQ(WaitForSingleObject(manual, 0), WAIT_TIMEOUT);
    EXPECT_EQ(WaitForSingleObject(automatic, 0), WAIT_TIMEOUT);
}

TEST(Event, NonZeroBoolArgumentsCountAsTrue)
{
    HANDLE event = CreateEventA(nullptr, 2, 7, nullptr);
    HandleCloser closer(event);
    EXPECT_EQ(WaitForSingleObject(event, 0), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForSingleObject(event, 0), WAIT_OBJECT_0); // manual reset
}

TEST(Event, SetAndResetRejectBadHandles)
{
    HANDLE semaphore = CreateSemaphoreA(nullptr, 0, 1, nullptr);
    HANDLE mutex = CreateMutexA(nullptr, FALSE, nullptr);
    HandleCloser c1(semaphore), c2(mutex);
    HANDLE closed = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    CloseHandle(closed);
    const HANDLE bad[] = {nullptr, handle_value(0x1234), handle_value(0xdeadbee0), closed, semaphore, mutex,
                          INVALID_HANDLE_VALUE, GetCurrentThread()};
    for (HANDLE handle : bad) {
        SetLastError(0);
        EXPECT_FALSE(SetEvent(handle)) << handle;
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE)) << handle;
        SetLastError(0);
        EXPECT_FALSE(ResetEvent(handle)) << handle;
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE)) << handle;
    }
    // A semaphore stays untouched by the failed SetEvent.
    EXPECT_EQ(WaitForSingleObject(semaphore, 0), WAIT_TIMEOUT);
}

TEST(Event, AutoResetReleasesExactlyOneWaiterPerSet)
{
    HANDLE event = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    HandleCloser closer(event);
    std::atomic<int> released{0};
    std::atomic<int> started{0};
    auto waiter = [&] {
        started.fetch_add(1);
        if (WaitForSingleObject(event, kLongWait) == WAIT_OBJECT_0)
            released.fetch_add(1);
    };
    std::thread a(waiter), b(waiter);
    ASSERT_TRUE(eventually([&] { return started.load() == 2; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_TRUE(SetEvent(event));
    ASSERT_TRUE(eventually([&] { return released.load() >= 1; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(released.load(), 1);
    EXPECT_TRUE(SetEvent(event));
    a.join();
    b.join();
    EXPECT_EQ(released.load(), 2);
    EXPECT_EQ(WaitForSingleObject(event, 0), WAIT_TIMEOUT); // both signals were consumed
}

TEST(Event, ManualResetReleasesEveryWaiter)
{
    HANDLE event = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    HandleCloser closer(event);
    std::atomic<int> released{0};
    std::thread waiters[4];
    for (auto &t : waiters)
        t = std::thread([&] {
            if (WaitForSingleObject(event, kLongWait) == WAIT_OBJECT_0)
                released.fetch_add(1);
        });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_TRUE(SetEvent(event));
    for (auto &t : waiters)
        t.join();
    EXPECT_EQ(released.load(), 4);
    EXPECT_EQ(WaitForSingleObject(event, 0), WAIT_OBJECT_0);
}

TEST(Event, SetFromAnotherThreadWakesBlockedWait)
{
    HANDLE event = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    HandleCloser closer(event);
    std::thread setter([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        SetEvent(event);
    });
    SetLastError(kPlantedError);
    EXPECT_EQ(WaitForSingleObject(event, INFINITE), WAIT_OBJECT_0);
    EXPECT_EQ(GetLastError(), kPlantedError);
    setter.join();
}
