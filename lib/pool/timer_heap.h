// A binary min-heap of timer entries ordered by their latest allowed expiry. Each entry
// records its index, so cancelling or moving one costs O(log n). Not synchronised.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <new>
#include <utility>

namespace tpuring::pool {

class Dispatchable;

enum class TimerClock : uint8_t { monotonic = 0, realtime = 1 };
inline constexpr int timer_clock_count = 2;

inline constexpr int64_t ns_per_ms = 1'000'000;

// One scheduled expiry, embedded in the object it targets (found from the entry by its
// offset: an armed timer stays small). Periods and windows are whole milliseconds in the
// API, and are kept so.
struct TimerEntry {
    int64_t latest_ns = 0;   // due + window, on `clock`: the heap key
    uint32_t period_ms = 0;  // 0: one-shot
    uint32_t window_ms = 0;
    int32_t heap_index = -1; // -1: not scheduled
    uint16_t target_offset = 0;
    TimerClock clock = TimerClock::monotonic;

    // Binds the entry to the object that embeds it; called once, by that object.
    void bind(Dispatchable &owner)
    {
        target_offset = static_cast<uint16_t>(reinterpret_cast<char *>(this) - reinterpret_cast<char *>(&owner));
    }
    // The object posted at each expiry.
    Dispatchable *target() const
    {
        return reinterpret_cast<Dispatchable *>(reinterpret_cast<char *>(const_cast<TimerEntry *>(this)) -
                                                target_offset);
    }
    // The earliest expiry.
    int64_t due_ns() const { return latest_ns - int64_t(window_ms) * ns_per_ms; }
};
static_assert(sizeof(TimerEntry) == 24);

class TimerHeap {
public:
    TimerHeap() = default;
    TimerHeap(const TimerHeap &) = delete;
    TimerHeap &operator=(const TimerHeap &) = delete;
    ~TimerHeap() { std::free(slots_); }

    bool empty() const { return size_ == 0; }
    uint32_t size() const { return size_; }
    TimerEntry *top() const { return size_ ? slots_[0] : nullptr; }

    // Reserves room so that `count` entries fit; false when memory is short.
    bool reserve(uint32_t count)
    {
        if (count <= capacity_)
            return true;
        uint32_t capacity = capacity_ ? capacity_ : 64;
        while (capacity < count)
            capacity *= 2;
        void *grown = std::realloc(slots_, sizeof(TimerEntry *) * capacity);
        if (!grown)
            return false;
        slots_ = static_cast<TimerEntry **>(grown);
        capacity_ = capacity;
        return true;
    }

    // Inserts an entry; room must have been reserved.
    void push(TimerEntry &entry)
    {
        entry.heap_index = static_cast<int32_t>(size_);
        slots_[size_++] = &entry;
        sift_up(entry.heap_index);
    }

    void remove(TimerEntry &entry)
    {
        uint32_t index = static_cast<uint32_t>(entry.heap_index);
        entry.heap_index = -1;
        TimerEntry *last = slots_[--size_];
        if (index == size_)
            return;
        slots_[index] = last;
        last->heap_index = static_cast<int32_t>(index);
        sift_down(sift_up(index));
    }

private:
    static bool before(const TimerEntry *a, const TimerEntry *b) { return a->latest_ns < b->latest_ns; }

    void place(uint32_t index, TimerEntry *entry)
    {
        slots_[index] = entry;
        entry->heap_index = static_cast<int32_t>(index);
    }

    uint32_t sift_up(uint32_t index)
    {
        TimerEntry *entry = slots_[index];
        while (index > 0) {
            uint32_t parent = (index - 1) / 2;
            if (!before(entry, slots_[parent]))
                break;
            place(index, slots_[parent]);
            index = parent;
        }
        place(index, entry);
        return index;
    }

    void sift_down(uint32_t index)
    {
        TimerEntry *entry = slots_[index];
        for (;;) {
            uint32_t child = 2 * index + 1;
            if (child >= size_)
                break;
            if (child + 1 < size_ && before(slots_[child + 1], slots_[child]))
                ++child;
            if (!before(slots_[child], entry))
                break;
            place(index, slots_[child]);
            index = child;
        }
        place(index, entry);
    }

    TimerEntry **slots_ = nullptr;
    uint32_t size_ = 0;
    uint32_t capacity_ = 0;
};

} // namespace tpuring::pool
