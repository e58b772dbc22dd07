// A lock-free multi-producer, single-consumer hand-off of intrusive nodes. Producers push;
// the one consumer takes everything at once, oldest first.
#pragma once

#include <atomic>

namespace tpuring::pool {

template <typename Node, Node *Node::*Next>
class CommandStack {
public:
    // Returns true when the stack was empty before this push.
    bool push(Node &node)
    {
        Node *head = head_.load(std::memory_order_relaxed);
        do {
            node.*Next = head;
        } while (!head_.compare_exchange_weak(head, &node, std::memory_order_seq_cst, std::memory_order_relaxed));
        return head == nullptr;
    }

    bool empty() const { return head_.load(std::memory_order_seq_cst) == nullptr; }

    // Takes every node, as a chain newest first (linked through Next).
    Node *take_newest_first() { return head_.exchange(nullptr, std::memory_order_acquire); }

    // Takes every node, as a chain in push order (linked through Next).
    Node *take_all()
    {
        Node *node = take_newest_first();
        Node *chain = nullptr;
        while (node) {
            Node *next = node->*Next;
            node->*Next = chain;
            chain = node;
            node = next;
        }
        return chain;
    }

    // Takes every node; calls visit(node) in push order.
    template <typename Visit>
    void take_all(Visit &&visit)
    {
        visit_chain(take_all(), visit);
    }

    // Calls visit(node) for every node of a chain from take_all(); visit may relink it.
    template <typename Visit>
    static void visit_chain(Node *chain, Visit &&visit)
    {
        while (chain) {
            Node *next = chain->*Next;
            visit(*chain);
            chain = next;
        }
    }

private:
    std::atomic<Node *> head_{nullptr};
};

} // namespace tpuring::pool
