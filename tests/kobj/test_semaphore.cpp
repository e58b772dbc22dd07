// Semaphores: parameter checks, counting, the maximum and ReleaseSemaphore's results.
#include <climits>

#include "kobj_test_support.h"

using namespace kobj_test;

TEST(Semaphore, CreateValidatesCounts)
{
    struct Case {
        LONG initial, maximum;
    } const bad[] = {{0, 0}, {0, -1}, {-1, 1}, {2, 1}, {1, 0}, {INT32_MIN, 5}};
    for (const Case &c : bad) {
        SetLastError(0);
        EXPECT_EQ(CreateSemaphoreA(nullptr, c.initial, c.maximum, nullptr), nullptr) << c.initial << "/" << c.maximum;
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
        SetLastError(0);
        EXPECT_EQ(CreateSemaphoreW(nullptr, c.initial, c.maximum, nullptr), nullptr);
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    }
}

TEST(Semaphore, CreateSetsLastErrorToZero)
{
    SetLastError(kPlantedError);
    HANDLE semaphore = CreateSemaphoreA(nullptr, 0, 1, nullptr);
    ASSERT_NE(semaphore, nullptr);
    EXPECT_EQ(GetLastError(), 0u);
    CloseHandle(semaphore);
    SetLastError(kPlantedError);
    semaphore = CreateSemaphoreW(nullptr, 1, 1, nullptr);
    ASSERT_NE(semaphore, nullptr);
    EXPECT_EQ(GetLastError(), 0u);
    CloseHandle(semaphore);
}

TEST(Semaphore, NamedSemaphoresAreNotSupported)
{
    SetLastError(0);
    EXPECT_EQ(CreateSemaphoreA(nullptr, 0, 1, "sem"), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOT_SUPPORTED));
    static const WCHAR name[] = {'s', 0};
    SetLastError(0);
    EXPECT_EQ(CreateSemaphoreW(nullptr, 0, 1, name), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOT_SUPPORTED));
}

TEST(Semaphore, EachWaitTakesOneUnit)
{
    HANDLE semaphore = CreateSemaphoreA(nullptr, 2, 3, nullptr);
    HandleCloser closer(semaphore);
    EXPECT_EQ(WaitForSingleObject(semaphore, 0), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForSingleObject(semaphore, 0), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForSingleObject(semaphore, 0), WAIT_TIMEOUT);
}

TEST(Semaphore, ReleaseReportsPreviousCount)
{
    HANDLE semaphore = CreateSemaphoreA(nullptr, 1, 10, nullptr);
    HandleCloser closer(semaphore);
    LONG previous = -1;
    SetLastError(kPlantedError);
    EXPECT_TRUE(ReleaseSemaphore(semaphore, 3, &previous));
    EXPECT_EQ(GetLastError(), kPlantedError);
    EXPECT_EQ(previous, 1);
    EXPECT_TRUE(ReleaseSemaphore(semaphore, 1, nullptr));
    EXPECT_TRUE(ReleaseSemaphore(semaphore, 1, &previous));
    EXPECT_EQ(previous, 5);
    for (int i = 0; i < 6; ++i)
        EXPECT_EQ(WaitForSingleObject(semaphore, 0), WAIT_OBJECT_0) << i;
    EXPECT_EQ(WaitForSingleObject(semaphore, 0), WAIT_TIMEOUT);
}

TEST(Semaphore, ReleasePastMaximumChangesNothing)
{
    HANDLE semaphore = CreateSemaphoreA(nullptr, 2, 4, nullptr);
    HandleCloser closer(semaphore);
    LONG previous = 1234;
    SetLastError(0);
    EXPECT_FALSE(ReleaseSemaphore(semaphore, 3, &previous));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_TOO_MANY_POSTS));
    EXPECT_EQ(previous, 1234); // not written on failure
    EXPECT_TRUE(ReleaseSemaphore(semaphore, 2, &previous)); // exactly to the maximum
    EXPECT_EQ(previous, 2);
    SetLastError(0);
    EXPECT_FALSE(ReleaseSemaphore(semaphore, 1, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_TOO_MANY_POSTS));
    for (int i = 0; i < 4; ++i)
        EXPECT_EQ(WaitForSingleObject(semaphore, 0), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForSingleObject(semaphore, 0), WAIT_TIMEOUT);
}

TEST(Semaphore, FullBinarySemaphoreAcceptsReleaseAfterAWait)
{
    HANDLE semaphore = CreateSemaphoreA(nullptr, 1, 1, nullptr);
    HandleCloser closer(semaphore);
    EXPECT_FALSE(ReleaseSemaphore(semaphore, 1, nullptr));
    EXPECT_EQ(WaitForSingleObject(semaphore, 0), WAIT_OBJECT_0);
    EXPECT_TRUE(ReleaseSemaphore(semaphore, 1, nullptr));
}

TEST(Semaphore, LargestMaximum)
{
    HANDLE semaphore = CreateSemaphoreA(nullptr, INT32_MAX, INT32_MAX, nullptr);
    ASSERT_NE(semaphore, nullptr);
    HandleCloser closer(semaphore);
    EXPECT_FALSE(ReleaseSemaphore(semaphore, 1, nullptr));
    EXPECT_FALSE(ReleaseSemaphore(semaphore, INT32_MAX, nullptr));
    EXPECT_EQ(WaitForSingleObject(semaphore, 0), WAIT_OBJECT_0);
    LONG previous = 0;
    EXPECT_TRUE(ReleaseSemaphore(semaphore, 1, &previous));
    EXPECT_EQ(previous, INT32_MAX - 1);
}

TEST(Semaphore, ReleaseCountMustBePositive)
{
    HANDLE semaphore = CreateSemaphoreA(nullptr, 0, 5, nullptr);
    HandleCloser closer(semaphore);
    for (LONG count : {0, -1, INT32_MIN}) {
        SetLastError(0);
        EXPECT_FALSE(ReleaseSemaphore(semaphore, count, nullptr)) << count;
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER)) << count;
    }
    EXPECT_EQ(WaitForSingleObject(semaphore, 0), WAIT_TIMEOUT);
}

TEST(Semaphore, ReleaseRejectsBadHandles)
{
    HANDLE event = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    HandleCloser closer(event);
    HANDLE closed = CreateSemaphoreA(nullptr, 0, 1, nullptr);
    CloseHandle(closed);
    for (HANDLE handle : {static_cast<HANDLE>(nullptr), handle_value(0x1234), closed, event, INVALID_HANDLE_VALUE}) {
        SetLastError(0);
        EXPECT_FALSE(ReleaseSemaphore(handle, 1, nullptr)) << handle;
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE)) << handle;
    }
}

TEST(Semaphore, ReleaseOfNUnitsWakesNWaiters)
{
    HANDLE semaphore = CreateSemaphoreA(nullptr, 0, 10, nullptr);
    HandleCloser closer(semaphore);
    std::atomic<int> released{0};
    std::thread waiters[3];
    for (auto &t : waiters)
        t = std::thread([&] {
            if (WaitForSingleObject(semaphore, kLongWait) == WAIT_OBJECT_0)
                released.fetch_add(1);
        });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_TRUE(ReleaseSemaphore(semaphore, 2, nullptr));
    ASSERT_TRUE(eventually([&] { return released.load() == 2; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    EXPECT_EQ(released.load(), 2);
    EXPECT_TRUE(ReleaseSemaphore(semaphore, 1, nullptr));
    for (auto &t : waiters)
        t.join();
    EXPECT_EQ(released.load(), 3);
    EXPECT_EQ(WaitForSingleObject(semaphore, 0), WAIT_TIMEOUT);
}
