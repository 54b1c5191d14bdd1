/*
 * The capgate side of the benchmark: a front-end that runs inside the
 * sandbox under `capgate run --policy bench/policies/echo.json --
 * bench-client MODE ...`, uses the client library like any application,
 * times its own calls and prints JSON lines on stdout (which capgate run
 * passes through as the client's fd 1).
 *
 *   invoke   --channel C --size B --iters N --warmup N   latency of cg_invoke
 *   send     --channel C --size B --iters N [--sync C2]  one-way throughput:
 *            N cg_send, then one invoke on C2 whose reply proves the gateway
 *            has handled every send before it (frames are handled in order)
 *   pipeline --channel C --size B --iters N --window W   invokes in flight
 *            (a hook: cg_invoke() blocks, so bench-pipeline measures this
 *            through the frame codec until the library can pipeline)
 *   spin     --channel C --size B --seconds S [--go]     invoke until S
 *            seconds pass; count and latency (scale and fairness runs).
 *            With --go it first says "ready" and waits for a byte on
 *            stdin, so that many clients can start spinning together.
 *   idle     [--warmup N]                                connect, make N
 *            invokes, say "ready", wait for stdin to close (memory runs)
 *
 * The request body for size B is a JSON string of B bytes in total, quotes
 * included, so a "64-byte" invoke carries the same payload bytes as the
 * floor's 64-byte datagram plus capgate's header and channel name.
 */
#include "bench/stats.h"
#include "client/capgate.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BC_MAX_SIZE (60u * 1024u)

struct bc_opts {
	const char *mode;
	const char *channel;
	const char *sync;
	size_t size;
	uint64_t iters;
	uint64_t warmup;
	uint64_t window;
	uint64_t seconds;
	int go;
	uint64_t linger_ms;   /* stay connected this long after reporting */
};

static void __attribute__((noreturn))
die(const char *what, const char *detail)
{
	fprintf(stderr, "bench-client: %s: %s\n", what, detail);
	exit(2);
}

/* ---- the client library, in one place --------------------------------- */

static struct cg_conn *
bc_connect(void)
{
	struct cg_conn *c;
	int rc = cg_connect(&c);

	if (rc != 0)
		die("cg_connect", cg_strerror(rc));
	return c;
}

/* One invoke; dies unless the gateway answered ok. Returns the length of
 * the answer's JSON text. */
static size_t
bc_invoke(struct cg_conn *c, const char *channel, const char *body)
{
	struct cg_reply r;
	size_t len;
	int rc;

	rc = cg_invoke(c, channel, body, &r, 10000);
	if (rc != 0)
		die("cg_invoke", cg_strerror(rc));
	if (!r.ok)
		die("cg_invoke answered", cg_strerror(r.code));
	len = r.len;
	cg_reply_free(&r);
	return len;
}

static void
bc_send(struct cg_conn *c, const char *channel, const char *body)
{
	int rc = cg_send(c, channel, body);

	if (rc != 0)
		die("cg_send", cg_strerror(rc));
}

/* ---- measurements ------------------------------------------------------ */

/* A JSON string of exactly size bytes: '"' + (size - 2) x 'x' + '"'. */
static char *
make_body(size_t size)
{
	char *b;

	if (size < 2)
		die("--size", "must be at least 2 (a JSON string)");
	b = malloc(size + 1);
	if (b == NULL)
		die("malloc", strerror(errno));
	memset(b, 'x', size);
	b[0] = b[size - 1] = '"';
	b[size] = '\0';
	return b;
}

static void
mode_invoke(struct cg_conn *c, const struct bc_opts *o, const char *body)
{
	struct bench_samples s;
	uint64_t i, t0, t1;

	bench_samples_init(&s, o->iters);
	for (i = 0; i < o->warmup + o->iters; i++) {
		t0 = bench_now_ns();
		if (bc_invoke(c, o->channel, body) != o->size)
			die("invoke", "reply has the wrong length");
		t1 = bench_now_ns();
		if (i >= o->warmup)
			bench_samples_add(&s, t1 - t0);
	}
	bench_report_latency(stdout, "capgate_invoke", o->size, &s);
	bench_samples_free(&s);
}

static void
mode_send(struct cg_conn *c, const struct bc_opts *o, const char *body)
{
	uint64_t i, t0;

	for (i = 0; i < o->warmup; i++)
		bc_send(c, o->channel, body);
	bc_invoke(c, o->sync, "\"s\"");
	t0 = bench_now_ns();
	for (i = 0; i < o->iters; i++)
		bc_send(c, o->channel, body);
	bc_invoke(c, o->sync, "\"s\"");
	bench_report_rate(stdout, "capgate_send", o->size, o->iters,
	    bench_now_ns() - t0);
}

static void
mode_pipeline(struct cg_conn *c, const struct bc_opts *o, const char *body)
{
	/* HOOK(capgate): needs an asynchronous invoke in the client library. */
	(void)c; (void)o; (void)body;
	die("pipeline", "the client library has no asynchronous invoke");
}

/* Says "ready" and blocks until the starter writes a byte (or closes). */
static void
wait_for_go(void)
{
	char b;
	ssize_t n;

	printf("ready\n");
	fflush(stdout);
	do
		n = read(STDIN_FILENO, &b, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		exit(0);
}

static void
mode_spin(struct cg_conn *c, const struct bc_opts *o, const char *body)
{
	uint64_t start, end, t0, t1, count = 0;
	struct bench_samples s;

	if (o->go)
		wait_for_go();
	/* Room for 200,000 invokes a second, far above what one client gets. */
	bench_samples_init(&s, o->seconds * 200000u);
	start = bench_now_ns();
	end = start + o->seconds * 1000000000u;
	for (t0 = start; t0 < end; t0 = t1) {
		if (bc_invoke(c, o->channel, body) != o->size)
			die("invoke", "reply has the wrong length");
		t1 = bench_now_ns();
		bench_samples_add(&s, t1 - t0);
		count++;
	}
	bench_report_latency(stdout, "capgate_spin", o->size, &s);
	bench_report_rate(stdout, "capgate_spin_rate", o->size, count,
	    bench_now_ns() - start);
	bench_samples_free(&s);
}

/* Connected and quiet: what one idle client costs the gateway. With
 * --warmup N it first makes N invokes, so the gateway's buffers and the
 * allocator have seen traffic before its memory is read. */
static void
mode_idle(struct cg_conn *c, const struct bc_opts *o, const char *body)
{
	char buf[64];
	ssize_t n;

	for (uint64_t i = 0; i < o->warmup; i++)
		bc_invoke(c, o->channel, body);
	printf("ready\n");
	fflush(stdout);
	do
		n = read(STDIN_FILENO, buf, sizeof(buf));
	while (n > 0 || (n < 0 && errno == EINTR));
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: bench-client invoke|send|pipeline|spin|idle "
	    "[--channel C] [--sync C] [--size B] [--iters N] [--warmup N] "
	    "[--window W] [--seconds S] [--go] [--linger MS]\n");
	exit(2);
}

static const struct option long_opts[] = {
	{ "channel", required_argument, NULL, 'c' },
	{ "sync", required_argument, NULL, 'y' },
	{ "size", required_argument, NULL, 's' },
	{ "iters", required_argument, NULL, 'n' },
	{ "warmup", required_argument, NULL, 'w' },
	{ "window", required_argument, NULL, 'W' },
	{ "seconds", required_argument, NULL, 'S' },
	{ "go", no_argument, NULL, 'g' },
	{ "linger", required_argument, NULL, 'L' },
	{ NULL, 0, NULL, 0 },
};

static const struct {
	const char *name;
	void (*run)(struct cg_conn *, const struct bc_opts *, const char *);
} modes[] = {
	{ "invoke", mode_invoke },
	{ "send", mode_send },
	{ "pipeline", mode_pipeline },
	{ "spin", mode_spin },
	{ "idle", mode_idle },
};

int
main(int argc, char **argv)
{
	struct bc_opts o = { NULL, "bench:echo", "bench:echo", 64, 20000, 2000,
	    16, 5, 0, 0 };
	struct cg_conn *c;
	char *body;
	int ch;

	while ((ch = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (ch) {
		case 'c': o.channel = optarg; break;
		case 'y': o.sync = optarg; break;
		case 's': o.size = bench_parse_count(optarg, 2, BC_MAX_SIZE, "--size"); break;
		case 'n': o.iters = bench_parse_count(optarg, 1, 100000000, "--iters"); break;
		case 'w': o.warmup = bench_parse_count(optarg, 0, 100000000, "--warmup"); break;
		case 'W': o.window = bench_parse_count(optarg, 1, 4096, "--window"); break;
		case 'S': o.seconds = bench_parse_count(optarg, 1, 3600, "--seconds"); break;
		case 'g': o.go = 1; break;
		case 'L': o.linger_ms = bench_parse_count(optarg, 0, 600000, "--linger"); break;
		default: usage();
		}
	}
	if (optind + 1 != argc)
		usage();
	o.mode = argv[optind];
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(modes[i].name, o.mode) != 0)
			continue;
		body = make_body(o.size);
		c = bc_connect();
		modes[i].run(c, &o, body);
		free(body);
		/* The command-line client of a many-client run lingers: when it
		 * exits, the gateway stops the others, which may still be
		 * finishing their own measurement. */
		fflush(stdout);
		if (o.linger_ms > 0) {
			struct timespec ts = { (time_t)(o.linger_ms / 1000),
			    (long)(o.linger_ms % 1000) * 1000000L };
			while (nanosleep(&ts, &ts) != 0)
				;
		}
		return 0;
	}
	usage();
}
