#include "pool/ring_owner.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <new>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/tsan.h"
#include "pool/pool.h"
#include "uring/opcodes.h"
#include "uring/support.h"

namespace tpuring::pool {

namespace {

// Low bit of user_data set: a posted Dispatchable; clear: a uring::Completion.
constexpr uint64_t posted_tag = 1;
constexpr unsigned ring_entries = 256;
constexpr int64_t monitor_tick_ns = 1'000'000;

int64_t monotonic_ns()
{
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return int64_t(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

} // namespace

int RingOwner::start()
{
    pthread_t thread;
    if (int rc = pthread_create(&thread, nullptr, thread_main, this); rc != 0)
        return -rc;
    start_result_.wait(1);
    int result = start_result_.load();
    if (result < 0) {
        pthread_join(thread, nullptr);
        return result;
    }
    pthread_detach(thread);
    return 0;
}

void *RingOwner::thread_main(void *self)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    static_cast<RingOwner *>(self)->run();
    return nullptr;
}

void RingOwner::stop()
{
    stop_requested_.store(true);
    ring_doorbell();
}

void RingOwner::post(Dispatchable &item)
{
    item.add_ref(); // the in-flight post's reference, dropped when its completion is reaped
    TPURING_HAPPENS_BEFORE(&item); // the completion hands the object to the owner
    uint64_t user_data = reinterpret_cast<uintptr_t>(&item) | posted_tag;
    if (msg_ring_) {
        io_uring_sqe sqe;
        uring::prep_msg_ring_data(&sqe, ring_fd_, user_data, 0);
        if (syscall(__NR_io_uring_register, -1, uring::register_send_msg_ring, &sqe, 1) >= 0)
            return;
    }
    // Without ring-less MSG_RING the owner submits a NOP for it. The request is allocated
    // (objects stay small for the common case); without memory the post goes direct. A
    // second request for the same object is harmless: enqueueing is idempotent.
    auto *request = new (std::nothrow) NopPost{&item, nullptr};
    if (!request) {
        pool_.enqueue_posted(item);
        item.release();
        return;
    }
    nop_posts_.push(*request);
    ring_doorbell();
}

bool RingOwner::schedule(OwnerCommand &command)
{
    if (command.queued_.exchange(true))
        return false;
    commands_.push(command);
    ring_doorbell();
    return true;
}

void RingOwner::request_monitoring()
{
    monitoring_requested_.store(true);
    ring_doorbell();
}

void RingOwner::ring_doorbell()
{
    doorbell_seq_.fetch_add(1);
    if (sleeping_.load())
        futex_wake(&doorbell_seq_, 1);
}

void RingOwner::arm_doorbell()
{
    io_uring_sqe *sqe = ring_.next_sqe();
    uring::prep_futex_wait(sqe, reinterpret_cast<const uint32_t *>(&doorbell_seq_), doorbell_seq_.load(),
                           reinterpret_cast<uintptr_t>(static_cast<uring::Completion *>(this)));
    doorbell_armed_ = true;
}

void RingOwner::complete(int32_t, uint32_t) { doorbell_armed_ = false; }

void RingOwner::handle_cqe(uint64_t user_data, int32_t res, uint32_t flags)
{
    if (user_data & posted_tag) {
        auto *item = reinterpret_cast<Dispatchable *>(user_data & ~posted_tag);
        TPURING_HAPPENS_AFTER(item);
        pool_.enqueue_posted(*item);
        item->release();
    } else if (user_data != 0) {
        reinterpret_cast<uring::Completion *>(user_data)->complete(res, flags);
    }
}

void RingOwner::run()
{
    int rc = ring_.init(ring_entries);
    if (rc < 0) {
        start_result_.store(rc);
        start_result_.notify_all();
        return;
    }
    ring_fd_ = ring_.fd();
    msg_ring_ = uring::has_ringless_msg_ring() && !std::getenv("TPURING_NO_MSG_RING");
    start_result_.store(0);
    start_result_.notify_all();

    auto on_cqe = [this](uint64_t user_data, int32_t res, uint32_t flags) { handle_cqe(user_data, res, flags); };
    bool monitoring = false;
    int64_t next_tick = 0;
    while (!stop_requested_.load()) {
        if (!doorbell_armed_)
            arm_doorbell();
        nop_posts_.take_all([this](NopPost &request) {
            io_uring_sqe *sqe = ring_.next_sqe();
            io_uring_prep_nop(sqe);
            sqe->user_data = reinterpret_cast<uintptr_t>(request.item) | posted_tag;
            delete &request;
        });
        commands_.take_all([this](OwnerCommand &command) {
            command.queued_.store(false); // a request made while it runs queues it again
            command.run_on_owner(ring_);
        });
        if (monitoring_requested_.load() && monitoring_requested_.exchange(false) && !monitoring) {
            monitoring = true;
            next_tick = monotonic_ns() + monitor_tick_ns;
        }
        ring_.drain(on_cqe);
        if (timers_.needs_service())
            timers_.service(ring_);

        // The doorbell op may have completed in the drain above: re-arm it before sleeping,
        // reading the sequence before the emptiness checks below, so that a push after
        // them changes the word and the op returns at once.
        if (!doorbell_armed_)
            arm_doorbell();
        sleeping_.store(true);
        if (!nop_posts_.empty() || !commands_.empty() || stop_requested_.load() || monitoring_requested_.load() ||
            timers_.needs_service()) {
            sleeping_.store(false);
            ring_.submit();
            continue;
        }
        if (monitoring) {
            int64_t left = std::max<int64_t>(next_tick - monotonic_ns(), 0);
            __kernel_timespec timeout{0, left};
            ring_.submit_and_wait(&timeout);
        } else {
            ring_.submit_and_wait(nullptr);
        }
        sleeping_.store(false);
        ring_.drain(on_cqe);
        if (monitoring && monotonic_ns() >= next_tick) {
            monitoring = pool_.monitor_tick();
            next_tick = monotonic_ns() + monitor_tick_ns;
        }
    }
    pool_.thread_exited();
}

} // namespace tpuring::pool
