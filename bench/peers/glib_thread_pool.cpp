// Peer: GLib's GThreadPool (shared, non-exclusive threads, at most one per core); posts
// are g_thread_pool_push, drain is g_thread_pool_free(..., wait = TRUE).
#include <glib.h>

#include "peer_harness.hpp"

namespace {

class GlibThreadPool {
public:
    GlibThreadPool(unsigned threads, peer::Callback callback) : callback_(callback)
    {
        GError *error = nullptr;
        pool_ = g_thread_pool_new(run_item, this, gint(threads), FALSE, &error);
        if (!pool_) {
            std::fprintf(stderr, "g_thread_pool_new: %s\n", error ? error->message : "failed");
            std::exit(1);
        }
    }

    ~GlibThreadPool() { drain(); }

    void post(void *context) { g_thread_pool_push(pool_, context, nullptr); }

    void drain()
    {
        if (pool_)
            g_thread_pool_free(pool_, FALSE, TRUE);
        pool_ = nullptr;
    }

private:
    static void run_item(gpointer item, gpointer self) { static_cast<GlibThreadPool *>(self)->callback_(item); }

    GThreadPool *pool_ = nullptr;
    peer::Callback callback_;
};

} // namespace

int main(int argc, char **argv)
{
    return peer::peer_main(argc, argv, "GLib GThreadPool", peer::standard_scenarios<GlibThreadPool>());
}
