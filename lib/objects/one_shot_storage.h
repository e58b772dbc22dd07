// Memory for one-shot objects (TrySubmitThreadpoolCallback, QueueUserWorkItem), recycled
// rather than handed back to malloc. A one-shot is usually allocated by the thread that
// submits it and freed by a worker; under a backlog, the allocator's cross-thread frees,
// and the trimming and regrowth of its heaps (mprotect calls, fresh page faults), cost
// more than the rest of the object's life. Each thread keeps a small cache of blocks;
// batches of them move between threads through a process-wide depot of bounded size.
#pragma once

#include <cstddef>

namespace tpuring::objects::one_shot_storage {

// Objects up to this size are recycled; larger ones come from operator new.
inline constexpr std::size_t block_size = 96;
// Blocks move between threads in batches of this many.
inline constexpr unsigned batch_size = 32;

// AddressSanitizer finds a use after free only in memory that is actually freed: its
// builds give every block back.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool recycles = false;
#else
inline constexpr bool recycles = true;
#endif

// nullptr when out of memory.
void *allocate(std::size_t size) noexcept;
void deallocate(void *block, std::size_t size) noexcept;

} // namespace tpuring::objects::one_shot_storage
