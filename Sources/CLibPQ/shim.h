#ifndef DAYBREAK_CLIBPQ_SHIM_H
#define DAYBREAK_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#include <poll.h>
#endif
