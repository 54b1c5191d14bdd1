/*
 * The C client library. See capgate.h.
 */
#include "client/capgate.h"

#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/fdpass.h"
#include "gateway/frame.h"

#define LISTENERS_MAX 64
#define HELLO_TIMEOUT_MS 5000

struct listener {
	char channel[CG_CHANNEL_MAX + 1];
	cg_event_fn *fn;
	void *arg;
};

struct cg_conn {
	int fd;
	struct cg_frame_session sess;
	uint32_t next_id;
	int rcv_timeout_ms;      /* SO_RCVTIMEO now set on fd (-1: none) */
	struct listener listeners[LISTENERS_MAX];
	size_t nlisteners;
	int rx_fds[CG_FRAME_MAX_FDS];    /* fds that came with the last frame */
	unsigned rx_nfds;
	unsigned char buf[CG_FRAME_MAX + 1];
	unsigned char out[CG_FRAME_MAX];
};

/*
 * The preload step: runs when the library is loaded, before the program's
 * main(). The key is taken out of its pipe, the pipe is closed and the
 * variable naming it is removed, so the front-end's own code never sees
 * where the key came from.
 */
static unsigned char preload_key[CG_SESSION_KEY_LEN];
static int preload_state;        /* 0 none, 1 key read, -1 failed */

__attribute__((constructor)) static void
cg_preload(void)
{
	const char *s = getenv("CAPGATE_KEY_FD");
	size_t got = 0;
	char *end;
	long fd;

	if (s == NULL)
		return;
	fd = strtol(s, &end, 10);
	unsetenv("CAPGATE_KEY_FD");
	if (*end != '\0' || fd < 3 || fd > 1024) {
		preload_state = -1;
		return;
	}
	while (got < sizeof(preload_key)) {
		ssize_t n = read((int)fd, preload_key + got, sizeof(preload_key) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close((int)fd);
	preload_state = got == sizeof(preload_key) ? 1 : -1;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
send_frame(struct cg_conn *c, const struct cg_frame *f, const int *fds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * CG_FRAME_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	size_t len = frame_seal(&c->sess, f, c->out, sizeof(c->out));
	struct iovec iov = { c->out, len };
	struct msghdr mh = { 0 };
	ssize_t n;

	if (len == 0)
		return CG_ERR_USAGE;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	/* A frame without fds leaves through send(): the kernel then copies
	 * in no msghdr and looks for no control messages. */
	if (f->nfds > 0)
		cg_attach_fds(&mh, ctl.buf, fds, f->nfds);
	do
		n = f->nfds > 0 ? sendmsg(c->fd, &mh, MSG_NOSIGNAL) :
		    send(c->fd, c->out, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)len ? 0 : CG_ERR_IO;
}

static void
dispatch_event(struct cg_conn *c, const struct cg_frame *f)
{
	char name[CG_CHANNEL_MAX + 1];
	char *json;

	memcpy(name, f->channel, f->channel_len);
	name[f->channel_len] = '\0';
	for (size_t i = 0; i < c->nlisteners; i++) {
		if (strcmp(c->listeners[i].channel, name) != 0)
			continue;
		json = malloc(f->body_len + 1);
		if (json == NULL)
			return;
		memcpy(json, f->body, f->body_len);
		json[f->body_len] = '\0';
		c->listeners[i].fn(name, json, f->body_len, c->listeners[i].arg);
		free(json);
		return;
	}
}

static void
drop_fds(struct cg_conn *c)
{
	for (unsigned i = 0; i < c->rx_nfds; i++)
		close(c->rx_fds[i]);
	c->rx_nfds = 0;
}

/* One datagram into c->buf and its fds (at most CG_FRAME_MAX_FDS; more
 * make the frame check fail) into c->rx_fds. */
static ssize_t
recv_fds(struct cg_conn *c, int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * (CG_FRAME_MAX_FDS + 1))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { c->buf, sizeof(c->buf) };
	struct msghdr mh = { 0 };
	ssize_t n;

	drop_fds(c);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	do
		n = recvmsg(c->fd, &mh, flags | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return n;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL;
	    cm = CMSG_NXTHDR(&mh, cm)) {
		size_t k;
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			if (c->rx_nfds < CG_FRAME_MAX_FDS)
				c->rx_fds[c->rx_nfds++] = fd;
			else
				close(fd);
		}
	}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		drop_fds(c);
		errno = EMSGSIZE;
		return -1;
	}
	return n;
}

/*
 * Receives one frame within timeout_ms. Events are dispatched here; a reply
 * or error is returned in *f (pointing into c->buf). Returns 1 for a reply,
 * 2 for an event, 0 for nothing, or a CG_ERR_* code.
 */
static int
set_timeout(struct cg_conn *c, int timeout_ms)
{
	struct timeval tv = { 0, 0 };

	/* A blocking recv with SO_RCVTIMEO costs one syscall per frame where
	 * poll + recv would cost two; the option is set only when the
	 * timeout changes. 0 ms is emulated with MSG_DONTWAIT. */
	if (timeout_ms == c->rcv_timeout_ms || timeout_ms == 0)
		return 0;
	if (timeout_ms > 0) {
		tv.tv_sec = timeout_ms / 1000;
		tv.tv_usec = (timeout_ms % 1000) * 1000;
	}
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
		return CG_ERR_IO;
	c->rcv_timeout_ms = timeout_ms;
	return 0;
}

static int
receive(struct cg_conn *c, struct cg_frame *f, int timeout_ms)
{
	ssize_t n;

	if (set_timeout(c, timeout_ms) != 0)
		return CG_ERR_IO;
	n = recv_fds(c, timeout_ms == 0 ? MSG_DONTWAIT : 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return CG_ERR_TIMEOUT;
	if (n <= 0) {
		if (n == 0)
			errno = ECONNRESET;
		return CG_ERR_IO;
	}
	if (frame_open(&c->sess, c->buf, (size_t)n, CG_FRAME_MAX, c->rx_nfds,
	    f) != CG_FRAME_OK) {
		drop_fds(c);
		return CG_ERR_BAD_FRAME;
	}
	if (f->type == CG_MSG_EVENT) {
		drop_fds(c);
		dispatch_event(c, f);
		return 2;
	}
	return 1;
}

/* Waits for the answer to request id. */
static int
await(struct cg_conn *c, uint32_t id, struct cg_frame *f, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	int left = timeout_ms;

	for (;;) {
		int r = receive(c, f, left);
		if (r < 0)
			return r;
		if (r == 1 && f->request_id == id)
			return 0;
		if (r == 1)
			return CG_ERR_BAD_FRAME;   /* an answer to nothing we asked */
		/* An event came first: wait again for what is left. */
		if (deadline >= 0) {
			int64_t l = deadline - now_ms();
			if (l <= 0)
				return CG_ERR_TIMEOUT;
			left = (int)l;
		}
	}
}

static int
hello(struct cg_conn *c)
{
	static const char body[] = "{\"version\":3,\"library\":\"capgate-c\"}";
	struct cg_frame f = { 0 };
	int r;

	f.type = CG_MSG_HELLO;
	f.request_id = c->next_id++;
	f.body = body;
	f.body_len = sizeof(body) - 1;
	if ((r = send_frame(c, &f, NULL)) != 0)
		return r;
	if ((r = await(c, f.request_id, &f, HELLO_TIMEOUT_MS)) != 0)
		return r;
	return f.type == CG_MSG_WELCOME ? 0 : CG_ERR_BAD_FRAME;
}

int
cg_connect(struct cg_conn **out)
{
	const char *s = getenv("CAPGATE_FD");
	struct cg_conn *c;
	int type = 0, r;
	socklen_t tl = sizeof(type);
	char *end;
	long fd;

	*out = NULL;
	if (s == NULL)
		return CG_ERR_NOT_SANDBOXED;
	fd = strtol(s, &end, 10);
	if (*end != '\0' || fd < 0 || fd > 1024 ||
	    getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 ||
	    type != SOCK_SEQPACKET)
		return CG_ERR_NOT_SANDBOXED;
	if (preload_state != 1)
		return CG_ERR_NO_KEY;
	if (sodium_init() < 0 || (c = calloc(1, sizeof(*c))) == NULL)
		return CG_ERR_NOMEM;
	c->fd = (int)fd;
	c->next_id = 1;
	c->rcv_timeout_ms = -1;
	frame_session_init(&c->sess, preload_key, 0);
	/* One session per process: the key is not kept past the handshake. */
	sodium_memzero(preload_key, sizeof(preload_key));
	preload_state = 0;
	if ((r = hello(c)) != 0) {
		cg_close(c);
		return r;
	}
	*out = c;
	return 0;
}

static int
request(struct cg_conn *c, uint8_t type, const char *channel, const char *json,
    const int *fds, unsigned nfds, uint32_t *id)
{
	struct cg_frame f = { 0 };

	if (channel == NULL || !frame_channel_valid(channel, strlen(channel)) ||
	    nfds > CG_FRAME_MAX_FDS)
		return CG_ERR_USAGE;
	f.type = type;
	f.nfds = (uint8_t)nfds;
	f.request_id = *id = c->next_id++;
	f.channel = channel;
	f.channel_len = strlen(channel);
	f.body = json ? json : "null";
	f.body_len = strlen(f.body);
	return send_frame(c, &f, fds);
}

int
cg_invoke(struct cg_conn *c, const char *channel, const char *json,
    struct cg_reply *reply, int timeout_ms)
{
	return cg_invoke_fds(c, channel, json, NULL, 0, reply, timeout_ms);
}

int
cg_invoke_fds(struct cg_conn *c, const char *channel, const char *json,
    const int *fds, unsigned nfds, struct cg_reply *reply, int timeout_ms)
{
	struct cg_frame f;
	uint32_t id;
	int r;

	memset(reply, 0, sizeof(*reply));
	if ((r = request(c, CG_MSG_INVOKE, channel, json, fds, nfds, &id)) != 0)
		return r;
	if ((r = await(c, id, &f, timeout_ms)) != 0)
		return r;
	if (f.type != CG_MSG_REPLY)
		drop_fds(c);
	if (f.type == CG_MSG_ERROR) {
		reply->code = f.status;
		return 0;
	}
	if (f.type != CG_MSG_REPLY)
		return CG_ERR_BAD_FRAME;
	reply->data = malloc(f.body_len + 1);
	if (reply->data == NULL) {
		drop_fds(c);
		return CG_ERR_NOMEM;
	}
	for (unsigned i = 0; i < c->rx_nfds; i++)
		reply->fds[i] = c->rx_fds[i];
	reply->nfds = c->rx_nfds;
	c->rx_nfds = 0;
	memcpy(reply->data, f.body, f.body_len);
	reply->data[f.body_len] = '\0';
	reply->len = f.body_len;
	reply->ok = 1;
	return 0;
}

int
cg_send(struct cg_conn *c, const char *channel, const char *json)
{
	uint32_t id;

	return request(c, CG_MSG_SEND, channel, json, NULL, 0, &id);
}

int
cg_on_event(struct cg_conn *c, const char *channel, cg_event_fn *fn, void *arg)
{
	struct listener *l;
	uint32_t id;
	int r;

	if (c->nlisteners == LISTENERS_MAX || channel == NULL ||
	    strlen(channel) > CG_CHANNEL_MAX)
		return CG_ERR_USAGE;
	if ((r = request(c, CG_MSG_SUBSCRIBE, channel, NULL, NULL, 0, &id)) != 0)
		return r;
	l = &c->listeners[c->nlisteners++];
	snprintf(l->channel, sizeof(l->channel), "%s", channel);
	l->fn = fn;
	l->arg = arg;
	return 0;
}

int
cg_off_event(struct cg_conn *c, const char *channel)
{
	uint32_t id;

	for (size_t i = 0; i < c->nlisteners; i++) {
		if (strcmp(c->listeners[i].channel, channel) != 0)
			continue;
		c->listeners[i] = c->listeners[--c->nlisteners];
		return request(c, CG_MSG_UNSUBSCRIBE, channel, NULL, NULL, 0, &id);
	}
	return CG_ERR_USAGE;
}

int
cg_poll(struct cg_conn *c, int timeout_ms)
{
	struct cg_frame f;
	int r = receive(c, &f, timeout_ms);

	if (r == CG_ERR_TIMEOUT || r == 0)
		return 0;
	if (r == 1)
		return CG_ERR_BAD_FRAME;   /* an answer nobody waits for */
	return r < 0 ? r : 1;
}

int
cg_fd(const struct cg_conn *c)
{
	return c->fd;
}

const char *
cg_strerror(int code)
{
	switch (code) {
	case CG_E_DENIED: return "denied";
	case CG_E_INVALID: return "invalid";
	case CG_E_LIMITED: return "limited";
	case CG_E_TIMEOUT: return "timeout";
	case CG_E_UNAVAILABLE: return "unavailable";
	case CG_E_FAILED: return "failed";
	case CG_E_PROTOCOL: return "protocol";
	case CG_ERR_NOT_SANDBOXED: return "not started by capgate run (no CAPGATE_FD)";
	case CG_ERR_NO_KEY: return "no session key was delivered";
	case CG_ERR_IO: return "connection to the gateway failed";
	case CG_ERR_TIMEOUT: return "timed out";
	case CG_ERR_BAD_FRAME: return "bad frame from the gateway";
	case CG_ERR_USAGE: return "bad argument";
	case CG_ERR_NOMEM: return "out of memory";
	default: return "unknown error";
	}
}

void
cg_reply_free(struct cg_reply *r)
{
	if (r == NULL)
		return;
	free(r->data);
	r->data = NULL;
	for (unsigned i = 0; i < r->nfds && i < CG_REPLY_MAX_FDS; i++)
		if (r->fds[i] >= 0)
			close(r->fds[i]);
	r->nfds = 0;
}

void
cg_close(struct cg_conn *c)
{
	if (c == NULL)
		return;
	drop_fds(c);
	close(c->fd);
	frame_session_wipe(&c->sess);
	free(c);
}
