#ifndef DAYBREAK_CLIBPQ_SHIM_H
#define DAYBREAK_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#include <poll.h>
#include <errno.h>
#include <unistd.h>
#include <stdint.h>
#include <sys/eventfd.h>

/// A non-blocking, close-on-exec eventfd used to wake a connection thread; -1 on failure (see errno).
static inline int daybreak_eventfd_create(void) {
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

/// Adds 1 to the eventfd counter (wakes a poll). Retries EINTR; EAGAIN (counter saturated) already means "awake".
static inline int daybreak_eventfd_signal(int fd) {
    uint64_t one = 1;
    for (;;) {
        ssize_t n = write(fd, &one, sizeof one);
        if (n == (ssize_t)sizeof one) return 0;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return 0;
        return -1;
    }
}

/// Resets the eventfd counter to zero. Returns 1 if it was signalled, 0 if not.
static inline int daybreak_eventfd_drain(int fd) {
    uint64_t value = 0;
    for (;;) {
        ssize_t n = read(fd, &value, sizeof value);
        if (n == (ssize_t)sizeof value) return 1;
        if (n < 0 && errno == EINTR) continue;
        return 0;
    }
}

/// poll(2) over the eventfd and (when sock >= 0) a socket. Retries EINTR.
/// Returns a bit set: 1 = eventfd readable, 2 = socket readable, 4 = socket writable/error; -1 on failure.
static inline int daybreak_poll2(int efd, int sock, short sockEvents, int timeoutMillis) {
    struct pollfd fds[2];
    fds[0].fd = efd; fds[0].events = POLLIN; fds[0].revents = 0;
    fds[1].fd = sock; fds[1].events = sockEvents; fds[1].revents = 0;
    nfds_t n = sock >= 0 ? 2 : 1;
    for (;;) {
        int r = poll(fds, n, timeoutMillis);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        int out = 0;
        if (fds[0].revents & POLLIN) out |= 1;
        if (n == 2) {
            if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) out |= 2;
            if (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) out |= 4;
        }
        return out;
    }
}

#endif
