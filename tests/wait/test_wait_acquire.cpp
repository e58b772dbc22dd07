// Acquire semantics of thread-pool waits (spec/wait.md "Satisfaction and WaitResult",
// kernel-objects.md §5): a satisfied wait changes the object exactly as a successful
// WaitForSingleObject — auto-reset event reset, semaphore −1, manual-reset event untouched —
// and waits compete with each other and with blocked threads like waiting threads. Also
// Wine's 512-wait tests: no 64-handle limit, exact matching, timeouts, closing them all.
#include "wait_support.h"

namespace {

using namespace waittest;

// In both dispatch modes: a direct pool's waits are handed signals by the signalling
// thread, a ring pool's waits are futex ops that the ring owner completes.
class AcquireTest : public DispatchTest {
protected:
    Pool pool{mode()};
};

// ---- One wait, one object --------------------------------------------------------------------

TEST_P(AcquireTest, AutoResetEventIsResetBySatisfiedWait)
{
    Handle event = make_event(false, false);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    SetThreadpoolWait(wait, event, nullptr);
    ASSERT_TRUE(SetEvent(event));
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->signalled.load());
    EXPECT_EQ(WAIT_TIMEOUT, WaitForSingleObject(event, 0));
}

TEST_P(AcquireTest, SemaphoreIsDecrementedByExactlyOne)
{
    Handle sem = make_semaphore(0, 10);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    SetThreadpoolWait(wait, sem, nullptr);
    ASSERT_TRUE(ReleaseSemaphore(sem, 3, nullptr));
    ASSERT_TRUE(log->wait_calls(1));
    settle(100ms);
    EXPECT_EQ(1, log->total());
    EXPECT_EQ(2, semaphore_count(sem));
    // Already signalled at arming time: one more unit.
    SetThreadpoolWait(wait, sem, nullptr);
    ASSERT_TRUE(log->wait_calls(2));
    settle(100ms);
    EXPECT_EQ(1, semaphore_count(sem));
}

TEST_P(AcquireTest, ManualResetEventIsNotReset)
{
    Handle event = make_event(true, false);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    SetThreadpoolWait(wait, event, nullptr);
    ASSERT_TRUE(SetEvent(event));
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->signalled.load());
    EXPECT_EQ(WAIT_OBJECT_0, WaitForSingleObject(event, 0));
    EXPECT_EQ(WAIT_OBJECT_0, WaitForSingleObject(event, 0));
}

// A manual-reset event releases every waiter at once: all waits armed on it report.
TEST_P(AcquireTest, ManualResetEventSatisfiesEveryWait)
{
    constexpr int kWaits = 8;
    Handle event = make_event(true, false);
    Shared<std::vector<WaitLog>> logs(kWaits);
    std::vector<std::unique_ptr<WaitObject>> waits;
    for (int i = 0; i < kWaits; ++i) {
        waits.push_back(std::make_unique<WaitObject>(log_wait, &(*logs)[i], pool.env()));
        SetThreadpoolWait(*waits.back(), event, nullptr);
    }
    ASSERT_TRUE(SetEvent(event));
    for (int i = 0; i < kWaits; ++i) {
        ASSERT_TRUE((*logs)[i].wait_calls(1)) << i;
        EXPECT_EQ(1, (*logs)[i].signalled.load());
    }
    waits.clear();
}

// An auto-reset event releases one waiter per SetEvent.
TEST_P(AcquireTest, AutoResetEventSatisfiesOneWaitPerSet)
{
    constexpr int kWaits = 4;
    Handle event = make_event(false, false);
    Shared<WaitLog> log; // shared by all waits
    std::vector<std::unique_ptr<WaitObject>> waits;
    for (int i = 0; i < kWaits; ++i) {
        waits.push_back(std::make_unique<WaitObject>(log_wait, log.get(), pool.env()));
        SetThreadpoolWait(*waits.back(), event, nullptr);
    }
    for (long n = 1; n <= kWaits; ++n) {
        ASSERT_TRUE(SetEvent(event));
        ASSERT_TRUE(log->wait_calls(n)) << n;
        settle(150ms);
        EXPECT_EQ(n, log->total()) << "one SetEvent satisfied several waits";
        EXPECT_EQ(WAIT_TIMEOUT, WaitForSingleObject(event, 0));
    }
    waits.clear();
}

// ---- Several waits on one semaphore -----------------------------------------------------------

// Wine: two waits on one semaphore (maximum 2), released by 1: exactly one callback, S at 0;
// released by 2: two callbacks.
TEST_P(AcquireTest, TwoWaitsOnASemaphoreReleasedByOneThenByTwo)
{
    Handle sem = make_semaphore(0, 2);
    Shared<WaitLog> log;
    WaitObject wait1(log_wait, log.get(), pool.env());
    WaitObject wait2(log_wait, log.get(), pool.env());
    SetThreadpoolWait(wait1, sem, nullptr);
    SetThreadpoolWait(wait2, sem, nullptr);
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    ASSERT_TRUE(log->wait_calls(1));
    settle();
    EXPECT_EQ(1, log->total());
    EXPECT_EQ(WAIT_TIMEOUT, WaitForSingleObject(sem, 0)); // at 0 (the other wait is still armed)
    // Disarm the remaining one, then re-arm both and release 2.
    SetThreadpoolWait(wait1, nullptr, nullptr);
    SetThreadpoolWait(wait2, nullptr, nullptr);
    WaitForThreadpoolWaitCallbacks(wait1, FALSE);
    WaitForThreadpoolWaitCallbacks(wait2, FALSE);
    EXPECT_EQ(1, log->total());
    SetThreadpoolWait(wait1, sem, nullptr);
    SetThreadpoolWait(wait2, sem, nullptr);
    ASSERT_TRUE(ReleaseSemaphore(sem, 2, nullptr));
    ASSERT_TRUE(log->wait_calls(3));
    settle();
    EXPECT_EQ(3, log->total());
    EXPECT_EQ(3, log->signalled.load());
    EXPECT_EQ(0, semaphore_count(sem));
}

// More units than waits: each wait takes one, the rest stays.
TEST_P(AcquireTest, ReleaseLargerThanTheWaitCountLeavesTheRest)
{
    constexpr int kWaits = 3;
    Handle sem = make_semaphore(0, 10);
    Shared<WaitLog> log;
    std::vector<std::unique_ptr<WaitObject>> waits;
    for (int i = 0; i < kWaits; ++i) {
        waits.push_back(std::make_unique<WaitObject>(log_wait, log.get(), pool.env()));
        SetThreadpoolWait(*waits.back(), sem, nullptr);
    }
    ASSERT_TRUE(ReleaseSemaphore(sem, 5, nullptr));
    ASSERT_TRUE(log->wait_calls(kWaits));
    settle();
    EXPECT_EQ(kWaits, log->total());
    EXPECT_EQ(2, semaphore_count(sem));
    waits.clear();
}

// A thread-pool wait and a thread blocked in WaitForSingleObject compete like two threads:
// each release of 1 satisfies exactly one of them.
TEST_P(AcquireTest, WaitCompetesWithABlockedThread)
{
    Handle sem = make_semaphore(0, 2);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    SetThreadpoolWait(wait, sem, nullptr);
    std::atomic<DWORD> thread_result{0xDEAD};
    Flag thread_done;
    std::thread blocked([&] {
        thread_result = WaitForSingleObject(sem, kWaitMs);
        thread_done.set();
    });
    settle(200ms); // let the thread block (either order is fine for the counts)
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    ASSERT_TRUE(eventually([&] { return log->total() + (thread_done.is_set() ? 1 : 0) >= 1; }));
    settle();
    EXPECT_EQ(1, log->total() + (thread_done.is_set() ? 1 : 0)) << "one unit satisfied two waiters";
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    ASSERT_TRUE(thread_done.wait());
    ASSERT_TRUE(log->wait_calls(1));
    blocked.join();
    EXPECT_EQ(WAIT_OBJECT_0, thread_result.load());
    EXPECT_EQ(1, log->signalled.load());
    EXPECT_EQ(0, semaphore_count(sem));
}

// WaitForMultipleObjects(bWaitAll) acquires atomically; a thread-pool wait on one of its
// objects must not lose the unit in between: every unit goes to exactly one of them.
TEST_P(AcquireTest, WaitCompetesWithAWaitAllCaller)
{
    Handle sem = make_semaphore(0, 4);
    Handle gate = make_event(true, true);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    SetThreadpoolWait(wait, sem, nullptr);
    std::atomic<DWORD> thread_result{0xDEAD};
    std::thread all([&] {
        HANDLE both[2] = {gate.get(), sem.get()};
        thread_result = WaitForMultipleObjects(2, both, TRUE, kWaitMs);
    });
    ASSERT_TRUE(ReleaseSemaphore(sem, 2, nullptr));
    all.join();
    ASSERT_TRUE(log->wait_calls(1));
    settle(100ms);
    EXPECT_EQ(WAIT_OBJECT_0, thread_result.load());
    EXPECT_EQ(1, log->total());
    EXPECT_EQ(0, semaphore_count(sem));
}

// ---- 512 waits --------------------------------------------------------------------------------

constexpr int kMany = 512;

struct ManyLog {
    std::atomic<int> fired[kMany] = {};
    std::atomic<int> last_index{-1};
    std::atomic<long> signalled{0};
    std::atomic<long> timeouts{0};
    Counter calls;
};

struct ManyContext {
    ManyLog *log;
    int index;
};

void CALLBACK many_wait(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WAIT, TP_WAIT_RESULT result)
{
    auto *c = static_cast<ManyContext *>(ctx);
    c->log->fired[c->index]++;
    c->log->last_index = c->index;
    if (result == WAIT_OBJECT_0)
        c->log->signalled++;
    else if (result == WAIT_TIMEOUT)
        c->log->timeouts++;
    c->log->calls.increment();
}

class ManyWaitsTest : public AcquireTest {
protected:
    void SetUp() override
    {
        for (int i = 0; i < kMany; ++i) {
            (*contexts)[i] = {log.get(), i};
            sems.push_back(make_semaphore(0, 1));
            PTP_WAIT wait = CreateThreadpoolWait(many_wait, &(*contexts)[i], pool.env());
            ASSERT_NE(nullptr, wait);
            waits.push_back(wait);
        }
    }
    void TearDown() override
    {
        for (PTP_WAIT wait : waits) {
            SetThreadpoolWait(wait, nullptr, nullptr);
            WaitForThreadpoolWaitCallbacks(wait, TRUE);
            CloseThreadpoolWait(wait);
        }
    }
    void arm_all(PFILETIME timeout)
    {
        for (int i = 0; i < kMany; ++i)
            SetThreadpoolWait(waits[i], sems[i], timeout);
    }
    // Releases each semaphore in turn and checks that exactly its own wait reports.
    void release_one_by_one(bool reverse, long already)
    {
        for (int k = 0; k < kMany; ++k) {
            int i = reverse ? kMany - 1 - k : k;
            ASSERT_TRUE(ReleaseSemaphore(sems[i], 1, nullptr));
            long expected = already + k + 1;
            ASSERT_TRUE(log->calls.wait_for_at_least(expected)) << "release of " << i;
            ASSERT_EQ(expected, log->calls.get()) << "release of " << i << " triggered another wait";
            ASSERT_EQ(i, log->last_index.load());
            ASSERT_EQ(reverse ? 2 : 1, log->fired[i].load()) << i;
        }
    }

    Shared<ManyLog> log;
    Shared<std::array<ManyContext, kMany>> contexts;
    std::vector<Handle> sems;
    std::vector<PTP_WAIT> waits;
};

// Wine: 512 waits on 512 semaphores; releasing each in turn, then in reverse order,
// triggers exactly the matching wait.
TEST_P(ManyWaitsTest, EachReleaseTriggersExactlyTheMatchingWaitInOrderAndInReverse)
{
    arm_all(nullptr);
    release_one_by_one(false, 0);
    EXPECT_EQ(kMany, log->signalled.load());
    arm_all(nullptr);
    release_one_by_one(true, kMany);
    settle();
    EXPECT_EQ(2 * kMany, log->calls.get());
    EXPECT_EQ(2 * kMany, log->signalled.load());
    for (int i = 0; i < kMany; ++i)
        EXPECT_EQ(WAIT_TIMEOUT, WaitForSingleObject(sems[i], 0)) << i;
}

// Wine: all 512 armed with −50 ms time out.
TEST_P(ManyWaitsTest, AllTimeOut)
{
    const auto start = Clock::now();
    FILETIME timeout = relative_ms(50);
    arm_all(&timeout);
    ASSERT_TRUE(log->calls.wait_for_at_least(kMany));
    EXPECT_GE(ms_since(start), 49);
    settle();
    EXPECT_EQ(kMany, log->calls.get());
    EXPECT_EQ(kMany, log->timeouts.load());
    for (int i = 0; i < kMany; ++i)
        EXPECT_EQ(1, log->fired[i].load()) << i;
}

// Wine: 512 armed waits released with CloseThreadpoolWait and their semaphores closed: no
// crash (and, here, no callback: closing disarms).
TEST_P(ManyWaitsTest, ClosingArmedWaitsAndTheirSemaphores)
{
    arm_all(nullptr);
    for (PTP_WAIT wait : waits)
        CloseThreadpoolWait(wait);
    waits.clear();
    for (Handle &sem : sems) {
        ReleaseSemaphore(sem, 1, nullptr);
        sem.reset();
    }
    settle();
    EXPECT_EQ(0, log->calls.get());
}

TPTEST_INSTANTIATE_DISPATCH_MODES(AcquireTest);
TPTEST_INSTANTIATE_DISPATCH_MODES(ManyWaitsTest);

} // namespace
