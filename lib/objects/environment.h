// What a callback environment fixes for an object at creation (spec/pool-and-environment.md §4).
#pragma once

#include <tpuring/win32.h>

#include "pool/dispatchable.h"

namespace tpuring::objects {

class CallbackObject;
class CleanupGroup;

// The settings few objects have, kept out of line so that the common object stays small:
// allocated only when the environment names a cleanup group, a finalization callback or a
// RaceDll.
struct ObjectExtras {
    CleanupGroup *group = nullptr;
    PTP_CLEANUP_GROUP_CANCEL_CALLBACK cancel_callback = nullptr;
    PTP_SIMPLE_CALLBACK finalization = nullptr;
    // A module from LoadLibrary held loaded while the object lives (one reference per
    // object); any other value is kept as an opaque tag.
    HMODULE race_dll = nullptr;
    bool holds_race_dll = false;

    // Cleanup-group list links, guarded by the group's lock.
    bool in_group_list = false;
    CallbackObject *group_next = nullptr;
    CallbackObject *group_prev = nullptr;
};

struct ObjectSettings {
    pool::Pool *pool = nullptr; // holds a reference
    pool::Dispatchable::Traits traits;
    ObjectExtras *extras = nullptr; // owned; nullptr when the environment sets none of them
};

// Reads and validates an environment (nullptr: the defaults). On success the settings hold
// a reference to the pool; on failure the last error is set and false returned.
bool read_environment(const TP_CALLBACK_ENVIRON *environment, ObjectSettings &settings);

// Gives back what read_environment took (for a creation that failed later, and for an
// object being freed).
void release_environment(ObjectSettings &settings);

} // namespace tpuring::objects
