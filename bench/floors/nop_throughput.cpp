// S1 floors: how many NOP completions a single thread can push through one ring, one
// io_uring_enter per NOP and in batches of 64 per enter. No callback runs anywhere: this
// is the ring's own cost, the ceiling for a pool whose every post is a ring completion.
#include "floors.hpp"
#include "portable.h"
#include "results.h"

namespace floors {

namespace {

int nop_throughput(const FloorOptions &options, unsigned batch, const char *impl)
{
    const long total = options.quick ? 100000 : 1000000;
    io_uring ring;
    if (!setup_ring(ring, 128))
        return 1;
    auto start = portable_now_ns();
    for (long done = 0; done < total; done += batch) {
        for (unsigned i = 0; i < batch; i++)
            io_uring_prep_nop(io_uring_get_sqe(&ring));
        if (io_uring_submit_and_wait(&ring, batch) < 0)
            return 1;
        io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) seen++;
        io_uring_cq_advance(&ring, seen);
    }
    auto elapsed = portable_now_ns() - start;
    io_uring_queue_exit(&ring);
    bench_emit(impl, "S1", "callbacks_per_s", double(total) * 1e9 / double(elapsed), portable_thread_count());
    return 0;
}

} // namespace

int nop_one_per_enter(const FloorOptions &options)
{
    return nop_throughput(options, 1, "floor: io_uring NOP, 1 per enter");
}

int nop_batched_64(const FloorOptions &options)
{
    return nop_throughput(options, 64, "floor: io_uring NOP, 64 per enter");
}

} // namespace floors
