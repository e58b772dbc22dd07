#include "kobj/handle_table.h"

#include <mutex>
#include <new>
#include <type_traits>

#include "base/last_error.h"
#include "base/spin.h"
#include <tpuring/win32.h>

namespace tpuring::kobj {

namespace {

constexpr unsigned kSlotBits = 18;
constexpr unsigned kGenerationBits = 12;
constexpr std::uint32_t kSlotMask = (1u << kSlotBits) - 1;
constexpr std::uint32_t kGenerationMask = (1u << kGenerationBits) - 1;
constexpr unsigned kChunkBits = 10; // slots are allocated 1024 at a time, never freed
constexpr std::uint32_t kChunkSize = 1u << kChunkBits;
constexpr std::uint32_t kChunkCount = 1u << (kSlotBits - kChunkBits);

// Slot state word: bit 0 = locked by a lookup, bit 1 = holds an object, bits 2.. = generation.
constexpr std::uint32_t kSlotLocked = 1;
constexpr std::uint32_t kSlotLive = 2;
constexpr unsigned kGenerationShift = 2;

struct Slot {
    std::atomic<std::uint32_t> state{0};
    // Written only while the slot is free; read by a lookup that holds kSlotLocked or by
    // the closer that cleared kSlotLive.
    Waitable *object = nullptr;
    std::uint32_t next_free = 0; // guarded by the table's mutex
};

constexpr std::uint32_t generation_of(std::uint32_t state) { return (state >> kGenerationShift) & kGenerationMask; }

HANDLE handle_value(std::uint32_t slot, std::uint32_t generation)
{
    std::uintptr_t value = ((static_cast<std::uintptr_t>(generation) << kSlotBits) | slot) << 2;
    return reinterpret_cast<HANDLE>(value);
}

// Splits a handle value; false if it cannot name a slot.
bool decode(HANDLE handle, std::uint32_t *slot, std::uint32_t *generation)
{
    std::uintptr_t value = reinterpret_cast<std::uintptr_t>(handle) >> 2; // low 2 bits ignored
    if (value >> (kSlotBits + kGenerationBits) != 0)
        return false;
    *slot = static_cast<std::uint32_t>(value) & kSlotMask;
    *generation = static_cast<std::uint32_t>(value >> kSlotBits) & kGenerationMask;
    return *generation != 0;
}

class HandleTable {
public:
    HANDLE insert(Waitable *object) noexcept
    {
        std::uint32_t index;
        Slot *slot;
        {
            std::lock_guard lock(mutex_);
            if (free_head_ != kNoSlot) {
                index = free_head_;
                slot = slot_at(index);
                free_head_ = slot->next_free;
            } else {
                if (used_ == kChunkCount * kChunkSize)
                    return nullptr;
                index = used_;
                std::uint32_t chunk = index >> kChunkBits;
                if (chunks_[chunk].load(std::memory_order_relaxed) == nullptr) {
                    Slot *fresh = new (std::nothrow) Slot[kChunkSize];
                    if (fresh == nullptr)
                        return nullptr;
                    chunks_[chunk].store(fresh, std::memory_order_release);
                }
                ++used_;
                slot = slot_at(index);
            }
        }
        std::uint32_t generation = generation_of(slot->state.load(std::memory_order_relaxed)) + 1;
        if (generation > kGenerationMask)
            generation = 1;
        slot->object = object;
        slot->state.store(kSlotLive | (generation << kGenerationShift), std::memory_order_release);
        return handle_value(index, generation);
    }

    Waitable *lookup(HANDLE handle) noexcept
    {
        Slot *slot = find(handle);
        if (slot == nullptr)
            return nullptr;
        const std::uint32_t live = kSlotLive | (generation_of_handle(handle) << kGenerationShift);
        Backoff backoff;
        for (;;) {
            std::uint32_t expected = live;
            // Holding kSlotLocked keeps a concurrent close from dropping the handle's
            // reference before this lookup has taken its own.
            if (slot->state.compare_exchange_weak(expected, live | kSlotLocked, std::memory_order_acquire)) {
                Waitable *object = slot->object;
                object->add_ref();
                slot->state.store(live, std::memory_order_release);
                return object;
            }
            if (expected != (live | kSlotLocked) && expected != live)
                return nullptr; // closed, or reused for another object
            backoff.pause();
        }
    }

    // Unpublishes the handle; returns the reference it held, or nullptr.
    Waitable *remove(HANDLE handle) noexcept
    {
        Slot *slot = find(handle);
        if (slot == nullptr)
            return nullptr;
        const std::uint32_t generation = generation_of_handle(handle);
        const std::uint32_t live = kSlotLive | (generation << kGenerationShift);
        Backoff backoff;
        for (;;) {
            std::uint32_t expected = live;
            // The generation stays until reuse, so a stale handle still fails afterwards.
            if (slot->state.compare_exchange_weak(expected, generation << kGenerationShift,
                                                  std::memory_order_acq_rel))
                break;
            if (expected != (live | kSlotLocked) && expected != live)
                return nullptr;
            backoff.pause();
        }
        Waitable *object = slot->object;
        slot->object = nullptr;
        std::uint32_t index = slot_index_of(handle);
        std::lock_guard lock(mutex_);
        slot->next_free = free_head_;
        free_head_ = index;
        return object;
    }

private:
    static constexpr std::uint32_t kNoSlot = 0xFFFFFFFFu;

    static std::uint32_t generation_of_handle(HANDLE handle)
    {
        std::uint32_t slot, generation;
        decode(handle, &slot, &generation);
        return generation;
    }
    static std::uint32_t slot_index_of(HANDLE handle)
    {
        std::uint32_t slot, generation;
        decode(handle, &slot, &generation);
        return slot;
    }

    Slot *slot_at(std::uint32_t index) noexcept
    {
        return &chunks_[index >> kChunkBits].load(std::memory_order_relaxed)[index & (kChunkSize - 1)];
    }

    Slot *find(HANDLE handle) noexcept
    {
        std::uint32_t index, generation;
        if (!decode(handle, &index, &generation))
            return nullptr;
        Slot *chunk = chunks_[index >> kChunkBits].load(std::memory_order_acquire);
        return chunk == nullptr ? nullptr : &chunk[index & (kChunkSize - 1)];
    }

    std::atomic<Slot *> chunks_[kChunkCount] = {};
    std::mutex mutex_;
    std::uint32_t free_head_ = kNoSlot;
    std::uint32_t used_ = 0;
};

// Static with a trivial destructor: usable from other static destructors and exiting threads.
static_assert(std::is_trivially_destructible_v<HandleTable>);
constinit HandleTable handle_table;

// The object behind GetCurrentProcess() / GetCurrentThread(): never signaled while the
// program runs, so a wait on it just times out. Its word never changes: a futex wait on it
// sleeps until its deadline.
class NeverSignaled final : public Waitable {
public:
    NeverSignaled() noexcept : Waitable(ObjectType::Pseudo, 0, /*immortal=*/true) {}
    bool can_acquire(std::uint32_t, DWORD) const noexcept override { return false; }
    std::uint32_t acquired_word(std::uint32_t word, DWORD, AcquireResult *result) const noexcept override
    {
        *result = AcquireResult::NotSignaled;
        return word;
    }
};

// Never destroyed, so a wait in another thread survives process teardown. The process and
// the thread pseudo-handle name distinct objects, so both can appear in one wait-all.
Waitable *pseudo_object(bool thread) noexcept
{
    alignas(NeverSignaled) static unsigned char storage[2][sizeof(NeverSignaled)];
    static Waitable *process_object = new (storage[0]) NeverSignaled();
    static Waitable *thread_object = new (storage[1]) NeverSignaled();
    return thread ? thread_object : process_object;
}

const HANDLE kCurrentProcess = reinterpret_cast<HANDLE>(static_cast<std::intptr_t>(-1));
const HANDLE kCurrentThread = reinterpret_cast<HANDLE>(static_cast<std::intptr_t>(-2));

} // namespace

bool is_pseudo_handle(HANDLE handle) noexcept { return handle == kCurrentProcess || handle == kCurrentThread; }

HANDLE insert_handle(Waitable *object) noexcept
{
    HANDLE handle = handle_table.insert(object);
    if (handle == nullptr) {
        object->release();
        return fail(ERROR_NO_SYSTEM_RESOURCES, static_cast<HANDLE>(nullptr));
    }
    return handle;
}

HANDLE publish_new_object(Waitable *object) noexcept
{
    HANDLE handle = insert_handle(object);
    if (handle != nullptr)
        set_last_error(ERROR_SUCCESS);
    return handle;
}

Ref<Waitable> lookup_handle(HANDLE handle) noexcept
{
    if (is_pseudo_handle(handle))
        return Ref<Waitable>::adopt(pseudo_object(handle == kCurrentThread));
    return Ref<Waitable>::adopt(handle_table.lookup(handle));
}

bool close_handle(HANDLE handle) noexcept
{
    if (is_pseudo_handle(handle))
        return true;
    Waitable *object = handle_table.remove(handle);
    if (object == nullptr)
        return false;
    object->handle_closed();
    object->release();
    return true;
}

} // namespace tpuring::kobj

extern "C" {

TPURING_API BOOL tpuring_CloseHandle(HANDLE hObject)
{
    if (!tpuring::kobj::close_handle(hObject))
        return tpuring::fail(ERROR_INVALID_HANDLE, FALSE);
    return TRUE;
}

} // extern "C"
