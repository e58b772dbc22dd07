// The pool's ready queues: one FIFO of objects per priority, each object linked at most
// once however many invocations it has queued (round robin by object within a priority).
#pragma once

#include "pool/dispatchable.h"

namespace tpuring::pool {

class RunQueue {
public:
    bool empty() const
    {
        for (const List &list : lists_)
            if (list.head)
                return false;
        return true;
    }

    // The object whose invocation starts next: the oldest of the highest non-empty priority.
    Dispatchable *front() const
    {
        for (const List &list : lists_)
            if (list.head)
                return list.head;
        return nullptr;
    }

    void push_back(Dispatchable &item)
    {
        List &list = lists_[static_cast<int>(item.priority())];
        item.prev_ = list.tail;
        item.next_ = nullptr;
        if (list.tail)
            list.tail->next_ = &item;
        else
            list.head = &item;
        list.tail = &item;
        item.linked_ = true;
    }

    // Appends objects already linked to each other (first to last through next_ and
    // prev_, all marked linked_), in one step.
    void push_back_run(Dispatchable &first, Dispatchable &last)
    {
        List &list = lists_[static_cast<int>(first.priority())];
        first.prev_ = list.tail;
        if (list.tail)
            list.tail->next_ = &first;
        else
            list.head = &first;
        list.tail = &last;
    }

    void remove(Dispatchable &item)
    {
        List &list = lists_[static_cast<int>(item.priority())];
        if (list.head == &item) {
            // The head's prev_ is never read, so the next object (often not yet in this
            // CPU's cache) is not written.
            list.head = item.next_;
            if (!list.head)
                list.tail = nullptr;
        } else {
            item.prev_->next_ = item.next_;
            (item.next_ ? item.next_->prev_ : list.tail) = item.prev_;
        }
        item.next_ = item.prev_ = nullptr;
        item.linked_ = false;
    }

    // Moves an object that still has queued invocations behind its peers.
    void rotate(Dispatchable &item)
    {
        List &list = lists_[static_cast<int>(item.priority())];
        if (list.tail == &item)
            return;
        remove(item);
        push_back(item);
    }

private:
    struct List {
        Dispatchable *head = nullptr;
        Dispatchable *tail = nullptr;
    };
    List lists_[priority_count];
};

} // namespace tpuring::pool
