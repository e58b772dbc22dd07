#include <cstdio>
#include <cstring>

#include "floors.hpp"

namespace floors {

bool setup_ring(io_uring &ring, unsigned entries)
{
    const unsigned preferred = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL;
    int result = io_uring_queue_init(entries, &ring, preferred);
    if (result < 0)
        result = io_uring_queue_init(entries, &ring, 0);
    if (result < 0) {
        std::fprintf(stderr, "io_uring_queue_init: %s\n", std::strerror(-result));
        return false;
    }
    return true;
}

} // namespace floors
