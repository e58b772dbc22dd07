// What a callback environment fixes for an object at creation (spec/pool-and-environment.md §4).
#pragma once

#include <tpuring/win32.h>

#include "pool/dispatchable.h"

namespace tpuring::objects {

class CleanupGroup;

struct ObjectSettings {
    pool::Pool *pool = nullptr; // holds a reference
    CleanupGroup *group = nullptr;
    PTP_CLEANUP_GROUP_CANCEL_CALLBACK cancel_callback = nullptr;
    PTP_SIMPLE_CALLBACK finalization = nullptr;
    // A module from LoadLibrary held loaded while the object lives (one reference per
    // object); any other value is kept as an opaque tag.
    HMODULE race_dll = nullptr;
    bool holds_race_dll = false;
    pool::Dispatchable::Traits traits;
};

// Reads and validates an environment (nullptr: the defaults). On success the settings hold
// a reference to the pool; on failure the last error is set and false returned.
bool read_environment(const TP_CALLBACK_ENVIRON *environment, ObjectSettings &settings);

// Gives back what read_environment took (for a creation that failed later).
void release_environment(ObjectSettings &settings);

} // namespace tpuring::objects
