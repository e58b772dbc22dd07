// Peer: Boost.Asio's thread_pool with one thread per core; posts are asio::post of a
// small lambda, drain is join().
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "peer_harness.hpp"

namespace {

class AsioThreadPool {
public:
    AsioThreadPool(unsigned threads, peer::Callback callback) : pool_(threads), callback_(callback) {}

    void post(void *context)
    {
        boost::asio::post(pool_, [callback = callback_, context] { callback(context); });
    }

    void drain() { pool_.join(); }

private:
    boost::asio::thread_pool pool_;
    peer::Callback callback_;
};

} // namespace

int main(int argc, char **argv)
{
    return peer::peer_main(argc, argv, "boost.asio thread_pool", peer::standard_scenarios<AsioThreadPool>());
}
