// The original API's WT_* flags, as the environment of the default-pool object behind a
// call. Thread-kind flags name one kind of worker here (no I/O, wait or timer threads);
// impersonation and the thread-limit bits have no meaning on Linux and are accepted.
#pragma once

#include <tpuring/win32.h>

namespace tpuring::legacy {

inline TP_CALLBACK_ENVIRON environment_for_flags(ULONG flags)
{
    TP_CALLBACK_ENVIRON environment;
    TpInitializeCallbackEnviron(&environment);
    environment.u.s.LongFunction = (flags & WT_EXECUTELONGFUNCTION) ? 1 : 0;
    environment.u.s.Persistent = (flags & WT_EXECUTEINPERSISTENTTHREAD) ? 1 : 0;
    return environment;
}

} // namespace tpuring::legacy
