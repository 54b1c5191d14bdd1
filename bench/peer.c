/* The gateway's side of a connection for the benchmark programs (peer.h). */
#include "bench/peer.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void
bench_peer_die(const struct bench_peer *p, const char *what,
    const char *detail)
{
	fprintf(stderr, "%s: %s: %s\n", p->prog, what, detail);
	exit(2);
}

static int
env_fd(const struct bench_peer *p, const char *name)
{
	const char *s = getenv(name);
	char *end;
	long fd;

	if (s == NULL)
		bench_peer_die(p, name, "not set (the gateway starts this program)");
	fd = strtol(s, &end, 10);
	if (*end != '\0' || fd < 0 || fd > 1024)
		bench_peer_die(p, name, "not a file descriptor");
	return (int)fd;
}

/* The session key, read from its pipe as the library's preload step does. */
static void
read_key(const struct bench_peer *p, unsigned char key[CG_SESSION_KEY_LEN])
{
	int fd = env_fd(p, "CAPGATE_KEY_FD");
	size_t got = 0;
	ssize_t n;

	while (got < CG_SESSION_KEY_LEN) {
		n = read(fd, key + got, CG_SESSION_KEY_LEN - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			bench_peer_die(p, "session key", "short read");
		got += (size_t)n;
	}
	close(fd);
}

void
bench_peer_connect(struct bench_peer *p, const char *prog, const char *hello)
{
	unsigned char key[CG_SESSION_KEY_LEN];
	struct cg_frame f = { 0 };

	p->prog = prog;
	if (sodium_init() < 0)
		bench_peer_die(p, "sodium_init", "failed");
	read_key(p, key);
	p->fd = env_fd(p, "CAPGATE_FD");
	frame_session_init(&p->sess, key, 0);
	sodium_memzero(key, sizeof(key));
	f.type = CG_MSG_HELLO;
	f.request_id = 1;
	f.body = hello;
	f.body_len = strlen(hello);
	bench_peer_send(p, &f);
	if (!bench_peer_recv(p, &f) || f.type != CG_MSG_WELCOME)
		bench_peer_die(p, "handshake", "no WELCOME from the gateway");
}

void
bench_peer_send(struct bench_peer *p, const struct cg_frame *f)
{
	size_t len = frame_seal(&p->sess, f, p->out, sizeof(p->out));
	ssize_t n;

	if (len == 0)
		bench_peer_die(p, "frame_seal", "frame does not fit");
	do
		n = send(p->fd, p->out, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)len)
		bench_peer_die(p, "send", strerror(errno));
}

int
bench_peer_recv(struct bench_peer *p, struct cg_frame *f)
{
	ssize_t n;

	do
		n = recv(p->fd, p->in, sizeof(p->in), 0);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	if (n < 0)
		bench_peer_die(p, "recv", strerror(errno));
	if (frame_open(&p->sess, p->in, (size_t)n, CG_FRAME_MAX, 0, f) !=
	    CG_FRAME_OK)
		bench_peer_die(p, "frame_open",
		    "a frame from the gateway failed its checks");
	return 1;
}
