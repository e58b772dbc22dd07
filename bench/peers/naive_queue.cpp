// Peer: the naive baseline anyone would write first. One std::mutex guarding a deque, one
// condition variable, a fixed thread per core.
#include <condition_variable>
#include <deque>
#include <mutex>

#include "peer_harness.hpp"

namespace {

class NaiveQueuePool {
public:
    NaiveQueuePool(unsigned threads, peer::Callback callback) : callback_(callback)
    {
        for (unsigned i = 0; i < threads; i++)
            workers_.emplace_back([this] { work(); });
    }

    ~NaiveQueuePool() { drain(); }

    void post(void *context)
    {
        {
            std::lock_guard lock(mutex_);
            queue_.push_back(context);
            unfinished_++;
        }
        has_work_.notify_one();
    }

    void drain()
    {
        {
            std::unique_lock lock(mutex_);
            all_done_.wait(lock, [this] { return unfinished_ == 0; });
            stopping_ = true;
        }
        has_work_.notify_all();
        for (auto &worker : workers_)
            worker.join();
        workers_.clear();
    }

private:
    void work()
    {
        std::unique_lock lock(mutex_);
        for (;;) {
            has_work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty())
                return;
            void *context = queue_.front();
            queue_.pop_front();
            lock.unlock();
            callback_(context);
            lock.lock();
            if (--unfinished_ == 0)
                all_done_.notify_all();
        }
    }

    peer::Callback callback_;
    std::mutex mutex_;
    std::condition_variable has_work_, all_done_;
    std::deque<void *> queue_;
    long unfinished_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

} // namespace

int main(int argc, char **argv)
{
    return peer::peer_main(argc, argv, "naive mutex+condvar", peer::standard_scenarios<NaiveQueuePool>());
}
