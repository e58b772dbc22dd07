#include "objects/environment.h"

#include <cstring>
#include <new>

#include "base/last_error.h"
#include "base/library.h"
#include "objects/cleanup_group.h"
#include "pool/pool.h"

namespace tpuring::objects {

bool read_environment(const TP_CALLBACK_ENVIRON *environment, ObjectSettings &settings)
{
    settings = ObjectSettings{};
    pool::Pool *pool = nullptr;
    ObjectExtras extras;
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
        extras.group = reinterpret_cast<CleanupGroup *>(environment->CleanupGroup);
        extras.cancel_callback = environment->CleanupGroupCancelCallback;
        extras.finalization = environment->FinalizationCallback;
        extras.race_dll = static_cast<HMODULE>(environment->RaceDll);
        settings.traits.runs_long = environment->u.s.LongFunction;
        settings.traits.persistent = environment->u.s.Persistent;
    }
    if (!pool) {
        pool = pool::Pool::default_pool();
        if (!pool)
            return false; // last error set by the default pool
    }
    // A cancel callback without a group is never called: it needs no room.
    if (extras.group || extras.finalization || extras.race_dll) {
        settings.extras = new (std::nothrow) ObjectExtras(extras);
        if (!settings.extras)
            return fail(ERROR_NOT_ENOUGH_MEMORY, false);
        if (extras.race_dll) {
            DWORD saved = last_error();
            settings.extras->holds_race_dll = module_add_ref(extras.race_dll);
            set_last_error(saved);
        }
    }
    pool->add_ref();
    settings.pool = pool;
    return true;
}

void release_environment(ObjectSettings &settings)
{
    settings.pool->release();
    if (ObjectExtras *extras = settings.extras) {
        if (extras->holds_race_dll)
            tpuring_FreeLibrary(extras->race_dll);
        delete extras;
    }
    settings = ObjectSettings{};
}

} // namespace tpuring::objects
