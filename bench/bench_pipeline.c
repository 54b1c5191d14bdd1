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
#include "bench/peer.h"
#include "bench/stats.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
send_invoke(struct bench_peer *p, uint32_t id, const char *channel,
    const char *body, size_t body_len)
{
	struct cg_frame f = { 0 };

	f.type = CG_MSG_INVOKE;
	f.request_id = id;
	f.channel = channel;
	f.channel_len = strlen(channel);
	f.body = body;
	f.body_len = body_len;
	bench_peer_send(p, &f);
}

/* One answer: it must pass the codec and be a REPLY. */
static void
receive_reply(struct bench_peer *p)
{
	struct cg_frame f;

	if (!bench_peer_recv(p, &f))
		bench_peer_die(p, "recv", "gateway closed the connection");
	if (f.type != CG_MSG_REPLY)
		bench_peer_die(p, "answer", f.type == CG_MSG_ERROR ?
		    frame_status_name((enum cg_status)f.status) :
		    "unexpected type");
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
	static struct bench_peer p;
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
	if (body == NULL) {
		fprintf(stderr, "bench-pipeline: malloc: %s\n", strerror(errno));
		return 2;
	}
	memset(body, 'x', size);
	body[0] = body[size - 1] = '"';
	bench_peer_connect(&p, "bench-pipeline",
	    "{\"version\":3,\"library\":\"bench-pipeline\"}");
	t0 = bench_now_ns();
	while (got < iters) {
		while (sent < iters && sent - got < window) {
			/* ids from 2: the HELLO was 1 */
			send_invoke(&p, (uint32_t)(sent + 2), channel, body,
			    size);
			sent++;
		}
		receive_reply(&p);
		got++;
	}
	bench_report_rate(stdout, "capgate_pipeline", size, got,
	    bench_now_ns() - t0);
	free(body);
	return 0;
}
