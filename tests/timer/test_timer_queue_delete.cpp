// Deleting timer queues and their timers (spec/legacy-api.md): the completion modes of
// DeleteTimerQueueTimer and DeleteTimerQueueEx (none, blocking, event), deletes racing the
// expiry, and DeleteTimerQueue, with the matching "Timer queues" items of its "Observed in
// Wine's tests" list.
#include "timer_queue_support.h"

namespace {

using namespace tmtest;

// ---- DeleteTimerQueueTimer completion modes ------------------------------------------------------

// legacy-api.md "Observed" (deletion with event triggers): a finished timer + NULL → TRUE;
// a running callback + NULL → FALSE / ERROR_IO_PENDING; a finished timer + event → TRUE,
// last error unchanged, event signaled; a running callback + event → FALSE /
// ERROR_IO_PENDING, the event signaled only after the callback ended; DeleteTimerQueueEx(q,
// event) → TRUE, event signaled when everything is done.
TEST(TimerQueue, WineDeletionWithCompletionEvents)
{
    HANDLE queue = CreateTimerQueue();
    ASSERT_NE(nullptr, queue);
    Handle e = make_event(true, false), et1 = make_event(true, false), et2 = make_event(true, false);
    Shared<GatedCallback> quick1, slow2, quick3, slow4;
    HANDLE t1 = nullptr, t2 = nullptr, t3 = nullptr, t4 = nullptr;
    ASSERT_TRUE(CreateTimerQueueTimer(&t1, queue, quick_queue_timer, quick1.get(), 0, 0, 0));
    ASSERT_TRUE(CreateTimerQueueTimer(&t2, queue, gated_queue_timer, slow2.get(), 0, 0, 0));
    ASSERT_TRUE(CreateTimerQueueTimer(&t3, queue, quick_queue_timer, quick3.get(), 0, 0, 0));
    ASSERT_TRUE(CreateTimerQueueTimer(&t4, queue, gated_queue_timer, slow4.get(), 0, 0, 0));
    ASSERT_TRUE(quick1->finished.wait_for_at_least(1));
    ASSERT_TRUE(quick3->finished.wait_for_at_least(1));
    ASSERT_TRUE(slow2->started.wait_for_at_least(1));
    ASSERT_TRUE(slow4->started.wait_for_at_least(1));
    sleep_ms(20); // the quick callbacks have returned from the pool's point of view too

    SetLastError(kSentinelError);
    EXPECT_TRUE(DeleteTimerQueueTimer(queue, t1, nullptr));
    EXPECT_EQ(kSentinelError, GetLastError());

    SetLastError(kSentinelError);
    EXPECT_FALSE(DeleteTimerQueueTimer(queue, t2, nullptr));
    EXPECT_EQ(static_cast<DWORD>(ERROR_IO_PENDING), GetLastError());

    SetLastError(kSentinelError);
    EXPECT_TRUE(DeleteTimerQueueTimer(queue, t3, et1));
    EXPECT_EQ(kSentinelError, GetLastError());
    EXPECT_TRUE(signaled_within(et1, 5000));

    SetLastError(kSentinelError);
    EXPECT_FALSE(DeleteTimerQueueTimer(queue, t4, et2));
    EXPECT_EQ(static_cast<DWORD>(ERROR_IO_PENDING), GetLastError());
    sleep_ms(50);
    EXPECT_FALSE(signaled_now(et2)) << "signaled while the callback still runs";

    SetLastError(kSentinelError);
    EXPECT_TRUE(DeleteTimerQueueEx(queue, e));
    EXPECT_EQ(kSentinelError, GetLastError());
    sleep_ms(50);
    EXPECT_FALSE(signaled_now(e)) << "queue event signaled while callbacks still run";

    slow4->gate.set();
    ASSERT_TRUE(signaled_within(et2));
    EXPECT_EQ(1, slow4->finished.get());
    EXPECT_FALSE(signaled_now(e)) << "queue event signaled while t2's callback still runs";
    slow2->gate.set();
    ASSERT_TRUE(signaled_within(e));
    EXPECT_EQ(1, slow2->finished.get());
    EXPECT_FALSE(slow2->gate_timed_out.load() || slow4->gate_timed_out.load());
}

// A blocking delete returns only after the running callback finished.
TEST(TimerQueue, BlockingDeleteWaitsForTheRunningCallback)
{
    Queue queue;
    Shared<GatedCallback> gated;
    HANDLE timer = nullptr;
    ASSERT_TRUE(CreateTimerQueueTimer(&timer, queue, gated_queue_timer, gated.get(), 0, 0, 0));
    ASSERT_TRUE(gated->started.wait_for_at_least(1));
    DelayedAction open(150ms, [&] { gated->gate.set(); });
    SetLastError(kSentinelError);
    EXPECT_TRUE(DeleteTimerQueueTimer(queue, timer, INVALID_HANDLE_VALUE));
    EXPECT_EQ(kSentinelError, GetLastError());
    EXPECT_EQ(1, gated->finished.get());
}

// A non-blocking delete of a periodic timer while its callback runs: FALSE /
// ERROR_IO_PENDING, the running callback completes, and no further expiry comes.
TEST(TimerQueue, NonBlockingDeleteOfARunningPeriodicTimerStopsIt)
{
    Queue queue;
    Shared<GatedCallback> gated;
    HANDLE timer = nullptr;
    ASSERT_TRUE(CreateTimerQueueTimer(&timer, queue, gated_queue_timer, gated.get(), 0, 20, 0));
    ASSERT_TRUE(gated->started.wait_for_at_least(1));
    SetLastError(kSentinelError);
    EXPECT_FALSE(DeleteTimerQueueTimer(queue, timer, nullptr));
    EXPECT_EQ(static_cast<DWORD>(ERROR_IO_PENDING), GetLastError());
    const long started = gated->started.get();
    gated->gate.set();
    ASSERT_TRUE(gated->finished.wait_for_at_least(started));
    sleep_ms(200);
    // Callbacks queued before the delete may still have started; none afterwards.
    EXPECT_EQ(gated->started.get(), gated->finished.get());
    EXPECT_LE(gated->started.get(), started + 1);
}

// legacy-api.md: the blocking delete returns once the timer's queued and running callbacks
// completed, and the timer never fires again. Raced against the expiry itself (64 timers due
// in ~1 ms, deleted in order right around that time): no callback may start after its
// blocking delete returned.
TEST(TimerQueue, BlockingDeleteRacingTheExpiry)
{
    Queue queue;
    ASSERT_NE(nullptr, queue.get());
    constexpr int kTimers = 64;
    struct Slot {
        std::atomic<bool> deleted{false};
    };
    struct State {
        Slot slots[kTimers];
        std::atomic<long> violations{0};
        std::atomic<long> calls{0};
    };
    struct Ctx {
        State *state;
        int index;
    };
    Shared<State> state;
    Ctx contexts[kTimers];
    for (int i = 0; i < kTimers; ++i)
        contexts[i] = {state.get(), i};
    const long rounds = scaled(100, 10);
    for (long round = 0; round < rounds; ++round) {
        HANDLE timers[kTimers];
        for (int i = 0; i < kTimers; ++i) {
            state->slots[i].deleted = false;
            ASSERT_TRUE(CreateTimerQueueTimer(
                &timers[i], queue,
                [](PVOID p, BOOLEAN) {
                    auto *c = static_cast<Ctx *>(p);
                    if (c->state->slots[c->index].deleted.load())
                        c->state->violations.fetch_add(1);
                    c->state->calls.fetch_add(1);
                },
                &contexts[i], 1, 0, 0));
        }
        const int64_t until = mono_ns() + (700 + int64_t(round % 7) * 100) * 1000;
        while (mono_ns() < until) {
        }
        for (int i = 0; i < kTimers; ++i) {
            EXPECT_TRUE(DeleteTimerQueueTimer(queue, timers[i], INVALID_HANDLE_VALUE));
            state->slots[i].deleted = true;
        }
    }
    sleep_ms(100);
    EXPECT_EQ(0, state->violations.load())
        << "callbacks started after DeleteTimerQueueTimer(…, INVALID_HANDLE_VALUE) had returned (of "
        << state->calls.load() << " callbacks)";
}

// ---- DeleteTimerQueueEx completion modes -----------------------------------------------------------

// INVALID_HANDLE_VALUE: blocks until all callbacks of all timers of the queue finished, and
// stops every timer.
TEST(TimerQueue, BlockingQueueDeleteWaitsForEveryCallbackAndStopsAllTimers)
{
    HANDLE queue = CreateTimerQueue();
    ASSERT_NE(nullptr, queue);
    Shared<GatedCallback> g1, g2;
    Shared<QueueCounter> periodic;
    HANDLE t1 = nullptr, t2 = nullptr, t3 = nullptr;
    ASSERT_TRUE(CreateTimerQueueTimer(&t1, queue, gated_queue_timer, g1.get(), 0, 0, 0));
    ASSERT_TRUE(CreateTimerQueueTimer(&t2, queue, gated_queue_timer, g2.get(), 0, 0, 0));
    ASSERT_TRUE(CreateTimerQueueTimer(&t3, queue, count_queue_timer, periodic.get(), 0, 5, 0));
    ASSERT_TRUE(g1->started.wait_for_at_least(1));
    ASSERT_TRUE(g2->started.wait_for_at_least(1));
    ASSERT_TRUE(periodic->count.wait_for_at_least(3));
    DelayedAction open1(100ms, [&] { g1->gate.set(); });
    DelayedAction open2(200ms, [&] { g2->gate.set(); });
    SetLastError(kSentinelError);
    EXPECT_TRUE(DeleteTimerQueueEx(queue, INVALID_HANDLE_VALUE));
    EXPECT_EQ(kSentinelError, GetLastError());
    EXPECT_EQ(1, g1->finished.get());
    EXPECT_EQ(1, g2->finished.get());
    const long after = periodic->count.get();
    sleep_ms(100);
    EXPECT_EQ(after, periodic->count.get());
}

// NULL: returns at once with TRUE (Vista+, ⚠ 25 recommended) while a callback still runs;
// the callback finishes, and no timer of the queue fires afterwards.
TEST(TimerQueue, NonBlockingQueueDeleteReturnsAtOnce)
{
    HANDLE queue = CreateTimerQueue();
    ASSERT_NE(nullptr, queue);
    Shared<GatedCallback> gated;
    Shared<QueueCounter> periodic;
    HANDLE t1 = nullptr, t2 = nullptr, t3 = nullptr;
    ASSERT_TRUE(CreateTimerQueueTimer(&t1, queue, gated_queue_timer, gated.get(), 0, 0, 0));
    ASSERT_TRUE(CreateTimerQueueTimer(&t2, queue, count_queue_timer, periodic.get(), 0, 5, 0));
    Shared<QueueCounter> future;
    ASSERT_TRUE(CreateTimerQueueTimer(&t3, queue, count_queue_timer, future.get(), 300, 0, 0));
    ASSERT_TRUE(gated->started.wait_for_at_least(1));
    ASSERT_TRUE(periodic->count.wait_for_at_least(2));
    SetLastError(kSentinelError);
    EXPECT_TRUE(DeleteTimerQueueEx(queue, nullptr));
    EXPECT_EQ(kSentinelError, GetLastError());
    EXPECT_EQ(0, gated->finished.get()); // did not wait
    sleep_ms(50);
    const long after = periodic->count.get();
    gated->gate.set();
    ASSERT_TRUE(gated->finished.wait_for_at_least(1));
    sleep_ms(400);
    EXPECT_EQ(after, periodic->count.get());
    EXPECT_EQ(0, future->count.get());
}

// An event: returns at once (TRUE), and the event is signaled when all callbacks of all
// timers are done — not before.
TEST(TimerQueue, QueueDeleteWithAnEventSignalsItWhenAllCallbacksAreDone)
{
    HANDLE queue = CreateTimerQueue();
    ASSERT_NE(nullptr, queue);
    Handle event = make_event(true, false);
    Shared<GatedCallback> g1, g2;
    HANDLE t1 = nullptr, t2 = nullptr;
    ASSERT_TRUE(CreateTimerQueueTimer(&t1, queue, gated_queue_timer, g1.get(), 0, 0, 0));
    ASSERT_TRUE(CreateTimerQueueTimer(&t2, queue, gated_queue_timer, g2.get(), 0, 0, 0));
    ASSERT_TRUE(g1->started.wait_for_at_least(1));
    ASSERT_TRUE(g2->started.wait_for_at_least(1));
    // t1 is deleted individually first: the queue still waits for its callback.
    EXPECT_FALSE(DeleteTimerQueueTimer(queue, t1, nullptr));
    SetLastError(kSentinelError);
    EXPECT_TRUE(DeleteTimerQueueEx(queue, event));
    EXPECT_EQ(kSentinelError, GetLastError());
    sleep_ms(50);
    EXPECT_FALSE(signaled_now(event));
    g1->gate.set();
    ASSERT_TRUE(g1->finished.wait_for_at_least(1));
    sleep_ms(50);
    EXPECT_FALSE(signaled_now(event)) << "signaled while t2's callback still runs";
    g2->gate.set();
    ASSERT_TRUE(signaled_within(event));
    EXPECT_EQ(1, g2->finished.get());
}

// DeleteTimerQueue is DeleteTimerQueueEx(q, NULL): it does not wait for callbacks.
TEST(TimerQueue, DeleteTimerQueueDoesNotWait)
{
    HANDLE queue = CreateTimerQueue();
    ASSERT_NE(nullptr, queue);
    Shared<GatedCallback> gated;
    HANDLE timer = nullptr;
    ASSERT_TRUE(CreateTimerQueueTimer(&timer, queue, gated_queue_timer, gated.get(), 0, 0, 0));
    ASSERT_TRUE(gated->started.wait_for_at_least(1));
    EXPECT_TRUE(DeleteTimerQueue(queue));
    EXPECT_EQ(0, gated->finished.get());
    gated->gate.set();
    ASSERT_TRUE(gated->finished.wait_for_at_least(1));
}

// Many timers on many queues, deleted in every mode: every callback that started finished,
// and nothing fires after the deletes (sanitizer builds check the lifetimes).
TEST(TimerQueue, ManyQueuesAndTimersDeletedInEveryMode)
{
    const int queues = static_cast<int>(scaled(20, 4));
    constexpr int kTimersPerQueue = 16;
    Shared<QueueCounter> counter;
    std::vector<Handle> events;
    for (int q = 0; q < queues; ++q) {
        HANDLE queue = CreateTimerQueue();
        ASSERT_NE(nullptr, queue);
        std::vector<HANDLE> timers(kTimersPerQueue, nullptr);
        for (int i = 0; i < kTimersPerQueue; ++i)
            ASSERT_TRUE(CreateTimerQueueTimer(&timers[i], queue, count_queue_timer, counter.get(), i % 4,
                                              (i % 3) ? i % 7 : 0, 0));
        sleep_ms(5);
        for (int i = 0; i < kTimersPerQueue; i += 3) {
            HANDLE completion = (i % 2) ? INVALID_HANDLE_VALUE : nullptr;
            BOOL ok = DeleteTimerQueueTimer(queue, timers[i], completion);
            EXPECT_TRUE(ok || GetLastError() == ERROR_IO_PENDING);
        }
        switch (q % 3) {
        case 0:
            EXPECT_TRUE(DeleteTimerQueueEx(queue, INVALID_HANDLE_VALUE));
            break;
        case 1:
            EXPECT_TRUE(DeleteTimerQueueEx(queue, nullptr));
            break;
        case 2:
            events.push_back(make_event(true, false));
            EXPECT_TRUE(DeleteTimerQueueEx(queue, events.back()));
            break;
        }
    }
    for (auto &event : events)
        EXPECT_TRUE(signaled_within(event));
    sleep_ms(100);
    const long after = counter->count.get();
    sleep_ms(100);
    EXPECT_EQ(after, counter->count.get());
    EXPECT_EQ(0, counter->not_timed_out.load());
}

} // namespace
