// Waits on descriptor handles (tpuring_handle_from_fd: signalled while the descriptor polls
// readable, or reports an error or hang-up; waiting consumes nothing) and on processes (a
// pidfd, readable once the process exited): thread-pool waits, RegisterWaitForSingleObject,
// WaitForSingleObject and WaitForMultipleObjects.
#include "wait_support.h"

#include <cerrno>
#include <csignal>
#include <ctime>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace waittest;

class DescriptorWaitTest : public ::testing::Test {
protected:
    Pool pool{TPURING_DISPATCH_DIRECT};
};

// A pipe whose read end is owned by a handle.
struct PipeHandle {
    PipeHandle()
    {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
            throw std::runtime_error("pipe2 failed");
        read_fd = fds[0];
        write_fd = fds[1];
        handle = Handle(tpuring_handle_from_fd(read_fd));
        if (!handle)
            throw std::runtime_error("tpuring_handle_from_fd failed");
    }
    ~PipeHandle() { close_writer(); }
    void put(char c = 'x') const
    {
        if (write(write_fd, &c, 1) != 1)
            throw std::runtime_error("write failed");
    }
    bool take() const
    {
        char c;
        return read(read_fd, &c, 1) == 1;
    }
    void close_writer()
    {
        if (write_fd >= 0)
            close(write_fd);
        write_fd = -1;
    }
    int read_fd = -1;
    int write_fd = -1;
    Handle handle;
};

struct SocketHandle {
    SocketHandle()
    {
        int fds[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) != 0)
            throw std::runtime_error("socketpair failed");
        mine = fds[0];
        peer = fds[1];
        handle = Handle(tpuring_handle_from_fd(mine));
        if (!handle)
            throw std::runtime_error("tpuring_handle_from_fd failed");
    }
    ~SocketHandle()
    {
        if (peer >= 0)
            close(peer);
    }
    void send_byte() const
    {
        char c = 'x';
        if (write(peer, &c, 1) != 1)
            throw std::runtime_error("write failed");
    }
    bool take() const
    {
        char c;
        return read(mine, &c, 1) == 1;
    }
    int mine = -1;
    int peer = -1;
    Handle handle;
};

TEST(DescriptorHandle, NegativeDescriptorIsInvalidHandle)
{
    SetLastError(0);
    EXPECT_EQ(nullptr, tpuring_handle_from_fd(-1));
    EXPECT_EQ(static_cast<DWORD>(ERROR_INVALID_HANDLE), GetLastError());
}

// ---- Thread-pool waits --------------------------------------------------------------------------

// Socket: a byte written by the peer -> WAIT_OBJECT_0. Nothing is consumed: re-arming
// fires again while the byte is unread; after reading it the wait stays armed.
TEST_F(DescriptorWaitTest, SocketBecomesSignalledWhenDataArrives)
{
    SocketHandle sock;
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    SetThreadpoolWait(wait, sock.handle, nullptr);
    settle();
    EXPECT_EQ(0, log->total());
    sock.send_byte();
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->signalled.load());
    SetThreadpoolWait(wait, sock.handle, nullptr); // the byte is still there
    ASSERT_TRUE(log->wait_calls(2));
    EXPECT_EQ(2, log->signalled.load());
    EXPECT_TRUE(sock.take());
    SetThreadpoolWait(wait, sock.handle, nullptr);
    settle();
    EXPECT_EQ(2, log->total());
    sock.send_byte();
    ASSERT_TRUE(log->wait_calls(3));
    EXPECT_EQ(3, log->signalled.load());
}

// A peer that closes its end (hang-up) signals the socket too.
TEST_F(DescriptorWaitTest, SocketHangUpSignals)
{
    SocketHandle sock;
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    SetThreadpoolWait(wait, sock.handle, nullptr);
    close(sock.peer);
    sock.peer = -1;
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->signalled.load());
}

TEST_F(DescriptorWaitTest, PipeBecomesSignalledWhenWritten)
{
    PipeHandle p;
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    SetThreadpoolWait(wait, p.handle, nullptr);
    settle();
    EXPECT_EQ(0, log->total());
    p.put();
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->signalled.load());
    EXPECT_TRUE(p.take()); // the byte is still there: the wait took nothing
    // Writer closed: hang-up counts as signalled.
    SetThreadpoolWait(wait, p.handle, nullptr);
    settle(100ms);
    EXPECT_EQ(1, log->total());
    p.close_writer();
    ASSERT_TRUE(log->wait_calls(2));
    EXPECT_EQ(2, log->signalled.load());
}

// Timeouts work on descriptors like on any handle, and are not early.
TEST_F(DescriptorWaitTest, EmptyPipeTimesOutNotEarly)
{
    PipeHandle p;
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    const auto start = Clock::now();
    FILETIME timeout = relative_ms(200);
    SetThreadpoolWait(wait, p.handle, &timeout);
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->timeouts.load());
    EXPECT_GE(us_between(start, log->first_call()), 199000);
    // A disarmed descriptor wait reports nothing when the data comes.
    FILETIME long_timeout = relative_ms(60000);
    SetThreadpoolWait(wait, p.handle, &long_timeout);
    SetThreadpoolWait(wait, nullptr, nullptr);
    p.put();
    settle();
    EXPECT_EQ(1, log->total());
}

// Re-arming a descriptor wait on another object replaces the poll.
TEST_F(DescriptorWaitTest, RearmingFromADescriptorToASemaphore)
{
    PipeHandle p;
    Handle sem = make_semaphore(0, 1);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    SetThreadpoolWait(wait, p.handle, nullptr);
    SetThreadpoolWait(wait, sem, nullptr);
    p.put();
    settle();
    EXPECT_EQ(0, log->total());
    ASSERT_TRUE(ReleaseSemaphore(sem, 1, nullptr));
    ASSERT_TRUE(log->wait_calls(1));
    settle(100ms);
    EXPECT_EQ(1, log->total());
}

TEST_F(DescriptorWaitTest, EventfdIsSignalledWhileItsCountIsNonZero)
{
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ASSERT_GE(efd, 0);
    Handle h(tpuring_handle_from_fd(efd));
    ASSERT_TRUE(h);
    EXPECT_EQ(efd, tpuring_handle_to_fd(h));
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    SetThreadpoolWait(wait, h, nullptr);
    settle();
    EXPECT_EQ(0, log->total());
    uint64_t one = 1;
    ASSERT_EQ(8, write(efd, &one, sizeof one));
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->signalled.load());
    uint64_t value = 0;
    ASSERT_EQ(8, read(efd, &value, sizeof value)); // still readable: not consumed
    EXPECT_EQ(1u, value);
    EXPECT_EQ(WAIT_TIMEOUT, WaitForSingleObject(h, 0));
}

// A timerfd is libtpuring's waitable timer.
TEST_F(DescriptorWaitTest, TimerfdFiresNotEarly)
{
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    ASSERT_GE(tfd, 0);
    Handle h(tpuring_handle_from_fd(tfd));
    ASSERT_TRUE(h);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    SetThreadpoolWait(wait, h, nullptr);
    const auto start = Clock::now();
    itimerspec due{};
    due.it_value.tv_nsec = 150 * 1000 * 1000;
    ASSERT_EQ(0, timerfd_settime(tfd, 0, &due, nullptr));
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->signalled.load());
    EXPECT_GE(us_between(start, log->first_call()), 149000);
}

// Many descriptor waits at once, each satisfied by its own pipe only.
TEST_F(DescriptorWaitTest, ManyPipesEachTriggerTheirOwnWait)
{
    constexpr int kPipes = 64;
    std::vector<std::unique_ptr<PipeHandle>> pipes;
    Shared<std::vector<WaitLog>> logs(kPipes);
    std::vector<std::unique_ptr<WaitObject>> waits;
    for (int i = 0; i < kPipes; ++i) {
        pipes.push_back(std::make_unique<PipeHandle>());
        waits.push_back(std::make_unique<WaitObject>(log_wait, &(*logs)[i], pool.env()));
        SetThreadpoolWait(*waits.back(), pipes.back()->handle, nullptr);
    }
    for (int i = kPipes - 1; i >= 0; i -= 2)
        pipes[i]->put();
    for (int i = kPipes - 1; i >= 0; i -= 2)
        ASSERT_TRUE((*logs)[i].wait_calls(1)) << i;
    settle();
    for (int i = 0; i < kPipes; ++i)
        EXPECT_EQ(i % 2 == 1 ? 1 : 0, (*logs)[i].total()) << i;
    waits.clear();
}

// ---- Processes ---------------------------------------------------------------------------------------

// A child that exits with `code` after `ms`. Only async-signal-safe calls in the child.
pid_t spawn_child(int ms, int code)
{
    pid_t pid = fork();
    if (pid == 0) {
        timespec ts{ms / 1000, (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
        _exit(code);
    }
    return pid;
}

int reap(pid_t pid)
{
    int status = 0;
    pid_t r;
    do {
        r = waitpid(pid, &status, 0);
    } while (r < 0 && errno == EINTR);
    if (r != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
}

HANDLE pidfd_handle(pid_t pid)
{
    int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0)
        return nullptr;
    HANDLE h = tpuring_handle_from_fd(fd);
    if (!h)
        close(fd);
    return h;
}

// A child process (pidfd wrapped as a handle): WAIT_OBJECT_0 when it exits, not before.
TEST_F(DescriptorWaitTest, ChildProcessPidfdSignalsWhenItExits)
{
    const auto forked = Clock::now();
    pid_t pid = spawn_child(300, 7);
    ASSERT_GT(pid, 0);
    Handle process(pidfd_handle(pid));
    ASSERT_TRUE(process) << "pidfd_open failed: " << errno;
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    SetThreadpoolWait(wait, process, nullptr);
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->signalled.load());
    EXPECT_GE(us_between(forked, log->first_call()), 299000); // not before the child exited
    // An exited process stays signalled: nothing was consumed.
    EXPECT_EQ(WAIT_OBJECT_0, WaitForSingleObject(process, 0));
    SetThreadpoolWait(wait, process, nullptr);
    ASSERT_TRUE(log->wait_calls(2));
    EXPECT_EQ(7, reap(pid));
}

// The process is really waited for: while it lives, the wait's timeout fires first.
TEST_F(DescriptorWaitTest, LiveChildProcessIsNotSignalled)
{
    pid_t pid = spawn_child(60000, 3);
    ASSERT_GT(pid, 0);
    Handle process(pidfd_handle(pid));
    ASSERT_TRUE(process);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    FILETIME timeout = relative_ms(200);
    SetThreadpoolWait(wait, process, &timeout);
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->timeouts.load());
    EXPECT_EQ(WAIT_TIMEOUT, WaitForSingleObject(process, 0));
    SetThreadpoolWait(wait, process, nullptr);
    kill(pid, SIGKILL);
    ASSERT_TRUE(log->wait_calls(2));
    EXPECT_EQ(1, log->signalled.load());
    EXPECT_EQ(-2, reap(pid)); // killed, not exited
}

// The library's own process handles (tpuring_open_process) behave the same.
TEST_F(DescriptorWaitTest, OpenProcessHandleSignalsWhenTheChildExits)
{
    pid_t pid = spawn_child(200, 5);
    ASSERT_GT(pid, 0);
    Handle process(tpuring_open_process(pid));
    ASSERT_TRUE(process);
    Shared<WaitLog> log;
    WaitObject wait(log_wait, log.get(), pool.env());
    SetThreadpoolWait(wait, process, nullptr);
    ASSERT_TRUE(log->wait_calls(1));
    EXPECT_EQ(1, log->signalled.load());
    EXPECT_EQ(5, reap(pid));
}

// ---- WaitForSingleObject / WaitForMultipleObjects on descriptors -------------------------------------

TEST(DescriptorBlockingWait, WaitForSingleObjectOnAPipe)
{
    PipeHandle p;
    const auto start = Clock::now();
    EXPECT_EQ(WAIT_TIMEOUT, WaitForSingleObject(p.handle, 150));
    EXPECT_GE(ms_since(start), 149);
    DelayedAction writer(100ms, [&] { p.put(); });
    EXPECT_EQ(WAIT_OBJECT_0, WaitForSingleObject(p.handle, kWaitMs));
    EXPECT_EQ(WAIT_OBJECT_0, WaitForSingleObject(p.handle, 0)); // not consumed
    EXPECT_TRUE(p.take());
    EXPECT_EQ(WAIT_TIMEOUT, WaitForSingleObject(p.handle, 0));
}

TEST(DescriptorBlockingWait, WaitForSingleObjectOnASocketAndAnEventfd)
{
    SocketHandle sock;
    EXPECT_EQ(WAIT_TIMEOUT, WaitForSingleObject(sock.handle, 0));
    DelayedAction sender(100ms, [&] { sock.send_byte(); });
    EXPECT_EQ(WAIT_OBJECT_0, WaitForSingleObject(sock.handle, kWaitMs));

    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ASSERT_GE(efd, 0);
    Handle h(tpuring_handle_from_fd(efd));
    ASSERT_TRUE(h);
    EXPECT_EQ(WAIT_TIMEOUT, WaitForSingleObject(h, 50));
    uint64_t one = 1;
    ASSERT_EQ(8, write(efd, &one, sizeof one));
    EXPECT_EQ(WAIT_OBJECT_0, WaitForSingleObject(h, kWaitMs));
}

TEST(DescriptorBlockingWait, WaitForSingleObjectOnAChildProcess)
{
    pid_t pid = spawn_child(200, 9);
    ASSERT_GT(pid, 0);
    Handle process(pidfd_handle(pid));
    ASSERT_TRUE(process);
    EXPECT_EQ(WAIT_TIMEOUT, WaitForSingleObject(process, 0));
    EXPECT_EQ(WAIT_OBJECT_0, WaitForSingleObject(process, kWaitMs));
    EXPECT_EQ(9, reap(pid));
    EXPECT_EQ(WAIT_OBJECT_0, WaitForSingleObject(process, 0)); // reaped: still signalled
}

TEST(DescriptorBlockingWait, WaitForMultipleObjectsMixesEventsAndDescriptors)
{
    PipeHandle p;
    Handle event = make_event(false, false);
    HANDLE both[2] = {event.get(), p.handle.get()};
    EXPECT_EQ(WAIT_TIMEOUT, WaitForMultipleObjects(2, both, FALSE, 50));
    DelayedAction writer(100ms, [&] { p.put(); });
    EXPECT_EQ(WAIT_OBJECT_0 + 1, WaitForMultipleObjects(2, both, FALSE, kWaitMs));
    ASSERT_TRUE(SetEvent(event));
    EXPECT_EQ(WAIT_OBJECT_0, WaitForMultipleObjects(2, both, FALSE, kWaitMs)); // lowest index
    EXPECT_EQ(WAIT_OBJECT_0 + 1, WaitForMultipleObjects(2, both, FALSE, 0));   // event was reset
    // Wait-all: both ready -> the event is reset, the pipe untouched.
    ASSERT_TRUE(SetEvent(event));
    EXPECT_EQ(WAIT_OBJECT_0, WaitForMultipleObjects(2, both, TRUE, kWaitMs));
    EXPECT_EQ(WAIT_TIMEOUT, WaitForSingleObject(event, 0));
    EXPECT_TRUE(p.take());
    ASSERT_TRUE(SetEvent(event));
    EXPECT_EQ(WAIT_TIMEOUT, WaitForMultipleObjects(2, both, TRUE, 50)); // pipe empty
    EXPECT_EQ(WAIT_OBJECT_0, WaitForSingleObject(event, 0)); // wait-all took nothing
}

// ---- RegisterWaitForSingleObject on descriptors --------------------------------------------------------

struct Registered {
    std::atomic<long> fired{0};
    std::atomic<long> timed_out{0};
    Counter calls;
};

void CALLBACK registered_callback(PVOID ctx, BOOLEAN timer_or_wait_fired)
{
    auto *r = static_cast<Registered *>(ctx);
    if (timer_or_wait_fired)
        ++r->timed_out;
    else
        ++r->fired;
    r->calls.increment();
}

TEST(DescriptorRegisteredWait, EventfdAndChildProcess)
{
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ASSERT_GE(efd, 0);
    Handle h(tpuring_handle_from_fd(efd));
    ASSERT_TRUE(h);
    Shared<Registered> r;
    HANDLE registration = nullptr;
    ASSERT_TRUE(RegisterWaitForSingleObject(&registration, h, registered_callback, r.get(), INFINITE,
                                            WT_EXECUTEONLYONCE));
    uint64_t one = 1;
    ASSERT_EQ(8, write(efd, &one, sizeof one));
    ASSERT_TRUE(r->calls.wait_for_at_least(1));
    EXPECT_EQ(1, r->fired.load());
    EXPECT_TRUE(UnregisterWaitEx(registration, INVALID_HANDLE_VALUE));

    pid_t pid = spawn_child(200, 4);
    ASSERT_GT(pid, 0);
    Handle process(pidfd_handle(pid));
    ASSERT_TRUE(process);
    ASSERT_TRUE(RegisterWaitForSingleObject(&registration, process, registered_callback, r.get(), 60000,
                                            WT_EXECUTEONLYONCE));
    ASSERT_TRUE(r->calls.wait_for_at_least(2));
    EXPECT_EQ(2, r->fired.load());
    EXPECT_EQ(0, r->timed_out.load());
    EXPECT_TRUE(UnregisterWaitEx(registration, INVALID_HANDLE_VALUE));
    EXPECT_EQ(4, reap(pid));
}

} // namespace
