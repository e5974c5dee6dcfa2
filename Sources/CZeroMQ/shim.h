#ifndef DAYBREAK_CZEROMQ_SHIM_H
#define DAYBREAK_CZEROMQ_SHIM_H
#include <zmq.h>
#include <errno.h>
#include <unistd.h>
#include <sys/eventfd.h>

/* Function-like macros do not import into Swift; wrap them. */
static inline int daybreak_zmq_version(void) { return ZMQ_VERSION; }
static inline int daybreak_errno(void) { return errno; }
#endif
