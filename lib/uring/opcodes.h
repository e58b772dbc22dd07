// io_uring opcodes, flags and SQE preparation that liburing 2.3 (Debian 12) predates.
// Every definition the library needs beyond liburing 2.3 lives here, in one place.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <cstring>

namespace tpuring::uring {

// Opcodes (the kernel's enum io_uring_op).
inline constexpr uint8_t op_futex_wait = 51; // Linux 6.7
inline constexpr uint8_t op_futex_wake = 52;
inline constexpr uint8_t op_futex_waitv = 53;

// futex2 flags carried in sqe->fd by the futex ops.
inline constexpr uint32_t futex2_size_u32 = 0x02;
inline constexpr uint32_t futex2_private = 128;
inline constexpr uint64_t futex_bitset_match_any = 0xffffffffu;

// io_uring_register opcode: a MSG_RING sent without a source ring (Linux 6.13).
inline constexpr unsigned register_send_msg_ring = 31;

// Waits until *word != expected (or a wake); completes with 0, or -EAGAIN if the word
// already differed when the op was issued.
inline void prep_futex_wait(io_uring_sqe *sqe, const uint32_t *word, uint32_t expected, uint64_t user_data)
{
    std::memset(sqe, 0, sizeof(*sqe));
    sqe->opcode = op_futex_wait;
    sqe->fd = static_cast<int32_t>(futex2_size_u32 | futex2_private);
    sqe->addr = reinterpret_cast<uintptr_t>(word);
    sqe->off = expected;
    sqe->addr3 = futex_bitset_match_any;
    sqe->user_data = user_data;
}

// A MSG_RING that posts a CQE {user_data, res} on the ring behind target_fd.
inline void prep_msg_ring_data(io_uring_sqe *sqe, int target_fd, uint64_t user_data, int32_t res)
{
    std::memset(sqe, 0, sizeof(*sqe));
    sqe->opcode = IORING_OP_MSG_RING;
    sqe->fd = target_fd;
    sqe->addr = 0; // IORING_MSG_DATA
    sqe->len = static_cast<uint32_t>(res);
    sqe->off = user_data;
}

} // namespace tpuring::uring
