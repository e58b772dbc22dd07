// UnregisterWait and UnregisterWaitEx (spec/legacy-api.md): the three completion modes
// before, during and after a callback, unregistering from the callback itself, and the
// point after which no callback starts. Registration itself is in test_register_wait.cpp.
#include "wait_support.h"

namespace {

using namespace waittest;

// ---- UnregisterWait(Ex) -------------------------------------------------------------------------------------

// Wine: UnregisterWait(NULL) -> FALSE, ERROR_INVALID_HANDLE; the same for UnregisterWaitEx.
TEST(UnregisterWait, NullHandleIsInvalidHandle)
{
    Handle event = make_event(true, false);
    SetLastError(0);
    EXPECT_FALSE(UnregisterWait(nullptr));
    EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_HANDLE), GetLastError());
    for (HANDLE completion : {static_cast<HANDLE>(nullptr), INVALID_HANDLE_VALUE, event.get()}) {
        SetLastError(0);
        EXPECT_FALSE(UnregisterWaitEx(nullptr, completion));
        EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_HANDLE), GetLastError());
    }
    // "For any other error the event will not be signaled."
    EXPECT_EQ(WAIT_TIMEOUT, WaitForSingleObject(event, 0));
}

// Wine: UnregisterWaitEx(h, NULL), (h, INVALID_HANDLE_VALUE), (h, event) before any
// trigger all succeed; the event is signalled.
TEST(UnregisterWait, AllModesSucceedBeforeAnyTrigger)
{
    Handle sem = make_semaphore(0, 1);
    Handle event = make_event(true, false);
    Shared<RegLog> log;
    HANDLE h1 = nullptr, h2 = nullptr, h3 = nullptr;
    ASSERT_TRUE(RegisterWaitForSingleObject(&h1, sem, reg_log, log.get(), INFINITE, WT_EXECUTEDEFAULT));
    ASSERT_TRUE(RegisterWaitForSingleObject(&h2, sem, reg_log, log.get(), INFINITE, WT_EXECUTEDEFAULT));
    ASSERT_TRUE(RegisterWaitForSingleObject(&h3, sem, reg_log, log.get(), INFINITE, WT_EXECUTEDEFAULT));
    EXPECT_TRUE(UnregisterWaitEx(h1, nullptr));
    EXPECT_TRUE(UnregisterWaitEx(h2, INVALID_HANDLE_VALUE));
    EXPECT_TRUE(UnregisterWaitEx(h3, event));
    EXPECT_TRUE(signaled_within(event));
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    settle();
    EXPECT_EQ(0, log->calls.get());
    EXPECT_TRUE(semaphore_full(sem));
}

// Wine: the same three after a finished timeout callback: all succeed; event signalled.
TEST(UnregisterWait, AllModesSucceedAfterAFinishedTimeoutCallback)
{
    Handle sem = make_semaphore(0, 1);
    Handle event = make_event(true, false);
    Shared<RegLog> log;
    HANDLE h[3] = {};
    for (HANDLE &registration : h)
        ASSERT_TRUE(RegisterWaitForSingleObject(&registration, sem, reg_log, log.get(), 0, WT_EXECUTEONLYONCE));
    ASSERT_TRUE(log->calls.wait_for_at_least(3));
    settle(1000ms); // let the callbacks return
    EXPECT_EQ(3, log->timed_out.load());
    EXPECT_TRUE(UnregisterWaitEx(h[0], nullptr));
    EXPECT_TRUE(UnregisterWaitEx(h[1], INVALID_HANDLE_VALUE));
    EXPECT_TRUE(UnregisterWaitEx(h[2], event));
    EXPECT_TRUE(signaled_within(event));
}

// A registration whose callback blocks until the test opens its gate.
struct Gated {
    Flag entered;
    Flag gate;
    Flag finished;
    std::atomic<long> calls{0};
};

void CALLBACK gated_callback(PVOID ctx, BOOLEAN)
{
    auto *g = static_cast<Gated *>(ctx);
    ++g->calls;
    g->entered.set();
    if (!g->gate.wait(kLongTimeout))
        ADD_FAILURE() << "gate never opened";
    g->finished.set();
}

class UnregisterWhileRunning : public ::testing::Test {
protected:
    // Registers (without ONLYONCE) on `sem` and waits until its callback is blocked.
    void start()
    {
        ASSERT_TRUE(RegisterWaitForSingleObject(&h, sem, gated_callback, g.get(), INFINITE, WT_EXECUTEDEFAULT));
        ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
        ASSERT_TRUE(g->entered.wait());
    }
    // After the unregistration: a new release produces nothing and stays in the semaphore.
    void expect_no_more_callbacks()
    {
        ASSERT_TRUE(g->finished.wait());
        ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
        settle();
        EXPECT_EQ(1, g->calls.load());
        EXPECT_TRUE(semaphore_full(sem));
    }
    void TearDown() override { g->gate.set(); }

    Handle sem = make_semaphore(0, 1);
    Shared<Gated> g;
    HANDLE h = nullptr;
};

// Wine / fine point: UnregisterWait while the callback runs -> FALSE, ERROR_IO_PENDING, and
// the unregistration still takes effect.
TEST_F(UnregisterWhileRunning, UnregisterWaitIsPending)
{
    start();
    SetLastError(0);
    EXPECT_FALSE(UnregisterWait(h));
    EXPECT_EQ(static_cast<DWORD>(ERROR_IO_PENDING), GetLastError());
    EXPECT_FALSE(g->finished.is_set()); // it did not wait
    g->gate.set();
    expect_no_more_callbacks();
}

TEST_F(UnregisterWhileRunning, UnregisterWaitExNullIsPending)
{
    start();
    SetLastError(0);
    EXPECT_FALSE(UnregisterWaitEx(h, nullptr));
    EXPECT_EQ(static_cast<DWORD>(ERROR_IO_PENDING), GetLastError());
    g->gate.set();
    expect_no_more_callbacks();
}

// Wine: UnregisterWaitEx(h, INVALID_HANDLE_VALUE) succeeds after the callback ended.
TEST_F(UnregisterWhileRunning, UnregisterWaitExInvalidHandleValueBlocksUntilTheCallbackEnded)
{
    start();
    std::atomic<BOOL> result{FALSE};
    std::atomic<bool> finished_before_return{false};
    {
        GuardedCall call([&] {
            result = UnregisterWaitEx(h, INVALID_HANDLE_VALUE);
            finished_before_return = g->finished.is_set();
        });
        EXPECT_FALSE(call.finished_within(300ms));
        g->gate.set();
        ASSERT_TRUE(call.finished_within(kTimeout));
    }
    EXPECT_TRUE(result.load());
    EXPECT_TRUE(finished_before_return.load());
    expect_no_more_callbacks();
}

// Wine: UnregisterWaitEx(h, event) -> pending; the event is signalled after the callback ended.
TEST_F(UnregisterWhileRunning, UnregisterWaitExEventIsPendingThenSignalled)
{
    start();
    Handle event = make_event(true, false);
    SetLastError(0);
    EXPECT_FALSE(UnregisterWaitEx(h, event));
    EXPECT_EQ(static_cast<DWORD>(ERROR_IO_PENDING), GetLastError());
    EXPECT_EQ(WAIT_TIMEOUT, WaitForSingleObject(event, 300));
    g->gate.set();
    EXPECT_TRUE(signaled_within(event));
    EXPECT_TRUE(g->finished.is_set());
    expect_no_more_callbacks();
}

// README ⚠ 30: UnregisterWait from the registration's own worker-thread callback -> FALSE,
// ERROR_IO_PENDING (its own callback is outstanding), and no further callback: the
// registration had already re-armed on the semaphore when its callback started, and a later
// release is neither reported nor consumed.
struct SelfUnregister {
    HANDLE registration = nullptr;
    HANDLE completion = nullptr; // UnregisterWaitEx's event, or NULL for UnregisterWait
    std::atomic<long> calls{0};
    std::atomic<BOOL> result{TRUE};
    std::atomic<DWORD> error{0};
    Flag returned;
};

void CALLBACK unregister_self(PVOID ctx, BOOLEAN)
{
    auto *s = static_cast<SelfUnregister *>(ctx);
    if (++s->calls == 1) {
        SetLastError(0);
        s->result = s->completion ? UnregisterWaitEx(s->registration, s->completion) : UnregisterWait(s->registration);
        s->error = GetLastError();
        std::this_thread::sleep_for(100ms);
        s->returned.set();
    }
}

TEST(UnregisterWait, FromTheOwnCallbackIsPendingAndStopsTheRegistration)
{
    Handle sem = make_semaphore(0, 5);
    Shared<SelfUnregister> s;
    ASSERT_TRUE(
        RegisterWaitForSingleObject(&s->registration, sem, unregister_self, s.get(), INFINITE, WT_EXECUTEDEFAULT));
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    ASSERT_TRUE(s->returned.wait());
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    settle();
    EXPECT_EQ(1, s->calls.load());
    EXPECT_FALSE(s->result.load());
    EXPECT_EQ(static_cast<DWORD>(ERROR_IO_PENDING), s->error.load());
    EXPECT_EQ(1, semaphore_count(sem));
}

TEST(UnregisterWait, ExWithAnEventFromTheOwnCallbackSignalsItAfterTheCallback)
{
    Handle sem = make_semaphore(0, 5);
    Handle completion = make_event(true, false);
    Shared<SelfUnregister> s;
    s->completion = completion;
    ASSERT_TRUE(
        RegisterWaitForSingleObject(&s->registration, sem, unregister_self, s.get(), INFINITE, WT_EXECUTEDEFAULT));
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    ASSERT_TRUE(signaled_within(completion));
    EXPECT_TRUE(s->returned.is_set()); // signalled only once the callback returned
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    settle();
    EXPECT_EQ(1, s->calls.load());
    EXPECT_FALSE(s->result.load());
    EXPECT_EQ(static_cast<DWORD>(ERROR_IO_PENDING), s->error.load());
    EXPECT_EQ(1, semaphore_count(sem));
}

// UnregisterWaitEx(h, INVALID_HANDLE_VALUE) returns only when every callback of the
// registration has completed, and no new one is queued afterwards — also when the wait was
// being satisfied at that very moment. Raced many times; each registration has its own
// context, checked for callbacks that start after the call returned.
struct Unregistered {
    std::atomic<bool> unregistered{false};
    std::atomic<long> calls{0};
    std::atomic<long> late{0};
};

void CALLBACK note_if_after_unregister(PVOID ctx, BOOLEAN)
{
    auto *u = static_cast<Unregistered *>(ctx);
    if (u->unregistered.load())
        ++u->late;
    ++u->calls;
}

TEST(UnregisterWait, NoCallbackStartsAfterABlockingUnregister)
{
    const long n = scaled(3000, 200);
    Handle sem = make_semaphore(0, 1 << 24);
    Shared<std::vector<Unregistered>> states(n);
    for (long i = 0; i < n; ++i) {
        Unregistered &state = (*states)[i];
        HANDLE h = nullptr;
        ASSERT_TRUE(RegisterWaitForSingleObject(&h, sem, note_if_after_unregister, &state, INFINITE,
                                                WT_EXECUTEDEFAULT));
        ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
        jitter(i);
        ASSERT_TRUE(UnregisterWaitEx(h, INVALID_HANDLE_VALUE));
        state.unregistered = true;
    }
    settle();
    long late = 0, calls = 0;
    for (const Unregistered &state : *states) {
        late += state.late.load();
        calls += state.calls.load();
    }
    EXPECT_EQ(0, late) << "callbacks started after UnregisterWaitEx(h, INVALID_HANDLE_VALUE) returned";
    EXPECT_EQ(n, calls + drain_units(sem)) << "units lost or taken twice";
    RecordProperty("callbacks", static_cast<int>(calls));
}

} // namespace
