// The internal API the thread pool uses to wait on kernel objects: counted lookups, the
// futex word, snapshot + try_acquire, and an io_uring FUTEX_WAIT woken by SetEvent.
#include <liburing.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include "kobj/handle_table.h"
#include "kobj/waitable.h"
#include "kobj_test_support.h"

using namespace kobj_test;
using tpuring::kobj::AcquireResult;
using tpuring::kobj::lookup_handle;
using tpuring::kobj::ObjectType;
using tpuring::kobj::Ref;
using tpuring::kobj::Waitable;

TEST(Waitable, LookupGivesTypedCountedReference)
{
    HANDLE event = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    HANDLE semaphore = CreateSemaphoreA(nullptr, 0, 1, nullptr);
    HANDLE mutex = CreateMutexA(nullptr, FALSE, nullptr);
    EXPECT_EQ(lookup_handle(event)->type(), ObjectType::Event);
    EXPECT_EQ(lookup_handle(semaphore)->type(), ObjectType::Semaphore);
    EXPECT_EQ(lookup_handle(mutex)->type(), ObjectType::Mutex);
    EXPECT_EQ(lookup_handle(GetCurrentProcess())->type(), ObjectType::Pseudo);
    EXPECT_FALSE(lookup_handle(nullptr));
    EXPECT_FALSE(lookup_handle(handle_value(0x1234)));

    // The reference outlives the handle.
    Ref<Waitable> object = lookup_handle(event);
    ASSERT_TRUE(object);
    EXPECT_TRUE(CloseHandle(event));
    EXPECT_FALSE(lookup_handle(event));
    EXPECT_EQ(object->try_acquire(), AcquireResult::NotSignaled);
    CloseHandle(semaphore);
    CloseHandle(mutex);
}

TEST(Waitable, TryAcquireFollowsEachObjectsRules)
{
    HANDLE manual = CreateEventA(nullptr, TRUE, TRUE, nullptr);
    HANDLE automatic = CreateEventA(nullptr, FALSE, TRUE, nullptr);
    HANDLE semaphore = CreateSemaphoreA(nullptr, 2, 2, nullptr);
    HANDLE mutex = CreateMutexA(nullptr, FALSE, nullptr);
    HandleCloser c1(manual), c2(automatic), c3(semaphore), c4(mutex);

    Ref<Waitable> m = lookup_handle(manual);
    EXPECT_TRUE(m->is_signaled());
    EXPECT_EQ(m->try_acquire(), AcquireResult::Acquired);
    EXPECT_EQ(m->try_acquire(), AcquireResult::Acquired);

    Ref<Waitable> a = lookup_handle(automatic);
    EXPECT_TRUE(a->is_signaled());
    EXPECT_EQ(a->try_acquire(), AcquireResult::Acquired);
    EXPECT_FALSE(a->is_signaled());
    EXPECT_EQ(a->try_acquire(), AcquireResult::NotSignaled);

    Ref<Waitable> s = lookup_handle(semaphore);
    EXPECT_EQ(s->try_acquire(), AcquireResult::Acquired);
    EXPECT_EQ(s->try_acquire(), AcquireResult::Acquired);
    EXPECT_EQ(s->try_acquire(), AcquireResult::NotSignaled);

    Ref<Waitable> x = lookup_handle(mutex);
    EXPECT_EQ(x->try_acquire(), AcquireResult::Acquired); // the calling thread now owns it
    EXPECT_TRUE(x->is_signaled());                         // for its owner
    EXPECT_TRUE(ReleaseMutex(mutex));
    EXPECT_FALSE(ReleaseMutex(mutex));
}

TEST(Waitable, SnapshotChangesWithState)
{
    HANDLE event = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    HandleCloser closer(event);
    Ref<Waitable> object = lookup_handle(event);
    ASSERT_NE(object->futex_word(), nullptr);
    std::uint32_t unsignaled = object->snapshot();
    SetEvent(event);
    EXPECT_NE(object->snapshot(), unsignaled);
    EXPECT_EQ(object->futex_word()->load(), object->snapshot());
    ResetEvent(event);
    EXPECT_EQ(object->snapshot(), unsignaled);
}

// The protocol a thread-pool wait follows, with a plain futex syscall.
TEST(Waitable, FutexSleeperIsWokenBySignal)
{
    HANDLE semaphore = CreateSemaphoreA(nullptr, 0, 5, nullptr);
    HandleCloser closer(semaphore);
    Ref<Waitable> object = lookup_handle(semaphore);
    std::atomic<int> acquired{0};
    std::thread sleeper([&] {
        object->add_waiter();
        auto start = std::chrono::steady_clock::now();
        while (elapsed_ms(start) < kLongWait) {
            std::uint32_t seen = object->snapshot();
            if (object->try_acquire() == AcquireResult::Acquired) {
                acquired.fetch_add(1);
                break;
            }
            timespec timeout{1, 0};
            syscall(SYS_futex, object->futex_word(), FUTEX_WAIT_PRIVATE, seen, &timeout, nullptr, 0);
        }
        object->remove_waiter();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ReleaseSemaphore(semaphore, 1, nullptr);
    sleeper.join();
    EXPECT_EQ(acquired.load(), 1);
    EXPECT_EQ(WaitForSingleObject(semaphore, 0), WAIT_TIMEOUT);
}

// An IORING_OP_FUTEX_WAIT armed on the word completes when another thread sets the event:
// the mechanism the pool's ring owner relies on.
TEST(Waitable, IoUringFutexWaitCompletesOnSetEvent)
{
    io_uring ring;
    if (io_uring_queue_init(4, &ring, 0) < 0)
        GTEST_SKIP() << "io_uring unavailable";
    HANDLE event = CreateEventA(nullptr, FALSE, FALSE, nullptr);
    HandleCloser closer(event);
    Ref<Waitable> object = lookup_handle(event);
    object->add_waiter();
    std::uint32_t seen = object->snapshot();
    ASSERT_EQ(object->try_acquire(), AcquireResult::NotSignaled);

    constexpr int kOpFutexWait = 51;                 // IORING_OP_FUTEX_WAIT, Linux 6.7
    constexpr unsigned kFutex2U32Private = 0x02 | 128; // FUTEX2_SIZE_U32 | FUTEX2_PRIVATE
    io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    io_uring_prep_rw(kOpFutexWait, sqe, kFutex2U32Private, object->futex_word(), 0, seen);
    sqe->addr3 = FUTEX_BITSET_MATCH_ANY;
    ASSERT_EQ(io_uring_submit(&ring), 1);

    __kernel_timespec short_wait{0, 20000000};
    io_uring_cqe *cqe = nullptr;
    EXPECT_EQ(io_uring_wait_cqe_timeout(&ring, &cqe, &short_wait), -ETIME); // not yet

    std::thread setter([&] { SetEvent(event); });
    __kernel_timespec long_wait{kLongWait / 1000, 0};
    ASSERT_EQ(io_uring_wait_cqe_timeout(&ring, &cqe, &long_wait), 0);
    EXPECT_GE(cqe->res, 0);
    io_uring_cqe_seen(&ring, cqe);
    setter.join();
    EXPECT_EQ(object->try_acquire(), AcquireResult::Acquired);
    EXPECT_EQ(object->try_acquire(), AcquireResult::NotSignaled);
    object->remove_waiter();
    io_uring_queue_exit(&ring);
}
