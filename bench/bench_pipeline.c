/*
 * Pipelined invoke throughput: how many invokes per second the gateway
 * handles when the client keeps a window of them in flight instead of
 * waiting for each answer.
 *
 * The client library's cg_invoke() blocks for its answer, so this front-end
 * speaks the protocol itself through the frame codec (frame_seal/frame_open,
 * the same code the library uses): it reads the session key the way the
 * library's preload step does, says HELLO, then keeps --window INVOKE frames
 * in flight. Every answer is MAC-checked and must be a REPLY; the gateway
 * applies every check it applies to cg_invoke() (it cannot tell the two
 * apart). When the library gains an asynchronous invoke, bench-client's
 * pipeline mode should replace this program.
 *
 *   capgate run --policy bench/policies/echo.json -- bench-pipeline
 *       [--channel C] [--size B] [--iters N] [--window W]
 */
#include "bench/stats.h"
#include "gateway/frame.h"

#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct pipe_conn {
	int fd;
	struct cg_frame_session sess;
	uint32_t next_id;
	unsigned char in[CG_FRAME_MAX + 1];
	unsigned char out[CG_FRAME_MAX];
};

static void __attribute__((noreturn))
die(const char *what, const char *detail)
{
	fprintf(stderr, "bench-pipeline: %s: %s\n", what, detail);
	exit(2);
}

static int
env_fd(const char *name)
{
	const char *s = getenv(name);
	char *end;
	long fd;

	if (s == NULL)
		die(name, "not set (run under capgate run)");
	fd = strtol(s, &end, 10);
	if (*end != '\0' || fd < 0 || fd > 1024)
		die(name, "not a file descriptor");
	return (int)fd;
}

/* The session key, read from its pipe as the library's preload step does. */
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
send_frame(struct pipe_conn *c, uint8_t type, const char *channel,
    const char *body, size_t body_len)
{
	struct cg_frame f = { 0 };
	size_t len;
	ssize_t n;

	f.type = type;
	f.request_id = c->next_id++;
	f.channel = channel;
	f.channel_len = channel ? strlen(channel) : 0;
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

/* Receives one frame; it must pass the codec and be of type want. */
static void
receive(struct pipe_conn *c, uint8_t want)
{
	struct cg_frame f;
	ssize_t n;

	do
		n = recv(c->fd, c->in, sizeof(c->in), 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		die("recv", n == 0 ? "gateway closed the connection" : strerror(errno));
	if (frame_open(&c->sess, c->in, (size_t)n, CG_FRAME_MAX, 0, &f) !=
	    CG_FRAME_OK)
		die("frame_open", "a frame from the gateway failed its checks");
	if (f.type != want)
		die("answer", f.type == CG_MSG_ERROR ?
		    frame_status_name((enum cg_status)f.status) : "unexpected type");
}

static void
connect_gateway(struct pipe_conn *c)
{
	static const char hello[] = "{\"version\":2,\"library\":\"bench-pipeline\"}";
	unsigned char key[CG_SESSION_KEY_LEN];

	if (sodium_init() < 0)
		die("sodium_init", "failed");
	read_key(key);
	c->fd = env_fd("CAPGATE_FD");
	c->next_id = 1;
	frame_session_init(&c->sess, key, 0);
	sodium_memzero(key, sizeof(key));
	send_frame(c, CG_MSG_HELLO, NULL, hello, sizeof(hello) - 1);
	receive(c, CG_MSG_WELCOME);
}

static const struct option long_opts[] = {
	{ "channel", required_argument, NULL, 'c' },
	{ "size", required_argument, NULL, 's' },
	{ "iters", required_argument, NULL, 'n' },
	{ "window", required_argument, NULL, 'W' },
	{ NULL, 0, NULL, 0 },
};

int
main(int argc, char **argv)
{
	static struct pipe_conn c;
	const char *channel = "bench:echo";
	uint64_t iters = 100000, window = 16, sent = 0, got = 0, t0;
	size_t size = 64;
	char *body;
	int ch;

	while ((ch = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (ch) {
		case 'c': channel = optarg; break;
		case 's': size = bench_parse_count(optarg, 2, 60000, "--size"); break;
		case 'n': iters = bench_parse_count(optarg, 1, 100000000, "--iters"); break;
		case 'W': window = bench_parse_count(optarg, 1, 4096, "--window"); break;
		default:
			fprintf(stderr, "usage: bench-pipeline [--channel C] "
			    "[--size B] [--iters N] [--window W]\n");
			return 2;
		}
	}
	body = malloc(size);
	if (body == NULL)
		die("malloc", strerror(errno));
	memset(body, 'x', size);
	body[0] = body[size - 1] = '"';
	connect_gateway(&c);
	t0 = bench_now_ns();
	while (got < iters) {
		while (sent < iters && sent - got < window) {
			send_frame(&c, CG_MSG_INVOKE, channel, body, size);
			sent++;
		}
		receive(&c, CG_MSG_REPLY);
		got++;
	}
	bench_report_rate(stdout, "capgate_pipeline", size, got,
	    bench_now_ns() - t0);
	free(body);
	return 0;
}
