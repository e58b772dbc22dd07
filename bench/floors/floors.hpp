// The kernel floors: what io_uring and futexes cost on this machine with no thread pool in
// between. Each floor is one function printing JSON result lines into the table of the
// scenario it bounds (impl "floor: ...").
#pragma once

#include <liburing.h>

#include <cstdint>

namespace floors {

struct FloorOptions {
    bool quick = false;
};

int nop_one_per_enter(const FloorOptions &options);
int nop_batched_64(const FloorOptions &options);
int futex_wake_latency(const FloorOptions &options);
int uring_futex_wait_latency(const FloorOptions &options);
int uring_poll_eventfd_latency(const FloorOptions &options);
int uring_timeout_lateness_all_armed(const FloorOptions &options);
int uring_timeout_lateness_one_armed(const FloorOptions &options);

// The ring flags libtpuring's ring owner uses, falling back to none where the kernel
// refuses them. Returns false (with a message) if no ring can be made.
bool setup_ring(io_uring &ring, unsigned entries);

} // namespace floors
