// The pool functions of the ABI, and the pool extensions of <tpuring/tpuring.h>.
#include "base/last_error.h"
#include "pool/pool.h"

using tpuring::pool::Pool;

namespace {
Pool *from(PTP_POOL handle) { return reinterpret_cast<Pool *>(handle); }
PTP_POOL handle_of(Pool *pool) { return reinterpret_cast<PTP_POOL>(pool); }
} // namespace

extern "C" {

TPURING_API PTP_POOL tpuring_CreateThreadpool(PVOID)
{
    DWORD error = ERROR_SUCCESS;
    Pool *pool = Pool::create(&error);
    if (!pool)
        return tpuring::fail(error, PTP_POOL(nullptr));
    return handle_of(pool);
}

TPURING_API void tpuring_CloseThreadpool(PTP_POOL ptpp)
{
    if (ptpp)
        from(ptpp)->release();
}

TPURING_API void tpuring_SetThreadpoolThreadMaximum(PTP_POOL ptpp, DWORD cthrdMost)
{
    if (ptpp)
        from(ptpp)->set_max_threads(cthrdMost);
}

TPURING_API BOOL tpuring_SetThreadpoolThreadMinimum(PTP_POOL ptpp, DWORD cthrdMic)
{
    if (!ptpp)
        return tpuring::fail(ERROR_INVALID_PARAMETER, FALSE);
    return from(ptpp)->set_min_threads(cthrdMic) ? TRUE : FALSE;
}

TPURING_API BOOL tpuring_SetThreadpoolStackInformation(PTP_POOL ptpp, PTP_POOL_STACK_INFORMATION ptpsi)
{
    if (!ptpp || !ptpsi)
        return tpuring::fail(ERROR_INVALID_PARAMETER, FALSE);
    from(ptpp)->set_stack(*ptpsi);
    return TRUE;
}

TPURING_API BOOL tpuring_QueryThreadpoolStackInformation(PTP_POOL ptpp, PTP_POOL_STACK_INFORMATION ptpsi)
{
    if (!ptpp || !ptpsi)
        return tpuring::fail(ERROR_INVALID_PARAMETER, FALSE);
    *ptpsi = from(ptpp)->stack();
    return TRUE;
}

TPURING_API BOOL tpuring_set_pool_dispatch(PTP_POOL pool, tpuring_dispatch_mode mode)
{
    if (mode != TPURING_DISPATCH_DIRECT && mode != TPURING_DISPATCH_RING)
        return tpuring::fail(ERROR_INVALID_PARAMETER, FALSE);
    Pool *target = pool ? from(pool) : Pool::default_pool();
    if (!target)
        return FALSE;
    target->set_dispatch_mode(mode);
    return TRUE;
}

TPURING_API tpuring_dispatch_mode tpuring_get_pool_dispatch(PTP_POOL pool)
{
    Pool *target = pool ? from(pool) : Pool::default_pool();
    return target ? target->dispatch_mode() : TPURING_DISPATCH_DIRECT;
}

TPURING_API BOOL tpuring_query_pool_stats(PTP_POOL pool, tpuring_pool_stats *stats)
{
    if (!stats)
        return tpuring::fail(ERROR_INVALID_PARAMETER, FALSE);
    Pool *target = pool ? from(pool) : Pool::default_pool();
    if (!target)
        return FALSE;
    target->query_stats(*stats);
    return TRUE;
}

} // extern "C"
