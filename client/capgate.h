/*
 * capgate client library: the front-end's side of the gateway connection.
 *
 * A program started by `capgate run` finds its connection in the
 * environment (CAPGATE_FD) and its session key in a pipe (CAPGATE_KEY_FD)
 * that this library reads and closes when it is loaded, before main() runs:
 * the "preload" step. Every frame is MAC'd and numbered; every reply is
 * checked the same way, so a process that got hold of the socket can
 * impersonate neither side.
 *
 * Results: cg_invoke() returns 0 when the gateway answered, with
 * reply->ok set and reply->data the JSON text of the answer, or reply->ok
 * clear and reply->code one of the CG_E_* codes below (the reason is in the
 * audit log, not here). A negative return is a transport failure.
 *
 * Not thread-safe: use one connection from one thread at a time.
 */
#ifndef CAPGATE_CLIENT_H
#define CAPGATE_CLIENT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes an answer can carry (the gateway's opaque status). */
enum {
	CG_E_DENIED = 1,         /* not granted, or not allowed now */
	CG_E_INVALID = 2,        /* the request broke the channel's schema */
	CG_E_LIMITED = 3,        /* rate or in-flight limit */
	CG_E_TIMEOUT = 4,        /* the handler did not answer in time */
	CG_E_UNAVAILABLE = 5,    /* handler or audit log unavailable */
	CG_E_FAILED = 6,         /* the handler failed */
	CG_E_PROTOCOL = 7,       /* the gateway rejected a frame */
};

/* Transport failures (negative returns). */
enum {
	CG_ERR_NOT_SANDBOXED = -1,   /* no CAPGATE_FD: not started by capgate */
	CG_ERR_NO_KEY = -2,          /* the session key was not delivered */
	CG_ERR_IO = -3,              /* the connection failed (errno set) */
	CG_ERR_TIMEOUT = -4,         /* no answer within timeout_ms */
	CG_ERR_BAD_FRAME = -5,       /* a frame from the gateway failed its MAC or sequence */
	CG_ERR_USAGE = -6,           /* bad argument (channel name, JSON size) */
	CG_ERR_NOMEM = -7,
};

struct cg_conn;

#define CG_REPLY_MAX_FDS 4

struct cg_reply {
	int ok;                  /* 1: data holds the result */
	char *data;              /* JSON text, NUL-terminated; freed by cg_reply_free */
	size_t len;
	int code;                /* CG_E_* when !ok */
	/* File descriptors attached to the reply (fs.open, fs.read with
	 * "fd": true), CLOEXEC. cg_reply_free closes those still >= 0: set an
	 * entry to -1 to keep it. */
	int fds[CG_REPLY_MAX_FDS];
	unsigned nfds;
};

/* Connects using the environment set by `capgate run`. Returns 0 or a
 * CG_ERR_* code. */
int cg_connect(struct cg_conn **out);

/* Sends json (NULL means null) on an invoke channel and waits up to
 * timeout_ms (-1 = forever) for the answer. Events that arrive meanwhile are
 * dispatched to their listeners. */
int cg_invoke(struct cg_conn *c, const char *channel, const char *json,
    struct cg_reply *reply, int timeout_ms);

/* cg_invoke with up to CG_REPLY_MAX_FDS file descriptors attached: bulk
 * data for a backend channel that declares "fds". The gateway accepts only
 * sealed memfds (memfd_create with MFD_ALLOW_SEALING, then F_SEAL_WRITE,
 * F_SEAL_SHRINK and F_SEAL_GROW). The fds stay the caller's. */
int cg_invoke_fds(struct cg_conn *c, const char *channel, const char *json,
    const int *fds, unsigned nfds, struct cg_reply *reply, int timeout_ms);

/* One-way message on a send channel. 0 or a CG_ERR_* code. */
int cg_send(struct cg_conn *c, const char *channel, const char *json);

typedef void cg_event_fn(const char *channel, const char *json, size_t len,
    void *arg);

/* Subscribes to an event channel; fn is called from cg_poll()/cg_invoke(). */
int cg_on_event(struct cg_conn *c, const char *channel, cg_event_fn *fn,
    void *arg);
int cg_off_event(struct cg_conn *c, const char *channel);

/* Waits up to timeout_ms for frames and dispatches events. Returns the
 * number of events dispatched, or a CG_ERR_* code. */
int cg_poll(struct cg_conn *c, int timeout_ms);

/* The connection's fd, for the caller's own poll loop. */
int cg_fd(const struct cg_conn *c);

/* "denied", "invalid", ... for a CG_E_* code; a message for a CG_ERR_* one. */
const char *cg_strerror(int code);

void cg_reply_free(struct cg_reply *r);
void cg_close(struct cg_conn *c);

#ifdef __cplusplus
}
#endif

#endif
