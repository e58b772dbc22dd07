// Peer: a Boost.Asio io_context run by one thread per core, with the io_uring backend in
// place of epoll. A steady_timer is kept alive so the io_uring reactor task is running, as
// in any program with I/O objects; work arrives by asio::post.
#define BOOST_ASIO_HAS_IO_URING 1
#define BOOST_ASIO_DISABLE_EPOLL 1

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "peer_harness.hpp"

namespace {

class AsioIoContextUring {
public:
    AsioIoContextUring(unsigned threads, peer::Callback callback)
        : context_(int(threads)), guard_(boost::asio::make_work_guard(context_)), reactor_user_(context_),
          callback_(callback)
    {
        for (unsigned i = 0; i < threads; i++)
            threads_.emplace_back([this] { context_.run(); });
    }

    ~AsioIoContextUring()
    {
        if (!threads_.empty()) {
            context_.stop();
            join();
        }
    }

    void post(void *context)
    {
        boost::asio::post(context_, [callback = callback_, context] { callback(context); });
    }

    void drain()
    {
        guard_.reset(); // run() returns once the queue is empty
        join();
    }

private:
    void join()
    {
        for (auto &thread : threads_)
            thread.join();
        threads_.clear();
    }

    boost::asio::io_context context_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
    boost::asio::steady_timer reactor_user_;
    peer::Callback callback_;
    std::vector<std::thread> threads_;
};

} // namespace

int main(int argc, char **argv)
{
    return peer::peer_main(argc, argv, "boost.asio io_context (io_uring)",
                           peer::standard_scenarios<AsioIoContextUring>());
}
