#include "legacy/handle_registry.h"

#include <mutex>
#include <unordered_map>

namespace tpuring::legacy {

namespace {

struct Registry {
    std::mutex lock;
    std::unordered_map<const void *, HandleKind> live;
};

Registry &registry()
{
    static Registry *instance = new Registry(); // never destroyed: used until process exit
    return *instance;
}

} // namespace

void register_handle(const void *handle, HandleKind kind)
{
    Registry &reg = registry();
    std::lock_guard guard(reg.lock);
    reg.live[handle] = kind;
}

bool unregister_handle(const void *handle, HandleKind kind)
{
    Registry &reg = registry();
    std::lock_guard guard(reg.lock);
    auto found = reg.live.find(handle);
    if (found == reg.live.end() || found->second != kind)
        return false;
    reg.live.erase(found);
    return true;
}

bool detail::lookup_locked_and_call(const void *handle, HandleKind kind, void (*call)(const void *, void *),
                                    void *context)
{
    Registry &reg = registry();
    std::lock_guard guard(reg.lock);
    auto found = reg.live.find(handle);
    if (found == reg.live.end() || found->second != kind)
        return false;
    call(handle, context);
    return true;
}

} // namespace tpuring::legacy
