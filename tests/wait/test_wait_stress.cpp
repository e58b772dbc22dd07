// Stress: exactly-once acquisition under contention, and many armed waits.
//
// 1. Eight threads signal auto-reset events and semaphores that are watched at the same
//    time by thread-pool waits (re-armed from their callbacks), RegisterWaitForSingleObject
//    registrations and threads blocked in WaitForSingleObject / WaitForMultipleObjects.
//    Every effective signal must be consumed by exactly one of them: callbacks + satisfied
//    waits == signals, per object, with nothing left in the objects afterwards.
//    An auto-reset event is only set while its previous signal has been consumed (a flag
//    the consumer clears), so every SetEvent is effective and can be counted; semaphores
//    are released freely (their maximum is never reached).
// 2. 100,000 thread-pool waits armed on 100,000 auto-reset events, all signalled: each
//    callback exactly once, every event reset, and no thread per wait.
// 3. Waits re-armed, disarmed and re-armed on one semaphore while it is released.
// Each runs in both dispatch modes: a direct pool's waits are handed their signals by the
// signalling thread, a ring pool's waits are futex ops on the ring.
#include "wait_support.h"

#include <random>

namespace {

using namespace waittest;

class WaitStress : public DispatchTest {};

// ---- 1. Mixed waiters, exact accounting ----------------------------------------------------------

constexpr int kEvents = 4;
constexpr int kSemaphores = 4;
constexpr int kObjects = kEvents + kSemaphores;
constexpr int kSignallers = 8;
constexpr int kPoolWaitsPerObject = 2;
constexpr long kBacklog = 4; // signals not yet consumed before a signaller waits

struct Stress {
    HANDLE objects[kObjects] = {};
    std::atomic<long> signals[kObjects] = {};
    std::atomic<long> consumed[kObjects] = {};
    std::atomic<bool> pending[kObjects] = {}; // events: a signal not yet consumed
    std::atomic<long> by_pool_wait{0}, by_registration{0}, by_blocking{0};
    std::atomic<long> bad_results{0};
    std::atomic<long> over_consumed{0}; // consumed ever seen above signals
    std::atomic<bool> stopping{false};

    static bool is_event(int o) { return o < kEvents; }

    long outstanding() const
    {
        long n = 0;
        for (int o = 0; o < kObjects; ++o)
            n += signals[o].load() - consumed[o].load();
        return n;
    }

    void consume(int o, std::atomic<long> &by)
    {
        long now = ++consumed[o];
        if (now > signals[o].load())
            ++over_consumed;
        ++by;
        if (is_event(o))
            pending[o].store(false);
    }
};

struct PoolWaitContext {
    Stress *stress;
    int object;
};

void CALLBACK stress_pool_wait(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WAIT wait, TP_WAIT_RESULT result)
{
    auto *c = static_cast<PoolWaitContext *>(ctx);
    if (result == WAIT_OBJECT_0)
        c->stress->consume(c->object, c->stress->by_pool_wait);
    else
        ++c->stress->bad_results;
    if (!c->stress->stopping.load())
        SetThreadpoolWait(wait, c->stress->objects[c->object], nullptr);
}

void CALLBACK stress_registration(PVOID ctx, BOOLEAN timer_or_wait_fired)
{
    auto *c = static_cast<PoolWaitContext *>(ctx);
    if (!timer_or_wait_fired)
        c->stress->consume(c->object, c->stress->by_registration);
    else
        ++c->stress->bad_results;
}

TEST_P(WaitStress, EverySignalIsConsumedExactlyOnce)
{
    Pool pool(mode());
    Shared<Stress> s;
    std::vector<Handle> owned;
    for (int o = 0; o < kObjects; ++o) {
        owned.push_back(Stress::is_event(o) ? make_event(false, false) : make_semaphore(0, 1 << 30));
        s->objects[o] = owned.back();
    }
    Shared<std::vector<PoolWaitContext>> contexts;
    for (int o = 0; o < kObjects; ++o)
        contexts->push_back({s.get(), o});

    // Thread-pool waits, re-armed from their callbacks.
    std::vector<PTP_WAIT> waits;
    for (int o = 0; o < kObjects; ++o)
        for (int k = 0; k < kPoolWaitsPerObject; ++k) {
            PTP_WAIT wait = CreateThreadpoolWait(stress_pool_wait, &(*contexts)[o], pool.env());
            ASSERT_NE(nullptr, wait);
            waits.push_back(wait);
            SetThreadpoolWait(wait, s->objects[o], nullptr);
        }
    // Registered waits (default pool), re-armed by the registration itself.
    std::vector<HANDLE> registrations(kObjects);
    for (int o = 0; o < kObjects; ++o)
        ASSERT_TRUE(RegisterWaitForSingleObject(&registrations[o], s->objects[o], stress_registration,
                                                &(*contexts)[o], INFINITE, WT_EXECUTEDEFAULT));
    // Blocked threads: one WaitForSingleObject caller per object, one wait-any caller on all.
    std::atomic<bool> stop_blocking{false};
    std::vector<std::thread> blockers;
    for (int o = 0; o < kObjects; ++o)
        blockers.emplace_back([&, o] {
            while (!stop_blocking.load()) {
                DWORD r = WaitForSingleObject(s->objects[o], 20);
                if (r == WAIT_OBJECT_0) {
                    s->consume(o, s->by_blocking);
                    std::this_thread::sleep_for(std::chrono::microseconds(200)); // let others win too
                }
                else if (r != WAIT_TIMEOUT)
                    ++s->bad_results;
            }
        });
    blockers.emplace_back([&] {
        while (!stop_blocking.load()) {
            DWORD r = WaitForMultipleObjects(kObjects, s->objects, FALSE, 20);
            if (r < WAIT_OBJECT_0 + kObjects) {
                s->consume(static_cast<int>(r - WAIT_OBJECT_0), s->by_blocking);
                std::this_thread::sleep_for(std::chrono::microseconds(200));
            }
            else if (r != WAIT_TIMEOUT)
                ++s->bad_results;
        }
    });

    // Signal.
    const long per_thread = scaled(10000, 500);
    std::vector<std::thread> signallers;
    for (int t = 0; t < kSignallers; ++t)
        signallers.emplace_back([&, t] {
            std::minstd_rand rng(1234 + t);
            for (long i = 0; i < per_thread; ++i) {
                int o = static_cast<int>(rng() % kObjects);
                if (Stress::is_event(o)) {
                    bool expected = false;
                    if (s->pending[o].compare_exchange_strong(expected, true)) {
                        ++s->signals[o]; // before the set: consumption can never run ahead
                        if (!SetEvent(s->objects[o]))
                            ++s->bad_results;
                    }
                } else {
                    ++s->signals[o];
                    if (!ReleaseSemaphore(s->objects[o], 1, nullptr)) {
                        --s->signals[o];
                        ++s->bad_results;
                    }
                }
                // Keep the objects nearly empty, so that every signal is raced for by
                // waiters of every kind instead of piling up for whoever comes first.
                const auto deadline = Clock::now() + kTimeout;
                while (s->outstanding() > kBacklog && Clock::now() < deadline)
                    std::this_thread::yield();
            }
        });
    for (std::thread &t : signallers)
        t.join();

    // Drain: every signal consumed, and then nothing more for a while.
    auto all_consumed = [&] {
        for (int o = 0; o < kObjects; ++o)
            if (s->consumed[o].load() != s->signals[o].load())
                return false;
        return true;
    };
    const bool drained = eventually(all_consumed, kLongTimeout);
    for (int o = 0; o < kObjects; ++o)
        EXPECT_EQ(s->signals[o].load(), s->consumed[o].load()) << "object " << o << (drained ? "" : " (lost signal?)");
    settle();
    EXPECT_TRUE(all_consumed()) << "consumption after the drain";

    // Disarm every waiter, then check that nothing is left in the objects.
    s->stopping = true;
    stop_blocking = true;
    for (std::thread &t : blockers)
        t.join();
    for (HANDLE h : registrations)
        EXPECT_TRUE(UnregisterWaitEx(h, INVALID_HANDLE_VALUE));
    for (int round = 0; round < 2; ++round) // a callback that started before `stopping` may re-arm once
        for (PTP_WAIT wait : waits) {
            SetThreadpoolWait(wait, nullptr, nullptr);
            WaitForThreadpoolWaitCallbacks(wait, FALSE);
        }
    for (PTP_WAIT wait : waits)
        CloseThreadpoolWait(wait);
    for (int o = 0; o < kObjects; ++o)
        EXPECT_EQ(WAIT_TIMEOUT, WaitForSingleObject(s->objects[o], 0)) << "object " << o << " still signalled";

    long signals = 0, consumed = 0;
    for (int o = 0; o < kObjects; ++o) {
        signals += s->signals[o].load();
        consumed += s->consumed[o].load();
    }
    EXPECT_EQ(signals, consumed);
    EXPECT_EQ(consumed, s->by_pool_wait.load() + s->by_registration.load() + s->by_blocking.load());
    EXPECT_EQ(0, s->over_consumed.load()) << "a signal was consumed twice";
    EXPECT_EQ(0, s->bad_results.load());
    // Every kind of waiter took part.
    EXPECT_GT(s->by_pool_wait.load(), 0);
    EXPECT_GT(s->by_registration.load(), 0);
    EXPECT_GT(s->by_blocking.load(), 0);
    RecordProperty("signals", static_cast<int>(signals));
    std::printf("signals %ld: pool waits %ld, registrations %ld, blocking %ld\n", signals,
                s->by_pool_wait.load(), s->by_registration.load(), s->by_blocking.load());
}

// ---- 2. 100,000 armed waits -----------------------------------------------------------------------------

struct Massive {
    explicit Massive(long n) : fired(new std::atomic<uint8_t>[n]()) {}
    std::unique_ptr<std::atomic<uint8_t>[]> fired;
    std::atomic<long> signalled{0};
    std::atomic<long> not_signalled{0};
    std::atomic<long> twice{0};
    Counter calls;
};

struct MassiveContext {
    Massive *massive;
    long index;
};

void CALLBACK massive_wait(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WAIT, TP_WAIT_RESULT result)
{
    auto *c = static_cast<MassiveContext *>(ctx);
    if (c->massive->fired[c->index].fetch_add(1) != 0)
        ++c->massive->twice;
    if (result == WAIT_OBJECT_0)
        ++c->massive->signalled;
    else
        ++c->massive->not_signalled;
    c->massive->calls.increment();
}

TEST_P(WaitStress, HundredThousandArmedWaitsEachCallBackOnce)
{
    const long n = scaled(100000, 1000);
    Pool pool(mode());
    Shared<Massive> m(n);
    Shared<std::vector<MassiveContext>> contexts;
    contexts->reserve(n);
    std::vector<HANDLE> events;
    std::vector<PTP_WAIT> waits;
    events.reserve(n);
    waits.reserve(n);
    for (long i = 0; i < n; ++i) {
        contexts->push_back({m.get(), i});
        HANDLE event = CreateEventA(nullptr, FALSE, FALSE, nullptr);
        ASSERT_NE(nullptr, event) << i;
        events.push_back(event);
        PTP_WAIT wait = CreateThreadpoolWait(massive_wait, &(*contexts)[i], pool.env());
        ASSERT_NE(nullptr, wait) << i;
        waits.push_back(wait);
    }
    // Warm the pool up so the baseline includes its ring owner.
    {
        Handle warm = make_event(false, true);
        Shared<WaitLog> log;
        WaitObject wait(log_wait, log.get(), pool.env());
        SetThreadpoolWait(wait, warm, nullptr);
        ASSERT_TRUE(log->wait_calls(1));
    }
    const long threads_before = thread_count();
    const auto arm_start = Clock::now();
    for (long i = 0; i < n; ++i)
        SetThreadpoolWait(waits[i], events[i], nullptr);
    const int64_t arm_ms = ms_since(arm_start);
    settle(200ms);
    const long threads_armed = thread_count();
    EXPECT_EQ(0, m->calls.get()) << "a wait fired before its event was set";
    // No thread per wait (a few extra workers are fine).
    EXPECT_LT(threads_armed - threads_before, 64) << threads_before << " -> " << threads_armed;

    const auto signal_start = Clock::now();
    for (long i = 0; i < n; ++i)
        ASSERT_TRUE(SetEvent(events[i])) << i;
    const bool all = m->calls.wait_for_at_least(n, kLongTimeout);
    const int64_t deliver_ms = ms_since(signal_start);
    EXPECT_TRUE(all) << m->calls.get() << " of " << n << " callbacks";
    settle();
    EXPECT_EQ(n, m->calls.get());
    EXPECT_EQ(n, m->signalled.load());
    EXPECT_EQ(0, m->not_signalled.load());
    EXPECT_EQ(0, m->twice.load());
    long missing = 0;
    for (long i = 0; i < n; ++i)
        if (m->fired[i].load() != 1)
            ++missing;
    EXPECT_EQ(0, missing);
    long still_set = 0;
    for (long i = 0; i < n; ++i)
        if (WaitForSingleObject(events[i], 0) != WAIT_TIMEOUT)
            ++still_set;
    EXPECT_EQ(0, still_set) << "events not reset by their wait";
    std::printf("%ld waits: armed in %lld ms, all callbacks %lld ms after the first SetEvent; threads %ld -> %ld\n",
                n, static_cast<long long>(arm_ms), static_cast<long long>(deliver_ms), threads_before,
                threads_armed);

    for (PTP_WAIT wait : waits) {
        SetThreadpoolWait(wait, nullptr, nullptr);
        WaitForThreadpoolWaitCallbacks(wait, TRUE);
        CloseThreadpoolWait(wait);
    }
    for (HANDLE event : events)
        EXPECT_TRUE(CloseHandle(event));
}

// Arm, disarm and re-arm many waits on one object in a tight loop while it is signalled
// from another thread: every callback reports a unit that was really taken.
struct Churn {
    std::atomic<long> signalled{0};
    std::atomic<long> timeouts{0};
    std::atomic<long> other{0};
};

void CALLBACK churn_wait(PTP_CALLBACK_INSTANCE, PVOID ctx, PTP_WAIT, TP_WAIT_RESULT result)
{
    auto *c = static_cast<Churn *>(ctx);
    if (result == WAIT_OBJECT_0)
        ++c->signalled;
    else if (result == WAIT_TIMEOUT)
        ++c->timeouts;
    else
        ++c->other;
}

TEST_P(WaitStress, RearmingAndDisarmingRacesWithReleases)
{
    constexpr int kWaits = 16;
    Pool pool(mode());
    Handle sem = make_semaphore(0, 1 << 30);
    Shared<Churn> c;
    std::vector<PTP_WAIT> waits;
    for (int i = 0; i < kWaits; ++i) {
        PTP_WAIT wait = CreateThreadpoolWait(churn_wait, c.get(), pool.env());
        ASSERT_NE(nullptr, wait);
        waits.push_back(wait);
    }
    const long releases = scaled(20000, 500);
    std::thread releaser([&] {
        for (long i = 0; i < releases; ++i) {
            ReleaseSemaphore(sem, 1, nullptr);
            if (i % 8 == 7)
                std::this_thread::yield();
        }
    });
    std::minstd_rand rng(99);
    const long steps = scaled(40000, 1000);
    for (long i = 0; i < steps; ++i) {
        PTP_WAIT wait = waits[rng() % kWaits];
        switch (rng() % 4) {
        case 0:
            SetThreadpoolWait(wait, nullptr, nullptr);
            break;
        case 1: {
            FILETIME zero = zero_timeout();
            SetThreadpoolWait(wait, sem, &zero);
            break;
        }
        default:
            SetThreadpoolWait(wait, sem, nullptr);
        }
    }
    releaser.join();
    for (PTP_WAIT wait : waits) {
        SetThreadpoolWait(wait, nullptr, nullptr);
        WaitForThreadpoolWaitCallbacks(wait, FALSE);
    }
    const long reported = c->signalled.load() + c->timeouts.load();
    settle();
    EXPECT_EQ(reported, c->signalled.load() + c->timeouts.load())
        << "callbacks ran after WaitForThreadpoolWaitCallbacks returned on a disarmed wait";
    const long left = drain_units(sem);
    EXPECT_EQ(releases, c->signalled.load() + left) << "units lost or taken twice";
    EXPECT_EQ(0, c->other.load());
    for (PTP_WAIT wait : waits)
        CloseThreadpoolWait(wait);
}

TPTEST_INSTANTIATE_DISPATCH_MODES(WaitStress);

} // namespace
