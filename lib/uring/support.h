// Whether this kernel and process can run the library's rings, and why not.
#pragma once

namespace tpuring::uring {

// nullptr when every ring feature the library needs is available; otherwise one sentence
// naming the first missing piece. Probed once per process.
const char *unsupported_reason() noexcept;

// Whether the ring-less MSG_RING (Linux 6.13) is available for posting work as completions.
bool has_ringless_msg_ring() noexcept;

} // namespace tpuring::uring
