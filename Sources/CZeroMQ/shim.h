#ifndef DAYBREAK_CZEROMQ_SHIM_H
#define DAYBREAK_CZEROMQ_SHIM_H
#include <zmq.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/sockios.h>

/* epoll for the messaging loop: the wake eventfd and each socket's ZMQ_FD, keyed by a 64-bit id.
   (epoll_event is packed and holds a union: kept on this side.) */
static inline int daybreak_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }
static inline int daybreak_epoll_add(int ep, int fd, uint64_t key) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.u64 = key;
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}
static inline int daybreak_epoll_del(int ep, int fd) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    return epoll_ctl(ep, EPOLL_CTL_DEL, fd, &ev);
}
/* Waits up to timeout ms (-1: no limit); writes the ready keys; returns how many (or -1, errno set). */
static inline int daybreak_epoll_wait(int ep, uint64_t *keys, int max, int timeout) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n = epoll_wait(ep, evs, max, timeout);
    for (int i = 0; i < n; i++) keys[i] = evs[i].data.u64;
    return n;
}

/* Function-like macros do not import into Swift; wrap them. */
static inline int daybreak_zmq_version(void) { return ZMQ_VERSION; }
static inline int daybreak_errno(void) { return errno; }

/* Bytes in a connected socket's send queue not yet acknowledged (tcp) or read (unix): SIOCOUTQ.
   -1 when the descriptor is not a connected socket. */
static inline int daybreak_send_queue(int fd) {
    int n = 0;
    return ioctl(fd, SIOCOUTQ, &n) == 0 ? n : -1;
}

/* The socket's send buffer size (SO_SNDBUF as the kernel reports it), -1 on error. */
static inline int daybreak_send_buffer(int fd) {
    int n = 0;
    socklen_t len = sizeof n;
    return getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &n, &len) == 0 ? n : -1;
}

/* The peer of a connected socket as "ip:port", "[ip6]:port" or "unix"; 0 on success. */
static inline int daybreak_peer_name(int fd, char *out, size_t len) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0) return -1;
    char ip[INET6_ADDRSTRLEN] = {0};
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        if (!inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip)) return -1;
        snprintf(out, len, "%s:%u", ip, (unsigned)ntohs(a->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        if (!inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip)) return -1;
        snprintf(out, len, "[%s]:%u", ip, (unsigned)ntohs(a->sin6_port));
    } else if (ss.ss_family == AF_UNIX) {
        snprintf(out, len, "unix");
    } else {
        snprintf(out, len, "family-%d", (int)ss.ss_family);
    }
    return 0;
}
#endif
