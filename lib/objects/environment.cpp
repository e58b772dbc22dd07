#include "objects/environment.h"

#include <cstring>

#include "base/last_error.h"
#include "base/library.h"
#include "objects/cleanup_group.h"
#include "pool/pool.h"

namespace tpuring::objects {

bool read_environment(const TP_CALLBACK_ENVIRON *environment, ObjectSettings &settings)
{
    settings = ObjectSettings{};
    pool::Pool *pool = nullptr;
    if (environment) {
        if (environment->Version != 1 && environment->Version != 3)
            return fail(ERROR_INVALID_PARAMETER, false);
        if (environment->Version == 3) { // V1 structures end before the priority field
            // Read as an integer: any value may be stored there, not just the enumerators.
            DWORD priority;
            std::memcpy(&priority, &environment->CallbackPriority, sizeof priority);
            if (priority > TP_CALLBACK_PRIORITY_LOW)
                return fail(ERROR_INVALID_PARAMETER, false);
            settings.traits.priority = static_cast<pool::Priority>(priority);
        }
        pool = reinterpret_cast<pool::Pool *>(environment->Pool);
        settings.group = reinterpret_cast<CleanupGroup *>(environment->CleanupGroup);
        settings.cancel_callback = environment->CleanupGroupCancelCallback;
        settings.finalization = environment->FinalizationCallback;
        settings.race_dll = static_cast<HMODULE>(environment->RaceDll);
        settings.traits.runs_long = environment->u.s.LongFunction;
        settings.traits.persistent = environment->u.s.Persistent;
    }
    if (!pool) {
        pool = pool::Pool::default_pool();
        if (!pool)
            return false; // last error set by the default pool
    }
    if (settings.race_dll) {
        DWORD saved = last_error();
        settings.holds_race_dll = module_add_ref(settings.race_dll);
        set_last_error(saved);
    }
    pool->add_ref();
    settings.pool = pool;
    return true;
}

void release_environment(ObjectSettings &settings)
{
    settings.pool->release();
    if (settings.holds_race_dll)
        tpuring_FreeLibrary(settings.race_dll);
    settings = ObjectSettings{};
}

} // namespace tpuring::objects
