#include "kobj/descriptor.h"

#include <new>

#include <poll.h>
#include <unistd.h>

#include "base/last_error.h"
#include "kobj/handle_table.h"
#include <tpuring/tpuring.h>

namespace tpuring::kobj {

namespace {

bool polls_ready(int fd) noexcept
{
    pollfd entry{fd, POLLIN, 0};
    // Any reported event counts: POLLIN, or POLLERR/POLLHUP/POLLNVAL, which a read would
    // also report at once.
    return poll(&entry, 1, 0) > 0;
}

} // namespace

Descriptor::~Descriptor()
{
    if (fd_ >= 0)
        close(fd_);
}

AcquireResult Descriptor::try_acquire() noexcept
{
    return polls_ready(fd_) ? AcquireResult::Acquired : AcquireResult::NotSignaled;
}

bool Descriptor::is_signaled() noexcept { return polls_ready(fd_); }

bool Descriptor::can_acquire(std::uint32_t, DWORD) const noexcept { return polls_ready(fd_); }

std::uint32_t Descriptor::acquired_word(std::uint32_t word, DWORD, AcquireResult *result) const noexcept
{
    *result = AcquireResult::Acquired;
    return word;
}

} // namespace tpuring::kobj

using namespace tpuring::kobj;

extern "C" {

TPURING_API HANDLE tpuring_handle_from_fd(int fd)
{
    if (fd < 0)
        return tpuring::fail(ERROR_INVALID_HANDLE, static_cast<HANDLE>(nullptr));
    Descriptor *descriptor = new (std::nothrow) Descriptor(fd);
    if (descriptor == nullptr)
        return tpuring::fail(ERROR_NOT_ENOUGH_MEMORY, static_cast<HANDLE>(nullptr));
    // On failure the caller keeps its descriptor: hold a reference to take it back.
    descriptor->add_ref();
    HANDLE handle = insert_handle(descriptor);
    if (handle == nullptr)
        descriptor->disown_fd();
    descriptor->release();
    return handle;
}

TPURING_API int tpuring_handle_to_fd(HANDLE h)
{
    Ref<Waitable> object = lookup_handle(h);
    if (!object || object->type() != ObjectType::Descriptor)
        return tpuring::fail(ERROR_INVALID_HANDLE, -1);
    return object->poll_fd();
}

} // extern "C"
