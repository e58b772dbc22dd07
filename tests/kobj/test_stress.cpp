// Many threads signalling and waiting at once: no signal lost, none counted twice.
#include <vector>

#include "kobj_test_support.h"

using namespace kobj_test;

namespace {
constexpr int kProducers = 3;
constexpr int kConsumers = 3;
constexpr int kSignalsPerProducer = 3000;
constexpr int kTotalSignals = kProducers * kSignalsPerProducer;
} // namespace

// Producers set an auto-reset event only after the previous signal was consumed (an
// "ack" semaphore passes the turn), so no SetEvent merges into a pending one: every
// signal must satisfy exactly one wait.
TEST(Stress, AutoResetEventSignalsAreNeverLost)
{
    HANDLE event = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    HANDLE ack = CreateSemaphoreA(nullptr, 1, 1, nullptr);
    HandleCloser c1(event), c2(ack);
    std::atomic<int> consumed{0};
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int p = 0; p < kProducers; ++p)
        threads.emplace_back([&] {
            for (int i = 0; i < kSignalsPerProducer; ++i) {
                if (WaitForSingleObject(ack, kLongWait) != WAIT_OBJECT_0) {
                    failures.fetch_add(1);
                    return;
                }
                SetEvent(event);
            }
        });
    for (int c = 0; c < kConsumers; ++c)
        threads.emplace_back([&] {
            while (consumed.load() < kTotalSignals) {
                DWORD r = WaitForSingleObject(event, 50);
                if (r == WAIT_OBJECT_0) {
                    consumed.fetch_add(1);
                    ReleaseSemaphore(ack, 1, nullptr);
                } else if (r != WAIT_TIMEOUT) {
                    failures.fetch_add(1);
                    return;
                }
            }
        });
    for (auto &t : threads)
        t.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(consumed.load(), kTotalSignals);
    EXPECT_EQ(WaitForSingleObject(event, 0), WAIT_TIMEOUT);
}

TEST(Stress, SemaphoreUnitsAreCountedExactly)
{
    HANDLE semaphore = CreateSemaphoreA(nullptr, 0, 0x7fffffff, nullptr);
    HandleCloser closer(semaphore);
    std::atomic<int> consumed{0};
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int p = 0; p < kProducers; ++p)
        threads.emplace_back([&, p] {
            for (int i = 0; i < kSignalsPerProducer;) {
                LONG batch = (p == 0 && i + 3 <= kSignalsPerProducer) ? 3 : 1;
                if (!ReleaseSemaphore(semaphore, batch, nullptr))
                    failures.fetch_add(1);
                i += batch;
            }
        });
    for (int c = 0; c < kConsumers; ++c)
        threads.emplace_back([&] {
            while (consumed.load() < kTotalSignals) {
                DWORD r = WaitForSingleObject(semaphore, 50);
                if (r == WAIT_OBJECT_0)
                    consumed.fetch_add(1);
                else if (r != WAIT_TIMEOUT)
                    failures.fetch_add(1);
            }
        });
    for (auto &t : threads)
        t.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(consumed.load(), kTotalSignals);
    EXPECT_EQ(WaitForSingleObject(semaphore, 0), WAIT_TIMEOUT);
}

// Single waits, wait-any and wait-all compete for units of two semaphores: every unit
// released is taken exactly once, whichever way.
TEST(Stress, MixedWaitKindsNeitherLoseNorDuplicateUnits)
{
    HANDLE a = CreateSemaphoreA(nullptr, 0, 0x7fffffff, nullptr);
    HANDLE b = CreateSemaphoreA(nullptr, 0, 0x7fffffff, nullptr);
    HandleCloser c1(a), c2(b);
    constexpr int kReleasesEach = 4000;
    std::atomic<int> taken_a{0}, taken_b{0};
    std::atomic<bool> producers_done{false};
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    threads.emplace_back([&] {
        for (int i = 0; i < kReleasesEach; ++i) {
            ReleaseSemaphore(a, 1, nullptr);
            ReleaseSemaphore(b, 1, nullptr);
        }
        producers_done = true;
    });
    auto keep_going = [&] { return !producers_done.load() || taken_a.load() + taken_b.load() < 2 * kReleasesEach; };
    threads.emplace_back([&] { // wait-all on both
        HANDLE both[] = {a, b};
        while (keep_going()) {
            DWORD r = WaitForMultipleObjects(2, both, TRUE, 5);
            if (r == WAIT_OBJECT_0) {
                taken_a.fetch_add(1);
                taken_b.fetch_add(1);
            } else if (r != WAIT_TIMEOUT) {
                failures.fetch_add(1);
            }
        }
    });
    threads.emplace_back([&] { // wait-any
        HANDLE either[] = {b, a};
        while (keep_going()) {
            DWORD r = WaitForMultipleObjects(2, either, FALSE, 5);
            if (r == WAIT_OBJECT_0)
                taken_b.fetch_add(1);
            else if (r == WAIT_OBJECT_0 + 1)
                taken_a.fetch_add(1);
            else if (r != WAIT_TIMEOUT)
                failures.fetch_add(1);
        }
    });
    threads.emplace_back([&] { // single waits on a
        while (keep_going()) {
            DWORD r = WaitForSingleObject(a, 5);
            if (r == WAIT_OBJECT_0)
                taken_a.fetch_add(1);
            else if (r != WAIT_TIMEOUT)
                failures.fetch_add(1);
        }
    });
    for (auto &t : threads)
        t.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(taken_a.load(), kReleasesEach);
    EXPECT_EQ(taken_b.load(), kReleasesEach);
    EXPECT_EQ(WaitForSingleObject(a, 0), WAIT_TIMEOUT);
    EXPECT_EQ(WaitForSingleObject(b, 0), WAIT_TIMEOUT);
}

// A mutex taken by single waits and by wait-alls (with a manual-reset event) excludes
// every other holder: an unprotected counter comes out exact.
TEST(Stress, MutexExcludesAcrossWaitKinds)
{
    HANDLE mutex = CreateMutexA(nullptr, FALSE, nullptr);
    HANDLE open_gate = CreateEventA(nullptr, TRUE, TRUE, nullptr);
    HandleCloser c1(mutex), c2(open_gate);
    long counter = 0;
    constexpr int kThreads = 4;
    constexpr int kIterations = 2000;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            HANDLE handles[] = {open_gate, mutex};
            for (int i = 0; i < kIterations; ++i) {
                DWORD r = (t % 2 == 0) ? WaitForSingleObject(mutex, kLongWait)
                                       : WaitForMultipleObjects(2, handles, TRUE, kLongWait);
                if (r != WAIT_OBJECT_0) {
                    failures.fetch_add(1);
                    return;
                }
                ++counter;
                if (!ReleaseMutex(mutex))
                    failures.fetch_add(1);
            }
        });
    for (auto &t : threads)
        t.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(counter, static_cast<long>(kThreads) * kIterations);
}

// Many wait-alls over overlapping sets in different orders: the address-ordered locking
// must not deadlock, and the units balance.
TEST(Stress, OverlappingWaitAllsDoNotDeadlock)
{
    constexpr int kObjects = 4;
    HANDLE semaphores[kObjects];
    for (HANDLE &s : semaphores)
        s = CreateSemaphoreA(nullptr, 0, 0x7fffffff, nullptr);
    constexpr int kRounds = 1500;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kObjects; ++t)
        threads.emplace_back([&, t] {
            HANDLE pair[] = {semaphores[(t + 1) % kObjects], semaphores[t]};
            for (int i = 0; i < kRounds; ++i)
                if (WaitForMultipleObjects(2, pair, TRUE, kLongWait) != WAIT_OBJECT_0) {
                    failures.fetch_add(1);
                    return;
                }
        });
    // Each semaphore is in two pairs: two units per round.
    for (int i = 0; i < kRounds; ++i)
        for (HANDLE s : semaphores)
            ReleaseSemaphore(s, 2, nullptr);
    for (auto &t : threads)
        t.join();
    EXPECT_EQ(failures.load(), 0);
    for (HANDLE s : semaphores) {
        EXPECT_EQ(WaitForSingleObject(s, 0), WAIT_TIMEOUT);
        CloseHandle(s);
    }
}
