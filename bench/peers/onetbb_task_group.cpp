// Peer: oneTBB used the way its documentation teaches: a task_group with the default
// scheduler (one thread per core, counting the thread that waits), tasks added with
// task_group::run from any thread, and task_group::wait, in which the waiting thread runs
// tasks too. S3 waits on an event instead, as its definition says, so a worker must wake.
#include <oneapi/tbb/task_group.h>

#include "peer_harness.hpp"

namespace {

class TbbTaskGroup {
public:
    TbbTaskGroup(unsigned, peer::Callback callback) : callback_(callback) {}

    ~TbbTaskGroup() { group_.wait(); }

    void post(void *context)
    {
        group_.run([callback = callback_, context] { callback(context); });
    }

    void help_until_idle() { group_.wait(); }
    void drain() { group_.wait(); }

private:
    tbb::task_group group_;
    peer::Callback callback_;
};

} // namespace

int main(int argc, char **argv)
{
    return peer::peer_main(argc, argv, "oneTBB task_group", peer::standard_scenarios<TbbTaskGroup>());
}
