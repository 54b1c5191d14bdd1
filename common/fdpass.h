/*
 * Descriptors passed over a unix socket: one SCM_RIGHTS control message.
 * Header-only, so the client library (which does not link common/) and
 * the sandbox's child (which allocates nothing) share it.
 */
#ifndef CAPGATE_COMMON_FDPASS_H
#define CAPGATE_COMMON_FDPASS_H

#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

/* Attaches n descriptors, read from fds (any alignment), to mh. buf must
 * hold CMSG_SPACE(n * sizeof(int)) bytes aligned for a struct cmsghdr,
 * and n must be at least 1. */
static inline void
cg_attach_fds(struct msghdr *mh, void *buf, const void *fds, size_t n)
{
	struct cmsghdr *c;

	mh->msg_control = buf;
	mh->msg_controllen = CMSG_SPACE(sizeof(int) * n);
	c = CMSG_FIRSTHDR(mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
}

#endif
