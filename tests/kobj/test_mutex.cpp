// Mutexes: ownership, recursion, ERROR_NOT_OWNER and abandonment by exiting threads.
#include "kobj_test_support.h"

using namespace kobj_test;

namespace {

// Runs `body` on a new thread and joins it.
template <typename Body>
void on_other_thread(Body body)
{
    std::thread thread(body);
    thread.join();
}

} // namespace

TEST(Mutex, CreateSetsLastErrorToZero)
{
    SetLastError(kPlantedError);
    HANDLE mutex = CreateMutexA(nullptr, FALSE, nullptr);
    ASSERT_NE(mutex, nullptr);
    EXPECT_EQ(GetLastError(), 0u);
    CloseHandle(mutex);
    SetLastError(kPlantedError);
    mutex = CreateMutexW(nullptr, TRUE, nullptr);
    ASSERT_NE(mutex, nullptr);
    EXPECT_EQ(GetLastError(), 0u);
    EXPECT_TRUE(ReleaseMutex(mutex));
    CloseHandle(mutex);
}

TEST(Mutex, NamedMutexesAreNotSupported)
{
    SetLastError(0);
    EXPECT_EQ(CreateMutexA(nullptr, FALSE, "WineTestMutex"), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOT_SUPPORTED));
    static const WCHAR name[] = {'m', 0};
    SetLastError(0);
    EXPECT_EQ(CreateMutexW(nullptr, FALSE, name), nullptr);
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOT_SUPPORTED));
}

TEST(Mutex, OwnerMayWaitRecursivelyAndMustReleaseAsOften)
{
    HANDLE mutex = CreateMutexA(nullptr, TRUE, nullptr);
    HandleCloser closer(mutex);
    for (int i = 0; i < 31; ++i)
        ASSERT_EQ(WaitForSingleObject(mutex, 0), WAIT_OBJECT_0) << i;
    std::atomic<DWORD> other_result{0};
    for (int i = 0; i < 32; ++i) {
        on_other_thread([&] { other_result = WaitForSingleObject(mutex, 0); });
        EXPECT_EQ(other_result.load(), WAIT_TIMEOUT) << "still owned after " << i << " releases";
        SetLastError(kPlantedError);
        EXPECT_TRUE(ReleaseMutex(mutex)) << i;
        EXPECT_EQ(GetLastError(), kPlantedError);
    }
    SetLastError(0);
    EXPECT_FALSE(ReleaseMutex(mutex));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOT_OWNER));
    // Now free: another thread acquires it (and abandons it on exit).
    on_other_thread([&] { other_result = WaitForSingleObject(mutex, 0); });
    EXPECT_EQ(other_result.load(), WAIT_OBJECT_0);
}

TEST(Mutex, ReleaseByNonOwnerFails)
{
    HANDLE mutex = CreateMutexA(nullptr, FALSE, nullptr);
    HandleCloser closer(mutex);
    SetLastError(0);
    EXPECT_FALSE(ReleaseMutex(mutex)); // unowned
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_NOT_OWNER));

    ASSERT_EQ(WaitForSingleObject(mutex, 0), WAIT_OBJECT_0);
    std::atomic<BOOL> released{TRUE};
    std::atomic<DWORD> error{0};
    on_other_thread([&] {
        released = ReleaseMutex(mutex);
        error = GetLastError();
    });
    EXPECT_FALSE(released.load());
    EXPECT_EQ(error.load(), static_cast<DWORD>(ERROR_NOT_OWNER));
    EXPECT_TRUE(ReleaseMutex(mutex)); // still ours
}

TEST(Mutex, InitialOwnerOwnsIt)
{
    HANDLE mutex = CreateMutexA(nullptr, TRUE, nullptr);
    HandleCloser closer(mutex);
    std::atomic<DWORD> result{0};
    on_other_thread([&] { result = WaitForSingleObject(mutex, 0); });
    EXPECT_EQ(result.load(), WAIT_TIMEOUT);
    EXPECT_TRUE(ReleaseMutex(mutex));
    on_other_thread([&] {
        result = WaitForSingleObject(mutex, 0);
        ReleaseMutex(mutex);
    });
    EXPECT_EQ(result.load(), WAIT_OBJECT_0);
}

TEST(Mutex, ReleaseWakesBlockedWaiter)
{
    HANDLE mutex = CreateMutexA(nullptr, TRUE, nullptr);
    HandleCloser closer(mutex);
    std::atomic<DWORD> result{WAIT_FAILED};
    std::atomic<bool> started{false};
    std::thread waiter([&] {
        started = true;
        result = WaitForSingleObject(mutex, kLongWait);
        ReleaseMutex(mutex);
    });
    ASSERT_TRUE(eventually([&] { return started.load(); }));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(result.load(), WAIT_FAILED); // still blocked
    EXPECT_TRUE(ReleaseMutex(mutex));
    waiter.join();
    EXPECT_EQ(result.load(), WAIT_OBJECT_0);
}

TEST(Mutex, ExitingOwnerAbandonsIt)
{
    HANDLE mutex = CreateMutexA(nullptr, FALSE, nullptr);
    HandleCloser closer(mutex);
    on_other_thread([&] {
        ASSERT_EQ(WaitForSingleObject(mutex, 0), WAIT_OBJECT_0);
        ASSERT_EQ(WaitForSingleObject(mutex, 0), WAIT_OBJECT_0); // recursion 2, never released
    });
    SetLastError(kPlantedError);
    EXPECT_EQ(WaitForSingleObject(mutex, 0), WAIT_ABANDONED);
    EXPECT_EQ(GetLastError(), kPlantedError);
    // The abandoned wait made us the owner, with a recursion count of one.
    std::atomic<DWORD> result{0};
    on_other_thread([&] { result = WaitForSingleObject(mutex, 0); });
    EXPECT_EQ(result.load(), WAIT_TIMEOUT);
    EXPECT_TRUE(ReleaseMutex(mutex));
    EXPECT_FALSE(ReleaseMutex(mutex));
    // Abandonment is reported once.
    EXPECT_EQ(WaitForSingleObject(mutex, 0), WAIT_OBJECT_0);
    EXPECT_TRUE(ReleaseMutex(mutex));
}

TEST(Mutex, InitialOwnerThatExitsAbandonsIt)
{
    std::atomic<HANDLE> mutex{nullptr};
    on_other_thread([&] { mutex = CreateMutexA(nullptr, TRUE, nullptr); });
    ASSERT_NE(mutex.load(), nullptr);
    EXPECT_EQ(WaitForSingleObject(mutex.load(), 0), WAIT_ABANDONED);
    EXPECT_TRUE(ReleaseMutex(mutex.load()));
    CloseHandle(mutex.load());
}

TEST(Mutex, AbandonmentWakesBlockedWaiter)
{
    HANDLE mutex = CreateMutexA(nullptr, FALSE, nullptr);
    HandleCloser closer(mutex);
    std::atomic<bool> owned{false};
    std::thread owner([&] {
        WaitForSingleObject(mutex, 0);
        owned = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    });
    ASSERT_TRUE(eventually([&] { return owned.load(); }));
    EXPECT_EQ(WaitForSingleObject(mutex, kLongWait), WAIT_ABANDONED);
    owner.join();
    EXPECT_TRUE(ReleaseMutex(mutex));
}

TEST(Mutex, AbandonedMutexInWaitAnyReportsItsIndex)
{
    HANDLE event = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    HANDLE mutex = CreateMutexA(nullptr, FALSE, nullptr);
    HandleCloser c1(event), c2(mutex);
    on_other_thread([&] { WaitForSingleObject(mutex, 0); });
    HANDLE handles[] = {event, mutex};
    EXPECT_EQ(WaitForMultipleObjects(2, handles, FALSE, 0), WAIT_ABANDONED_0 + 1);
    EXPECT_TRUE(ReleaseMutex(mutex));
    EXPECT_EQ(WaitForMultipleObjects(2, handles, FALSE, 0), WAIT_OBJECT_0 + 1);
    EXPECT_TRUE(ReleaseMutex(mutex));
}

TEST(Mutex, AbandonedMutexesInWaitAllReportLowestIndex)
{
    HANDLE event = CreateEventA(nullptr, TRUE, TRUE, nullptr);
    HANDLE first = CreateMutexA(nullptr, FALSE, nullptr);
    HANDLE second = CreateMutexA(nullptr, FALSE, nullptr);
    HandleCloser c1(event), c2(first), c3(second);
    on_other_thread([&] {
        WaitForSingleObject(first, 0);
        WaitForSingleObject(second, 0);
    });
    HANDLE handles[] = {event, second, first};
    EXPECT_EQ(WaitForMultipleObjects(3, handles, TRUE, 0), WAIT_ABANDONED_0 + 1);
    EXPECT_TRUE(ReleaseMutex(first));
    EXPECT_TRUE(ReleaseMutex(second));
}

TEST(Mutex, ClosingLastHandleWhileOwnedIsSafe)
{
    on_other_thread([] {
        HANDLE mutex = CreateMutexA(nullptr, TRUE, nullptr);
        EXPECT_TRUE(CloseHandle(mutex));
        // The thread exits owning a mutex nobody can name: abandonment must not crash.
    });
    HANDLE mutex = CreateMutexA(nullptr, TRUE, nullptr);
    EXPECT_TRUE(CloseHandle(mutex));
    SetLastError(0);
    EXPECT_FALSE(ReleaseMutex(mutex));
    EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
}

TEST(Mutex, ReleaseRejectsBadHandles)
{
    HANDLE event = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    HandleCloser closer(event);
    for (HANDLE handle : {static_cast<HANDLE>(nullptr), handle_value(0x1234), event, INVALID_HANDLE_VALUE}) {
        SetLastError(0);
        EXPECT_FALSE(ReleaseMutex(handle)) << handle;
        EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE)) << handle;
    }
}

TEST(Mutex, ManyMutexesOwnedAtThreadExitAreAllAbandoned)
{
    HANDLE mutexes[10];
    for (HANDLE &m : mutexes)
        m = CreateMutexA(nullptr, FALSE, nullptr);
    on_other_thread([&] {
        for (HANDLE m : mutexes)
            WaitForSingleObject(m, 0);
        ReleaseMutex(mutexes[4]); // this one is released properly
    });
    for (int i = 0; i < 10; ++i) {
        EXPECT_EQ(WaitForSingleObject(mutexes[i], 0), i == 4 ? WAIT_OBJECT_0 : WAIT_ABANDONED) << i;
        EXPECT_TRUE(ReleaseMutex(mutexes[i]));
        CloseHandle(mutexes[i]);
    }
}
