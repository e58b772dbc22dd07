// WaitForSingleObject / WaitForMultipleObjects: results, timeouts, argument checks,
// lowest-index wait-any, atomic wait-all, pseudo-handles and descriptor handles.
#include <unistd.h>

#include "kobj_test_support.h"

using namespace kobj_test;

TEST(WaitSingle, InvalidHandlesFail)
{
    HANDLE closed = CreateEventA(nullptr, TRUE, TRUE, nullptr);
    CloseHandle(closed);
    std::vector<HANDLE> bad = {nullptr, handle_value(0x1234), closed, handle_value(~std::uintptr_t{0} - 2),
                               handle_value(0x7fffffff00000000ULL)};
    for (std::uintptr_t k = 0; k < 4; ++k)
        bad.push_back(handle_value(0xdeadbee0 | k));
    for (HANDLE handle : bad) {
        SetLastError(0);
        EXPECT_EQ(WaitForSingleObject(handle, 0), WAIT_FAILED) << handle;
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE)) << handle;
    }
}

TEST(WaitSingle, LowTwoBitsOfHandleAreIgnored)
{
    HANDLE event = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    HandleCloser closer(event);
    for (std::uintptr_t k = 0; k < 4; ++k) {
        SetLastError(kPlantedError);
        EXPECT_EQ(WaitForSingleObject(with_low_bits(event, k), 0), WAIT_TIMEOUT) << k;
        EXPECT_EQ(GetLastError(), kPlantedError);
    }
    SetEvent(event);
    for (std::uintptr_t k = 0; k < 4; ++k) {
        SetLastError(kPlantedError);
        EXPECT_EQ(WaitForSingleObject(with_low_bits(event, k), 0), WAIT_OBJECT_0) << k;
        EXPECT_EQ(GetLastError(), kPlantedError);
    }
    EXPECT_TRUE(ResetEvent(with_low_bits(event, 3)));
    EXPECT_EQ(WaitForSingleObject(event, 0), WAIT_TIMEOUT);
}

TEST(WaitSingle, TimeoutWaitsAtLeastTheGivenTime)
{
    HANDLE event = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    HandleCloser closer(event);
    auto start = std::chrono::steady_clock::now();
    SetLastError(kPlantedError);
    EXPECT_EQ(WaitForSingleObject(event, 60), WAIT_TIMEOUT);
    EXPECT_EQ(GetLastError(), kPlantedError);
    EXPECT_GE(elapsed_ms(start), 59);
}

TEST(WaitSingle, PseudoHandlesNeverSignal)
{
    for (HANDLE handle : {GetCurrentProcess(), GetCurrentThread(), INVALID_HANDLE_VALUE}) {
        SetLastError(kPlantedError);
        EXPECT_EQ(WaitForSingleObject(handle, 0), WAIT_TIMEOUT);
        auto start = std::chrono::steady_clock::now();
        EXPECT_EQ(WaitForSingleObject(handle, 30), WAIT_TIMEOUT);
        EXPECT_GE(elapsed_ms(start), 29);
        EXPECT_EQ(GetLastError(), kPlantedError);
    }
}

TEST(WaitSingle, ExVariantIgnoresAlertable)
{
    HANDLE event = CreateEventA(nullptr, FALSE, TRUE, nullptr);
    HandleCloser closer(event);
    EXPECT_EQ(WaitForSingleObjectEx(event, 0, TRUE), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForSingleObjectEx(event, 0, TRUE), WAIT_TIMEOUT);
}

TEST(WaitMultiple, CountMustBeOneToSixtyFour)
{
    HANDLE events[65];
    for (HANDLE &e : events)
        e = CreateEventA(nullptr, TRUE, TRUE, nullptr);
    for (DWORD count : {0u, 65u, 1000u, 0xFFFFFFFFu}) {
        for (BOOL all : {FALSE, TRUE}) {
            SetLastError(0);
            EXPECT_EQ(WaitForMultipleObjects(count, events, all, 0), WAIT_FAILED) << count;
            EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER)) << count;
        }
    }
    EXPECT_EQ(WaitForMultipleObjects(64, events, TRUE, 0), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForMultipleObjects(1, events, FALSE, 0), WAIT_OBJECT_0);
    for (HANDLE e : events)
        CloseHandle(e);
}

TEST(WaitMultiple, NullArrayFails)
{
    SetLastError(0);
    EXPECT_EQ(WaitForMultipleObjects(1, nullptr, FALSE, 0), WAIT_FAILED);
    EXPECT_NE(GetLastError(), 0u);
}

TEST(WaitMultiple, AnyInvalidHandleFailsTheWait)
{
    HANDLE event = CreateEventA(nullptr, FALSE, TRUE, nullptr);
    HandleCloser closer(event);
    for (BOOL all : {FALSE, TRUE}) {
        HANDLE handles[] = {event, handle_value(0x1234)};
        SetLastError(0);
        EXPECT_EQ(WaitForMultipleObjects(2, handles, all, 0), WAIT_FAILED);
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
    }
    EXPECT_EQ(WaitForSingleObject(event, 0), WAIT_OBJECT_0); // not consumed by the failed waits
}

// The sequence observed on Windows with one manual-reset and 63 auto-reset events.
TEST(WaitMultiple, WaitAnyTakesLowestIndexFirst)
{
    HANDLE events[64];
    events[0] = CreateEventA(nullptr, TRUE, TRUE, nullptr);
    for (int i = 1; i < 64; ++i)
        events[i] = CreateEventA(nullptr, FALSE, TRUE, nullptr);
    SetLastError(kPlantedError);
    EXPECT_EQ(WaitForMultipleObjects(64, events, FALSE, 0), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForMultipleObjects(64, events, FALSE, 0), WAIT_OBJECT_0);
    EXPECT_TRUE(ResetEvent(events[0]));
    for (DWORD i = 1; i < 64; ++i)
        EXPECT_EQ(WaitForMultipleObjects(64, events, FALSE, 0), WAIT_OBJECT_0 + i);
    EXPECT_EQ(WaitForMultipleObjects(64, events, FALSE, 0), WAIT_TIMEOUT);
    EXPECT_EQ(GetLastError(), kPlantedError);
    for (HANDLE e : events)
        CloseHandle(e);
}

TEST(WaitMultiple, WaitAnyModifiesOnlyTheObjectReturned)
{
    HANDLE semaphore = CreateSemaphoreA(nullptr, 1, 1, nullptr);
    HANDLE event = CreateEventA(nullptr, FALSE, TRUE, nullptr);
    HandleCloser c1(semaphore), c2(event);
    HANDLE handles[] = {semaphore, event};
    EXPECT_EQ(WaitForMultipleObjects(2, handles, FALSE, 0), WAIT_OBJECT_0);
    EXPECT_TRUE(auto_event_is_signaled(event));
    EXPECT_EQ(WaitForMultipleObjects(2, handles, FALSE, 0), WAIT_OBJECT_0 + 1);
    EXPECT_EQ(WaitForMultipleObjects(2, handles, FALSE, 0), WAIT_TIMEOUT);
}

TEST(WaitMultiple, WaitAnyWakesForLaterSignal)
{
    HANDLE events[5];
    for (HANDLE &e : events)
        e = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    std::thread setter([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        SetEvent(events[3]);
    });
    EXPECT_EQ(WaitForMultipleObjects(5, events, FALSE, kLongWait), WAIT_OBJECT_0 + 3);
    setter.join();
    EXPECT_EQ(WaitForMultipleObjects(5, events, FALSE, 0), WAIT_TIMEOUT);
    for (HANDLE e : events)
        CloseHandle(e);
}

TEST(WaitMultiple, WaitAnyTimesOut)
{
    HANDLE events[3];
    for (HANDLE &e : events)
        e = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(WaitForMultipleObjects(3, events, FALSE, 40), WAIT_TIMEOUT);
    EXPECT_GE(elapsed_ms(start), 39);
    for (HANDLE e : events)
        CloseHandle(e);
}

TEST(WaitMultiple, WaitAnyAllowsDuplicates)
{
    HANDLE event = CreateEventA(nullptr, FALSE, TRUE, nullptr);
    HandleCloser closer(event);
    HANDLE handles[] = {event, event, with_low_bits(event, 1)};
    EXPECT_EQ(WaitForMultipleObjects(3, handles, FALSE, 0), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForMultipleObjects(3, handles, FALSE, 0), WAIT_TIMEOUT);
}

TEST(WaitMultiple, WaitAllRejectsDuplicates)
{
    HANDLE event = CreateEventA(nullptr, TRUE, TRUE, nullptr);
    HANDLE other = CreateEventA(nullptr, TRUE, TRUE, nullptr);
    HandleCloser c1(event), c2(other);
    HANDLE same[] = {event, other, event};
    SetLastError(0);
    EXPECT_EQ(WaitForMultipleObjects(3, same, TRUE, 0), WAIT_FAILED);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    HANDLE alias[] = {event, with_low_bits(event, 2)};
    SetLastError(0);
    EXPECT_EQ(WaitForMultipleObjects(2, alias, TRUE, 0), WAIT_FAILED);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
    HANDLE pseudo[] = {GetCurrentProcess(), GetCurrentProcess()};
    SetLastError(0);
    EXPECT_EQ(WaitForMultipleObjects(2, pseudo, TRUE, 0), WAIT_FAILED);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_PARAMETER));
}

TEST(WaitMultiple, WaitAllAcquiresEverythingTogether)
{
    HANDLE manual = CreateEventA(nullptr, TRUE, TRUE, nullptr);
    HANDLE automatic = CreateEventA(nullptr, FALSE, TRUE, nullptr);
    HANDLE semaphore = CreateSemaphoreA(nullptr, 2, 2, nullptr);
    HANDLE mutex = CreateMutexA(nullptr, FALSE, nullptr);
    HandleCloser c1(manual), c2(automatic), c3(semaphore), c4(mutex);
    HANDLE handles[] = {manual, automatic, semaphore, mutex};
    SetLastError(kPlantedError);
    EXPECT_EQ(WaitForMultipleObjects(4, handles, TRUE, 0), WAIT_OBJECT_0);
    EXPECT_EQ(GetLastError(), kPlantedError);
    EXPECT_EQ(WaitForSingleObject(manual, 0), WAIT_OBJECT_0);     // unchanged
    EXPECT_EQ(WaitForSingleObject(automatic, 0), WAIT_TIMEOUT);   // reset
    LONG previous = -1;
    EXPECT_TRUE(ReleaseSemaphore(semaphore, 1, &previous));
    EXPECT_EQ(previous, 1);                                       // one unit taken
    EXPECT_TRUE(ReleaseMutex(mutex));                             // owned by us
    EXPECT_FALSE(ReleaseMutex(mutex));
}

TEST(WaitMultiple, WaitAllWithoutAllSignaledTakesNothing)
{
    HANDLE automatic = CreateEventA(nullptr, FALSE, TRUE, nullptr);
    HANDLE semaphore = CreateSemaphoreA(nullptr, 1, 1, nullptr);
    HANDLE unsignaled = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    HandleCloser c1(automatic), c2(semaphore), c3(unsignaled);
    HANDLE handles[] = {automatic, semaphore, unsignaled};
    EXPECT_EQ(WaitForMultipleObjects(3, handles, TRUE, 0), WAIT_TIMEOUT);
    EXPECT_EQ(WaitForMultipleObjects(3, handles, TRUE, 30), WAIT_TIMEOUT);
    EXPECT_TRUE(auto_event_is_signaled(automatic));
    EXPECT_FALSE(ReleaseSemaphore(semaphore, 1, nullptr)); // still full
    SetEvent(unsignaled);
    EXPECT_EQ(WaitForMultipleObjects(3, handles, TRUE, 0), WAIT_OBJECT_0);
}

TEST(WaitMultiple, WaitAllWakesWhenLastObjectIsSignaled)
{
    HANDLE first = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    HANDLE second = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    HandleCloser c1(first), c2(second);
    std::thread setter([&] {
        SetEvent(first);
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        SetEvent(second);
    });
    HANDLE handles[] = {first, second};
    EXPECT_EQ(WaitForMultipleObjects(2, handles, TRUE, kLongWait), WAIT_OBJECT_0);
    setter.join();
    EXPECT_EQ(WaitForSingleObject(first, 0), WAIT_TIMEOUT);
    EXPECT_EQ(WaitForSingleObject(second, 0), WAIT_TIMEOUT);
}

// A wait-all blocked by a mutex that another thread holds must leave the signaled
// auto-reset event alone, and take both once the mutex is released.
TEST(WaitMultiple, WaitAllDoesNotConsumeWhileBlocked)
{
    HANDLE event = CreateEventA(nullptr, FALSE, TRUE, nullptr);
    HANDLE mutex = CreateMutexA(nullptr, FALSE, nullptr);
    HANDLE release_mutex = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    HandleCloser c1(event), c2(mutex), c3(release_mutex);
    std::atomic<bool> holding{false};
    std::thread holder([&] {
        WaitForSingleObject(mutex, 0);
        holding = true;
        WaitForSingleObject(release_mutex, kLongWait);
        ReleaseMutex(mutex);
    });
    ASSERT_TRUE(eventually([&] { return holding.load(); }));

    std::atomic<DWORD> result{WAIT_FAILED};
    std::atomic<bool> done{false};
    std::thread waiter([&] {
        HANDLE handles[] = {event, mutex};
        result = WaitForMultipleObjects(2, handles, TRUE, kLongWait);
        done = true;
        if (result == WAIT_OBJECT_0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(30));
            ReleaseMutex(mutex);
        }
    });
    for (int i = 0; i < 5; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        EXPECT_FALSE(done.load());
        EXPECT_TRUE(auto_event_is_signaled(event)) << i; // check and put back
    }
    HANDLE handles[] = {event, mutex};
    EXPECT_EQ(WaitForMultipleObjects(2, handles, TRUE, 0), WAIT_TIMEOUT);

    SetEvent(release_mutex);
    ASSERT_TRUE(eventually([&] { return done.load(); }));
    EXPECT_EQ(result.load(), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForSingleObject(event, 0), WAIT_TIMEOUT); // consumed with the mutex
    // The waiter owns the mutex until it releases it.
    EXPECT_EQ(WaitForSingleObject(mutex, kLongWait), WAIT_OBJECT_0);
    EXPECT_TRUE(ReleaseMutex(mutex));
    holder.join();
    waiter.join();
}

TEST(WaitMultiple, WaitAllLetsOthersTakeObjectsMeanwhile)
{
    HANDLE semaphore = CreateSemaphoreA(nullptr, 1, 1, nullptr);
    HANDLE gate = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    HandleCloser c1(semaphore), c2(gate);
    std::atomic<DWORD> result{WAIT_FAILED};
    std::thread waiter([&] {
        HANDLE handles[] = {semaphore, gate};
        result = WaitForMultipleObjects(2, handles, TRUE, kLongWait);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(WaitForSingleObject(semaphore, 0), WAIT_OBJECT_0); // taken from under the wait-all
    SetEvent(gate);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(result.load(), WAIT_FAILED); // semaphore gone: still waiting
    ReleaseSemaphore(semaphore, 1, nullptr);
    waiter.join();
    EXPECT_EQ(result.load(), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForSingleObject(semaphore, 0), WAIT_TIMEOUT);
}

TEST(WaitMultiple, WaitAllOnOwnedMutexCountsRecursion)
{
    HANDLE mutex = CreateMutexA(nullptr, TRUE, nullptr);
    HANDLE event = CreateEventA(nullptr, TRUE, TRUE, nullptr);
    HandleCloser c1(mutex), c2(event);
    HANDLE handles[] = {mutex, event};
    EXPECT_EQ(WaitForMultipleObjects(2, handles, TRUE, 0), WAIT_OBJECT_0);
    EXPECT_TRUE(ReleaseMutex(mutex));
    EXPECT_TRUE(ReleaseMutex(mutex));
    EXPECT_FALSE(ReleaseMutex(mutex));
}

TEST(WaitMultiple, WaitAllWithPseudoHandleTimesOut)
{
    HANDLE event = CreateEventA(nullptr, FALSE, TRUE, nullptr);
    HandleCloser closer(event);
    HANDLE handles[] = {event, GetCurrentProcess(), GetCurrentThread()};
    EXPECT_EQ(WaitForMultipleObjects(3, handles, TRUE, 20), WAIT_TIMEOUT);
    EXPECT_TRUE(auto_event_is_signaled(event));
    EXPECT_EQ(WaitForMultipleObjects(3, handles, FALSE, 0), WAIT_OBJECT_0);
}

TEST(WaitMultiple, ExVariantIgnoresAlertable)
{
    HANDLE event = CreateEventA(nullptr, FALSE, TRUE, nullptr);
    HandleCloser closer(event);
    EXPECT_EQ(WaitForMultipleObjectsEx(1, &event, TRUE, 0, TRUE), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForMultipleObjectsEx(1, &event, FALSE, 0, TRUE), WAIT_TIMEOUT);
}

// ---- descriptor handles ------------------------------------------------------------------

class DescriptorWait : public ::testing::Test {
protected:
    void SetUp() override
    {
        int fds[2];
        ASSERT_EQ(pipe(fds), 0);
        read_handle = tpuring_handle_from_fd(fds[0]);
        write_fd = fds[1];
        ASSERT_NE(read_handle, nullptr);
    }
    void TearDown() override
    {
        CloseHandle(read_handle);
        close(write_fd);
    }
    void write_byte() { ASSERT_EQ(write(write_fd, "x", 1), 1); }

    HANDLE read_handle = nullptr;
    int write_fd = -1;
};

TEST_F(DescriptorWait, SignaledWhileReadableAndNotConsumed)
{
    EXPECT_EQ(WaitForSingleObject(read_handle, 0), WAIT_TIMEOUT);
    EXPECT_EQ(WaitForSingleObject(read_handle, 20), WAIT_TIMEOUT);
    write_byte();
    EXPECT_EQ(WaitForSingleObject(read_handle, 0), WAIT_OBJECT_0);
    EXPECT_EQ(WaitForSingleObject(read_handle, 0), WAIT_OBJECT_0);
    char byte;
    ASSERT_EQ(read(tpuring_handle_to_fd(read_handle), &byte, 1), 1);
    EXPECT_EQ(WaitForSingleObject(read_handle, 0), WAIT_TIMEOUT);
}

TEST_F(DescriptorWait, BlockedWaitWakesOnData)
{
    std::thread writer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        write_byte();
    });
    EXPECT_EQ(WaitForSingleObject(read_handle, kLongWait), WAIT_OBJECT_0);
    writer.join();
}

TEST_F(DescriptorWait, HangUpSignals)
{
    close(write_fd);
    write_fd = -1;
    EXPECT_EQ(WaitForSingleObject(read_handle, kLongWait), WAIT_OBJECT_0);
}

TEST_F(DescriptorWait, MixedWaitAnyWakesForDescriptor)
{
    HANDLE event = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    HandleCloser closer(event);
    HANDLE handles[] = {event, read_handle};
    EXPECT_EQ(WaitForMultipleObjects(2, handles, FALSE, 20), WAIT_TIMEOUT);
    std::thread writer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        write_byte();
    });
    EXPECT_EQ(WaitForMultipleObjects(2, handles, FALSE, kLongWait), WAIT_OBJECT_0 + 1);
    writer.join();
}

TEST_F(DescriptorWait, MixedWaitAnyWakesForEvent)
{
    HANDLE event = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    HandleCloser closer(event);
    HANDLE handles[] = {read_handle, event};
    std::thread setter([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        SetEvent(event);
    });
    EXPECT_EQ(WaitForMultipleObjects(2, handles, FALSE, kLongWait), WAIT_OBJECT_0 + 1);
    setter.join();
    EXPECT_EQ(WaitForSingleObject(event, 0), WAIT_TIMEOUT);
}

TEST_F(DescriptorWait, MixedWaitAllNeedsBoth)
{
    HANDLE event = CreateEventA(nullptr, FALSE, TRUE, nullptr);
    HandleCloser closer(event);
    HANDLE handles[] = {event, read_handle};
    EXPECT_EQ(WaitForMultipleObjects(2, handles, TRUE, 20), WAIT_TIMEOUT);
    EXPECT_TRUE(auto_event_is_signaled(event));
    std::thread writer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        write_byte();
    });
    EXPECT_EQ(WaitForMultipleObjects(2, handles, TRUE, kLongWait), WAIT_OBJECT_0);
    writer.join();
    EXPECT_EQ(WaitForSingleObject(event, 0), WAIT_TIMEOUT);
}
