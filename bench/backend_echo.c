/*
 * The echo backend for the backend-invoke benchmark: a trusted process the
 * gateway starts for the policy's "backends" section (docs/BACKENDS.md).
 * It answers every INVOKE with a REPLY whose body is the client's payload.
 *
 * It is the backend counterpart of the relay floor's echo process: it does
 * no work of its own, so the benchmark measures the gateway's two hops. The
 * payload is taken out of the envelope without parsing it, which the
 * protocol allows: the gateway writes
 *   {"caller":{"client":NAME,"pid":PID},"data":BODY}
 * with BODY last and byte for byte as the client sent it (docs/PROTOCOL.md,
 * "Backends"). Frames go through the frame codec, MAC and sequence checks
 * included, as in any backend.
 */
#include "gateway/frame.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ENVELOPE_HEAD "{\"caller\":"
#define ENVELOPE_DATA "},\"data\":"

struct echo_conn {
	int fd;
	struct cg_frame_session sess;
	unsigned char in[CG_FRAME_MAX + 1];
	unsigned char out[CG_FRAME_MAX];
};

static void __attribute__((noreturn))
die(const char *what, const char *detail)
{
	fprintf(stderr, "bench-backend-echo: %s: %s\n", what, detail);
	exit(2);
}

static int
env_fd(const char *name)
{
	const char *s = getenv(name);
	char *end;
	long fd;

	if (s == NULL)
		die(name, "not set (the gateway starts this program)");
	fd = strtol(s, &end, 10);
	if (*end != '\0' || fd < 0 || fd > 1024)
		die(name, "not a file descriptor");
	return (int)fd;
}

static void
read_key(unsigned char key[CG_SESSION_KEY_LEN])
{
	int fd = env_fd("CAPGATE_KEY_FD");
	size_t got = 0;
	ssize_t n;

	while (got < CG_SESSION_KEY_LEN) {
		n = read(fd, key + got, CG_SESSION_KEY_LEN - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("session key", "short read");
		got += (size_t)n;
	}
	close(fd);
}

static void
send_frame(struct echo_conn *c, uint8_t type, uint32_t id, uint16_t status,
    const char *body, size_t body_len)
{
	struct cg_frame f = { 0 };
	size_t len;
	ssize_t n;

	f.type = type;
	f.request_id = id;
	f.status = status;
	f.body = body;
	f.body_len = body_len;
	len = frame_seal(&c->sess, &f, c->out, sizeof(c->out));
	if (len == 0)
		die("frame_seal", "frame does not fit");
	do
		n = send(c->fd, c->out, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)len)
		die("send", strerror(errno));
}

/* Receives one frame into *f; returns 0 at end of stream. */
static int
receive(struct echo_conn *c, struct cg_frame *f)
{
	ssize_t n;

	do
		n = recv(c->fd, c->in, sizeof(c->in), 0);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	if (n < 0)
		die("recv", strerror(errno));
	if (frame_open(&c->sess, c->in, (size_t)n, CG_FRAME_MAX, 0, f) !=
	    CG_FRAME_OK)
		die("frame_open", "a frame from the gateway failed its checks");
	return 1;
}

/* The client's payload inside an envelope, or NULL if it is not one. */
static const char *
envelope_data(const struct cg_frame *f, size_t *len)
{
	const char *end = f->body + f->body_len, *at;

	if (f->body_len < sizeof(ENVELOPE_HEAD) + sizeof(ENVELOPE_DATA) ||
	    memcmp(f->body, ENVELOPE_HEAD, sizeof(ENVELOPE_HEAD) - 1) != 0 ||
	    end[-1] != '}')
		return NULL;
	at = memmem(f->body, f->body_len, ENVELOPE_DATA, sizeof(ENVELOPE_DATA) - 1);
	if (at == NULL)
		return NULL;
	at += sizeof(ENVELOPE_DATA) - 1;
	*len = (size_t)(end - 1 - at);
	return at;
}

int
main(void)
{
	static const char hello[] = "{\"version\":2}";
	static struct echo_conn c;
	unsigned char key[CG_SESSION_KEY_LEN];
	struct cg_frame f;
	const char *data;
	size_t len;

	if (sodium_init() < 0)
		die("sodium_init", "failed");
	read_key(key);
	c.fd = env_fd("CAPGATE_FD");
	frame_session_init(&c.sess, key, 0);
	sodium_memzero(key, sizeof(key));
	send_frame(&c, CG_MSG_HELLO, 1, CG_STATUS_OK, hello, sizeof(hello) - 1);
	if (!receive(&c, &f) || f.type != CG_MSG_WELCOME)
		die("handshake", "no WELCOME from the gateway");
	while (receive(&c, &f)) {
		if (f.type != CG_MSG_INVOKE)
			continue;           /* SEND and anything else: no answer */
		data = envelope_data(&f, &len);
		if (data == NULL)
			send_frame(&c, CG_MSG_ERROR, f.request_id, CG_STATUS_FAILED,
			    NULL, 0);
		else
			send_frame(&c, CG_MSG_REPLY, f.request_id, CG_STATUS_OK,
			    data, len);
	}
	return 0;
}
