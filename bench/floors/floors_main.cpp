// bench-floors --list | --floor NAME [--quick]
// --list prints "NAME SCENARIO" per floor: the scenario table whose rows it bounds.
#include <cstdio>
#include <string>

#include "floors.hpp"

namespace {

struct FloorEntry {
    const char *name;
    const char *scenario;
    int (*run)(const floors::FloorOptions &);
};

const FloorEntry floor_entries[] = {
    {"nop-1", "S1", floors::nop_one_per_enter},
    {"nop-64", "S1", floors::nop_batched_64},
    {"futex-wake", "S3", floors::futex_wake_latency},
    {"uring-futex-wait", "S3", floors::uring_futex_wait_latency},
    {"uring-poll-eventfd", "S3", floors::uring_poll_eventfd_latency},
    {"uring-timeout-all-armed", "S4", floors::uring_timeout_lateness_all_armed},
    {"uring-timeout-one-armed", "S4", floors::uring_timeout_lateness_one_armed},
};

} // namespace

int main(int argc, char **argv)
{
    floors::FloorOptions options;
    std::string wanted;
    for (int i = 1; i < argc; i++) {
        std::string arg = argv[i];
        if (arg == "--list") {
            for (const auto &entry : floor_entries)
                std::printf("%s %s\n", entry.name, entry.scenario);
            return 0;
        }
        if (arg == "--quick")
            options.quick = true;
        else if (arg == "--floor" && i + 1 < argc)
            wanted = argv[++i];
        else {
            wanted.clear(); // unknown argument: fall through to the usage message
            break;
        }
    }
    for (const auto &entry : floor_entries)
        if (wanted == entry.name)
            return entry.run(options);
    std::fprintf(stderr, "usage: %s --list | --floor NAME [--quick]\n", argv[0]);
    return 2;
}
