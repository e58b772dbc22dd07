// Objects posted without the pool lock, waiting for a worker to link them into the run
// queue: one lock-free stack per priority, so that a worker can tell without the lock
// whether anything of high priority waits.
//
// The worker takes everything at once and puts it in push order without the lock. While
// doing so it already links consecutive plain one-shots to each other as run-queue
// members, so that under the lock a run of them is spliced in one step: with a backlog,
// each object is touched once outside the lock instead of again inside it.
#pragma once

#include <cstdint>

#include "pool/command_stack.h"
#include "pool/dispatchable.h"

namespace tpuring::pool {

class Inbound {
public:
    // What take_all() returns: a chain of runs through next_inbound_, in push order (high
    // priority first). A run is one object, or consecutive plain one-shots already linked
    // to each other through next_/prev_, its head's prev_ pointing at its last member.
    struct Taken {
        Dispatchable *runs = nullptr;
        uint32_t plain = 0; // plain one-shots in the runs

        explicit operator bool() const { return runs != nullptr; }
        static bool is_plain_run(const Dispatchable &head) { return head.is_plain_one_shot(); }
        static Dispatchable &last_of_plain_run(const Dispatchable &head) { return *head.prev_; }
    };

    // Returns true when the object's priority had nothing waiting before.
    bool push(Dispatchable &item) { return stacks_[static_cast<int>(item.priority())].stack.push(item); }

    bool empty() const
    {
        for (const Padded &padded : stacks_)
            if (!padded.stack.empty())
                return false;
        return true;
    }
    bool high_priority_waiting() const { return !stacks_[static_cast<int>(Priority::high)].stack.empty(); }

    Taken take_all()
    {
        Taken taken;
        for (int priority = priority_count - 1; priority >= 0; --priority)
            prepend_in_push_order(stacks_[priority].stack.take_newest_first(), taken);
        return taken;
    }

    static void visit_runs(const Taken &taken, auto &&visit) { Stack::visit_chain(taken.runs, visit); }

private:
    using Stack = CommandStack<Dispatchable, &Dispatchable::next_inbound_>;
    struct Padded {
        alignas(64) Stack stack;
    };

    // Walks a newest-first chain, putting each object in front of the runs built so far.
    static void prepend_in_push_order(Dispatchable *newest_first, Taken &taken)
    {
        while (Dispatchable *item = newest_first) {
            newest_first = item->next_inbound_;
            Dispatchable *head = taken.runs;
            if (item->is_plain_one_shot()) {
                ++taken.plain;
                item->linked_ = true; // nobody else reaches it: set before the lock is taken
                if (head && head->is_plain_one_shot()) { // joins the run ahead of it
                    item->next_ = head;
                    item->prev_ = head->prev_; // the run's last
                    item->next_inbound_ = head->next_inbound_;
                    head->prev_ = item;
                } else { // starts a run
                    item->next_ = nullptr;
                    item->prev_ = item;
                    item->next_inbound_ = head;
                }
            } else {
                item->next_inbound_ = head;
            }
            taken.runs = item;
        }
    }

    Padded stacks_[priority_count];
};

} // namespace tpuring::pool
