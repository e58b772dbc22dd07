// CloseHandle, handle values, stale and foreign handles, descriptor handles.
#include <fcntl.h>
#include <unistd.h>

#include <set>
#include <vector>

#include "kobj_test_support.h"

using namespace kobj_test;

TEST(Handles, CloseRejectsInvalidHandles)
{
    for (HANDLE handle : {static_cast<HANDLE>(nullptr), handle_value(0x1234), handle_value(0xdeadbee0),
                          handle_value(0x10), handle_value(~std::uintptr_t{0} - 4)}) {
        SetLastError(0);
        EXPECT_FALSE(CloseHandle(handle)) << handle;
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE)) << handle;
    }
}

TEST(Handles, CloseTwiceFailsTheSecondTime)
{
    HANDLE event = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    SetLastError(kPlantedError);
    EXPECT_TRUE(CloseHandle(event));
    SetLastError(0);
    EXPECT_FALSE(CloseHandle(event));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
}

TEST(Handles, ClosingPseudoHandlesSucceeds)
{
    EXPECT_TRUE(CloseHandle(GetCurrentProcess()));
    EXPECT_TRUE(CloseHandle(GetCurrentThread()));
    EXPECT_TRUE(CloseHandle(INVALID_HANDLE_VALUE));
    EXPECT_EQ(WaitForSingleObject(GetCurrentProcess(), 0), WAIT_TIMEOUT); // still usable
}

TEST(Handles, CloseIgnoresLowBits)
{
    HANDLE event = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    EXPECT_TRUE(CloseHandle(with_low_bits(event, 3)));
    EXPECT_FALSE(CloseHandle(event));
}

TEST(Handles, ValuesAreDistinctNonZeroMultiplesOfFourIn32Bits)
{
    std::vector<HANDLE> handles;
    std::set<HANDLE> seen;
    for (int i = 0; i < 3000; ++i) {
        HANDLE h = (i % 3 == 0)   ? CreateEventA(nullptr, TRUE, FALSE, nullptr)
                   : (i % 3 == 1) ? CreateSemaphoreA(nullptr, 0, 1, nullptr)
                                  : CreateMutexA(nullptr, FALSE, nullptr);
        ASSERT_NE(h, nullptr);
        std::uintptr_t value = reinterpret_cast<std::uintptr_t>(h);
        EXPECT_EQ(value % 4, 0u);
        EXPECT_LE(value, 0xFFFFFFFFu);
        EXPECT_TRUE(seen.insert(h).second);
        handles.push_back(h);
    }
    for (HANDLE h : handles)
        EXPECT_TRUE(CloseHandle(h));
}

TEST(Handles, StaleHandleStaysInvalidAfterSlotReuse)
{
    HANDLE old_handle = CreateEventA(nullptr, TRUE, TRUE, nullptr);
    CloseHandle(old_handle);
    std::vector<HANDLE> fresh;
    for (int i = 0; i < 100; ++i)
        fresh.push_back(CreateEventA(nullptr, TRUE, TRUE, nullptr));
    SetLastError(0);
    EXPECT_EQ(WaitForSingleObject(old_handle, 0), WAIT_FAILED);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    EXPECT_FALSE(SetEvent(old_handle));
    EXPECT_FALSE(CloseHandle(old_handle));
    for (HANDLE h : fresh)
        EXPECT_TRUE(CloseHandle(h));
}

TEST(Handles, WrongTypeIsAnInvalidHandle)
{
    HANDLE event = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    HANDLE semaphore = CreateSemaphoreA(nullptr, 0, 1, nullptr);
    HANDLE mutex = CreateMutexA(nullptr, TRUE, nullptr);
    HandleCloser c1(event), c2(semaphore), c3(mutex);
    SetLastError(0);
    EXPECT_FALSE(SetEvent(mutex));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    SetLastError(0);
    EXPECT_FALSE(ReleaseSemaphore(mutex, 1, nullptr));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    SetLastError(0);
    EXPECT_FALSE(ReleaseMutex(semaphore));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    SetLastError(0);
    EXPECT_FALSE(ReleaseMutex(event));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    EXPECT_TRUE(ReleaseMutex(mutex));
}

TEST(Handles, ConcurrentUseAndCloseNeverCrashes)
{
    for (int round = 0; round < 50; ++round) {
        HANDLE event = CreateEventA(nullptr, FALSE, FALSE, nullptr);
        std::atomic<bool> stop{false};
        std::atomic<int> failures{0};
        std::thread user([&] {
            while (!stop.load()) {
                if (!SetEvent(event)) {
                    if (GetLastError() != ERROR_INVALID_HANDLE)
                        failures.fetch_add(1);
                    break;
                }
                DWORD r = WaitForSingleObject(event, 0);
                if (r == WAIT_FAILED && GetLastError() != ERROR_INVALID_HANDLE)
                    failures.fetch_add(1);
            }
        });
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        EXPECT_TRUE(CloseHandle(event));
        stop = true;
        user.join();
        EXPECT_EQ(failures.load(), 0);
    }
}

TEST(DescriptorHandles, NegativeDescriptorIsRejected)
{
    SetLastError(0);
    EXPECT_EQ(tpuring_handle_from_fd(-1), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
}

TEST(DescriptorHandles, RoundTripAndCloseClosesDescriptor)
{
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    HANDLE handle = tpuring_handle_from_fd(fds[0]);
    ASSERT_NE(handle, nullptr);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(handle) % 4, 0u);
    EXPECT_EQ(tpuring_handle_to_fd(handle), fds[0]);
    EXPECT_EQ(tpuring_handle_to_fd(with_low_bits(handle, 2)), fds[0]);
    EXPECT_EQ(fcntl(fds[0], F_GETFD), 0); // open
    EXPECT_TRUE(CloseHandle(handle));
    errno = 0;
    EXPECT_EQ(fcntl(fds[0], F_GETFD), -1); // closed with the handle
    EXPECT_EQ(errno, EBADF);
    SetLastError(0);
    EXPECT_EQ(tpuring_handle_to_fd(handle), -1);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    close(fds[1]);
}

TEST(DescriptorHandles, OtherHandlesHaveNoDescriptor)
{
    HANDLE event = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    HandleCloser closer(event);
    for (HANDLE handle : {event, static_cast<HANDLE>(nullptr), INVALID_HANDLE_VALUE, handle_value(0x1234)}) {
        SetLastError(0);
        EXPECT_EQ(tpuring_handle_to_fd(handle), -1) << handle;
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE)) << handle;
    }
}

TEST(DescriptorHandles, NotAnEventForSetEvent)
{
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    HANDLE handle = tpuring_handle_from_fd(fds[0]);
    HandleCloser closer(handle);
    SetLastError(0);
    EXPECT_FALSE(SetEvent(handle));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    close(fds[1]);
}
