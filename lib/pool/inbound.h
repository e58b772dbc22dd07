// Objects posted without the pool lock, waiting for a worker to link them into the run
// queue: one lock-free stack per priority, so that a worker can tell without the lock
// whether anything of high priority waits.
#pragma once

#include "pool/command_stack.h"
#include "pool/dispatchable.h"

namespace tpuring::pool {

class Inbound {
public:
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

    // Takes everything, as one chain: high priority first, each priority in push order.
    Dispatchable *take_all()
    {
        Dispatchable *chain = nullptr;
        for (int priority = priority_count - 1; priority >= 0; --priority)
            chain = stacks_[priority].stack.take_all(chain);
        return chain;
    }

    static void visit_chain(Dispatchable *chain, auto &&visit) { Stack::visit_chain(chain, visit); }

private:
    using Stack = CommandStack<Dispatchable, &Dispatchable::next_inbound_>;
    struct Padded {
        alignas(64) Stack stack;
    };
    Padded stacks_[priority_count];
};

} // namespace tpuring::pool
