#include "uring/support.h"

#include <cerrno>
#include <cstdio>
#include <mutex>
#include <unistd.h>
#include <sys/syscall.h>

#include <tpuring/tpuring.h>

#include "uring/opcodes.h"
#include "uring/ring.h"

namespace tpuring::uring {
namespace {

struct Probe {
    const char *reason = nullptr;
    bool ringless_msg_ring = false;
};

struct RequiredOp {
    uint8_t opcode;
    const char *missing;
};

constexpr RequiredOp required_ops[] = {
    {IORING_OP_NOP, "the io_uring NOP opcode is not supported by this kernel"},
    {IORING_OP_TIMEOUT, "the io_uring TIMEOUT opcode is not supported by this kernel"},
    {IORING_OP_TIMEOUT_REMOVE, "the io_uring TIMEOUT_REMOVE opcode is not supported by this kernel"},
    {IORING_OP_ASYNC_CANCEL, "the io_uring ASYNC_CANCEL opcode is not supported by this kernel"},
    {IORING_OP_POLL_ADD, "the io_uring POLL_ADD opcode is not supported by this kernel"},
    {IORING_OP_MSG_RING, "the io_uring MSG_RING opcode is not supported by this kernel (Linux 5.18+ needed)"},
    {op_futex_wait, "io_uring futex operations are not supported by this kernel (Linux 6.7+ needed)"},
};

const char *reason_for_setup_error(int err)
{
    switch (-err) {
    case ENOSYS: return "the kernel has no io_uring (built without CONFIG_IO_URING, or Linux older than 5.1)";
    case EPERM:
        return "io_uring is disabled for this process (sysctl kernel.io_uring_disabled, or a seccomp/container "
               "policy forbids io_uring_setup)";
    case EINVAL:
        return "the kernel rejects the ring flags the library needs (SINGLE_ISSUER and DEFER_TASKRUN need Linux "
               "6.1+)";
    case ENOMEM:
    case EMFILE:
    case ENFILE: return "io_uring_setup failed for lack of memory or file descriptors (check RLIMIT_MEMLOCK and "
                        "RLIMIT_NOFILE)";
    default: return "io_uring_setup failed for an unexpected reason";
    }
}

bool ringless_msg_ring_works(io_uring &ring)
{
    io_uring_sqe sqe;
    prep_msg_ring_data(&sqe, ring.ring_fd, 0x5a, 0);
    long rc = syscall(__NR_io_uring_register, -1, register_send_msg_ring, &sqe, 1);
    if (rc < 0)
        return false;
    io_uring_cqe *cqe = nullptr;
    if (io_uring_wait_cqe(&ring, &cqe) == 0)
        io_uring_cqe_seen(&ring, cqe);
    return true;
}

Probe run_probe()
{
    Probe probe;
    io_uring ring{};
    io_uring_params params{};
    params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL;
    int rc = io_uring_queue_init_params(4, &ring, &params);
    if (rc < 0) {
        probe.reason = reason_for_setup_error(rc);
        return probe;
    }
    ring_memory_mapped();
    if (!(params.features & IORING_FEAT_EXT_ARG)) {
        probe.reason = "the kernel's io_uring lacks timed waits (IORING_FEAT_EXT_ARG, Linux 5.11+)";
    } else if (io_uring_probe *ops = io_uring_get_probe_ring(&ring)) {
        for (const RequiredOp &op : required_ops) {
            if (!io_uring_opcode_supported(ops, op.opcode)) {
                probe.reason = op.missing;
                break;
            }
        }
        io_uring_free_probe(ops);
    } else {
        probe.reason = "the kernel cannot report which io_uring opcodes it supports (IORING_REGISTER_PROBE)";
    }
    if (!probe.reason)
        probe.ringless_msg_ring = ringless_msg_ring_works(ring);
    ring_memory_unmapping();
    io_uring_queue_exit(&ring);
    return probe;
}

const Probe &probe_once()
{
    static const Probe probe = run_probe();
    return probe;
}

} // namespace

const char *unsupported_reason() noexcept { return probe_once().reason; }
bool has_ringless_msg_ring() noexcept { return probe_once().ringless_msg_ring; }

} // namespace tpuring::uring

extern "C" TPURING_API const char *tpuring_unsupported_reason(void) { return tpuring::uring::unsupported_reason(); }
