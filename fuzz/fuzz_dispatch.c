/*
 * Fuzzes the gateway's whole per-message path in one process: the receive
 * path (credentials, codec, MAC, sequence), dispatch (the order of checks:
 * grant, kind, size, phase, uses, rate, JSON limits, request schema),
 * the built-in handlers, the response schema, the audit record and the
 * output queue, under fuzz/seeds/dispatch-policy.json.
 *
 * The harness is the client: it holds the other end of a real
 * SOCK_SEQPACKET pair (so the kernel attests its pid, which the gateway's
 * client record names) and seals each frame properly, so the fuzzer's bytes
 * reach everything past the MAC. Input: a HELLO is sent first, then
 * records of [type][channel selector][body length, 2 bytes LE][body];
 * a selector below 0x80 picks one of the policy's channel names (or an
 * unknown one), at or above 0x80 takes (selector & 0x7f) raw bytes from
 * the body as the channel name.
 *
 * Properties: every datagram the gateway sends opens under the session
 * (MAC and sequence); while the connection stands, every invoke gets
 * exactly one answer, a REPLY or an ERROR with a status in the closed set,
 * and no other type than WELCOME, REPLY or ERROR is ever sent.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/util.h"
#include "gateway/gateway.h"
#include "gateway/handlers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BATCH 16
#define MAX_FRAMES 96

static const char *const names[] = {
	"a", "b", "c", "d", "e", "f", "g", "nope", "other:x",
};

static struct cg_gateway gw;
static struct cg_frame_session peer;
static unsigned char out[CG_FRAME_MAX];
static unsigned char in[CG_FRAME_MAX + 1];

static void
init(void)
{
	struct cg_audit_config ac = { 0 };
	struct cg_error err;
	char path[4096];

	snprintf(path, sizeof(path), "%s", FUZZ_DISPATCH_POLICY);
	gw.policy = policy_load(path, handler_check, &err);
	if (gw.policy == NULL) {
		fprintf(stderr, "fuzz_dispatch: %s: %s\n", path, err.msg);
		abort();
	}
	ac.path = NULL;        /* a writer that records nothing */
	gw.audit = audit_open(&ac, gw.policy->hash, &err);
	gw.rxbuf = malloc((size_t)CG_GATEWAY_RX_BATCH * (CG_FRAME_MAX + 1));
	gw.txbuf = malloc(CG_FRAME_MAX);
	gw.epfd = epoll_create1(EPOLL_CLOEXEC);
	gw.sigfd = -1;
	gw.clients = calloc(1, sizeof(*gw.clients));
	if (gw.audit == NULL || gw.rxbuf == NULL || gw.txbuf == NULL ||
	    gw.epfd < 0 || gw.clients == NULL)
		abort();
}

static struct cg_client *
connect_client(int *peer_fd)
{
	struct cg_client *c = client_new(&gw, &gw.policy->clients[0], "main");
	unsigned char key[CG_SESSION_KEY_LEN];
	int sv[2], one = 1;

	if (c == NULL ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0 ||
	    setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0 ||
	    cg_set_nonblock(sv[0]) != 0 || cg_set_nonblock(sv[1]) != 0)
		abort();
	memset(key, 0x42, sizeof(key));
	frame_session_init(&c->sess, key, 1);
	frame_session_init(&peer, key, 0);
	c->fd = sv[0];
	c->pid = getpid();     /* the harness is the client process */
	c->uid = getuid();
	c->gid = getgid();
	c->handshake_deadline_ns = UINT64_MAX;
	gw.clients[0] = c;
	gw.nclients = 1;
	*peer_fd = sv[1];
	return c;
}

static void
send_frame(int fd, uint8_t type, const char *chan, size_t chan_len,
    const char *body, size_t body_len, uint32_t id)
{
	struct cg_frame f = { 0 };
	size_t len;

	f.type = type;
	f.request_id = id;
	f.channel = chan;
	f.channel_len = chan_len;
	f.body = body;
	f.body_len = body_len;
	f.status = type == CG_MSG_ERROR ? CG_STATUS_DENIED : 0;
	len = frame_seal(&peer, &f, out, sizeof(out));
	if (len == 0)
		return;
	if (send(fd, out, len, MSG_NOSIGNAL) != (ssize_t)len)
		abort();
}

/* Lets the gateway read, decide and flush; returns the answers read back,
 * or -1 once the gateway has closed the connection. */
static int
turn(struct cg_client *c, int fd)
{
	int answers = 0;

	while (c->state != CG_CLIENT_CLOSED) {
		int before = answers;
		client_handle_readable(c);
		gw.flush_list = NULL;
		c->out_pending = false;
		c->next_flush = NULL;
		client_flush(c);
		for (;;) {
			struct cg_frame f;
			ssize_t n = recv(fd, in, sizeof(in), MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN))
				return -1;
			if (n < 0)
				break;
			if (frame_open(&peer, in, (size_t)n, 0, 0, &f) != CG_FRAME_OK)
				abort();    /* the gateway sent a frame we cannot open */
			if (f.type == CG_MSG_ERROR && (f.status == 0 ||
			    f.status > CG_STATUS_MAX_))
				abort();
			if (f.type != CG_MSG_WELCOME && f.type != CG_MSG_REPLY &&
			    f.type != CG_MSG_ERROR)
				abort();
			answers++;
		}
		if (answers == before)
			break;
	}
	return c->state == CG_CLIENT_CLOSED ? -1 : answers;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_client *c;
	int fd, expected = 1, got = 0, frames = 0;
	size_t at = 0;
	uint32_t id = 1;

	if (gw.policy == NULL)
		init();
	c = connect_client(&fd);
	send_frame(fd, CG_MSG_HELLO, NULL, 0, "{\"version\":3}", 13, id++);
	while (at + 4 <= size && frames < MAX_FRAMES) {
		uint8_t type = data[at], sel = data[at + 1];
		size_t blen = (size_t)(data[at + 2] | data[at + 3] << 8) % 8192;
		const char *body = (const char *)data + at + 4, *chan;
		size_t clen;

		at += 4;
		if (blen > size - at)
			blen = size - at;
		at += blen;
		type = (uint8_t)(type % CG_MSG_TYPE_MAX_ + 1);
		if (sel < 0x80) {
			chan = names[sel % (sizeof(names) / sizeof(names[0]))];
			clen = strlen(chan);
		} else {
			clen = sel & 0x7f;
			if (clen > blen)
				clen = blen;
			chan = body;
			body += clen;
			blen -= clen;
		}
		if (type != CG_MSG_INVOKE && type != CG_MSG_SEND &&
		    type != CG_MSG_EVENT && type != CG_MSG_SUBSCRIBE &&
		    type != CG_MSG_UNSUBSCRIBE)
			clen = 0;
		send_frame(fd, type, chan, clen, body, blen, id++);
		expected += type == CG_MSG_INVOKE;
		if (++frames % BATCH == 0) {
			int n = turn(c, fd);
			if (n < 0)
				goto done;
			got += n;
		}
	}
	{
		int n = turn(c, fd);
		if (n >= 0 && got + n != expected)
			abort();    /* an invoke without exactly one answer */
	}
done:
	close(fd);
	client_free(c);
	gw.clients[0] = NULL;
	gw.nclients = 0;
	return 0;
}
