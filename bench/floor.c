/*
 * The physical floor: what a message costs with no gateway at all.
 *
 *   rtt       client <-> echo over one SOCK_SEQPACKET socketpair
 *   relay     client <-> relay <-> echo: two hops, the shape of a gateway
 *             that forwards to a backend, with the relay doing nothing
 *   relay-epoll  the same relay waiting in epoll_wait on both sockets, as
 *             a server with more than one connection must (not a target's
 *             reference: it shows what multiplexing costs by itself)
 *   send      one-way messages client -> sink, then one acknowledgement
 *   pipeline  round trips with a window of requests in flight
 *
 * Same message sizes as the capgate and D-Bus runs, no checks, no copies
 * beyond the kernel's. Placement (pinned or free) is chosen by whoever
 * starts this program (bench/run uses taskset); children inherit it.
 */
#include "bench/stats.h"

#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define FLOOR_MAX_SIZE (256u * 1024u)

struct floor_opts {
	const char *mode;
	size_t size;
	uint64_t iters;
	uint64_t warmup;
	uint64_t window;
};

static void
die(const char *what)
{
	fprintf(stderr, "bench-floor: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void
xsend(int fd, const void *buf, size_t len)
{
	ssize_t n;

	do
		n = send(fd, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0 || (size_t)n != len)
		die("send");
}

/* Returns the datagram length, or 0 at end of stream. */
static size_t
xrecv(int fd, void *buf, size_t cap)
{
	ssize_t n;

	do
		n = recv(fd, buf, cap, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		die("recv");
	return (size_t)n;
}

static void
xsocketpair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		die("socketpair");
}

/*
 * Echoes every datagram on fd back until the peer closes, then exits. With
 * stamp_cpu the first bytes of the answer carry the CPU the echo ran on, so
 * the client can tell how often the scheduler put both ends on one core
 * (a "free" placement is a mixture of the two cases).
 */
static void __attribute__((noreturn))
run_echo(int fd, int stamp_cpu)
{
	static unsigned char buf[FLOOR_MAX_SIZE];
	size_t n;
	int cpu;

	while ((n = xrecv(fd, buf, sizeof(buf))) > 0) {
		if (stamp_cpu && n >= sizeof(cpu)) {
			cpu = sched_getcpu();
			memcpy(buf, &cpu, sizeof(cpu));
		}
		xsend(fd, buf, n);
	}
	_exit(0);
}

/* Forwards each request from front to back and the answer back again. */
static void __attribute__((noreturn))
run_relay(int front, int back)
{
	static unsigned char buf[FLOOR_MAX_SIZE];
	size_t n;

	while ((n = xrecv(front, buf, sizeof(buf))) > 0) {
		xsend(back, buf, n);
		n = xrecv(back, buf, sizeof(buf));
		if (n == 0)
			break;
		xsend(front, buf, n);
	}
	_exit(0);
}

/* run_relay, but the relay learns which socket is readable from epoll:
 * one epoll_wait (no timeout) before each recv. */
static void __attribute__((noreturn))
run_relay_epoll(int front, int back)
{
	static unsigned char buf[FLOOR_MAX_SIZE];
	struct epoll_event ev = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC);
	size_t n;

	ev.data.fd = front;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, front, &ev) != 0)
		die("epoll");
	ev.data.fd = back;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, back, &ev) != 0)
		die("epoll");
	for (;;) {
		int k = epoll_wait(ep, &ev, 1, -1);

		if (k < 0 && errno == EINTR)
			continue;
		if (k != 1)
			die("epoll_wait");
		n = xrecv(ev.data.fd, buf, sizeof(buf));
		if (n == 0)
			break;
		xsend(ev.data.fd == front ? back : front, buf, n);
	}
	_exit(0);
}

/* Counts datagrams; after each `batch` of them answers one byte. */
static void __attribute__((noreturn))
run_sink(int fd, uint64_t batch)
{
	static unsigned char buf[FLOOR_MAX_SIZE];
	uint64_t got = 0;

	while (xrecv(fd, buf, sizeof(buf)) > 0) {
		if (++got == batch) {
			xsend(fd, "k", 1);
			got = 0;
		}
	}
	_exit(0);
}

static pid_t
spawn_child(void)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	return pid;
}

static void
reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench-floor: child %d failed\n", (int)pid);
		exit(2);
	}
}

/* Times iters round trips over fd after warmup untimed ones. With
 * stamped answers, also reports the fraction that ran on one CPU. */
static void
time_round_trips(int fd, const struct floor_opts *o, const char *name,
    int stamped)
{
	static unsigned char rbuf[FLOOR_MAX_SIZE];
	struct bench_samples s;
	uint64_t i, t0, t1, same = 0;
	unsigned char *msg;
	char extra[64];
	int cpu;

	msg = malloc(o->size);
	if (msg == NULL)
		die("malloc");
	memset(msg, 'x', o->size);
	bench_samples_init(&s, o->iters);
	for (i = 0; i < o->warmup + o->iters; i++) {
		t0 = bench_now_ns();
		xsend(fd, msg, o->size);
		if (xrecv(fd, rbuf, sizeof(rbuf)) != o->size) {
			fprintf(stderr, "bench-floor: short echo\n");
			exit(2);
		}
		t1 = bench_now_ns();
		if (i < o->warmup)
			continue;
		bench_samples_add(&s, t1 - t0);
		if (stamped && o->size >= sizeof(cpu)) {
			memcpy(&cpu, rbuf, sizeof(cpu));
			same += cpu == sched_getcpu();
		}
	}
	if (stamped && o->size >= sizeof(cpu)) {
		snprintf(extra, sizeof(extra), "\"same_cpu\":%.3f",
		    (double)same / (double)o->iters);
		bench_report_latency_extra(stdout, name, o->size, &s, extra);
	} else {
		bench_report_latency(stdout, name, o->size, &s);
	}
	bench_samples_free(&s);
	free(msg);
}

static void
mode_rtt(const struct floor_opts *o)
{
	int sv[2];
	pid_t echo;

	xsocketpair(sv);
	echo = spawn_child();
	if (echo == 0) {
		close(sv[0]);
		run_echo(sv[1], 1);
	}
	close(sv[1]);
	time_round_trips(sv[0], o, "floor_rtt", 1);
	close(sv[0]);
	reap(echo);
}

static void
relay_with(const struct floor_opts *o, const char *name,
    void (*relay_fn)(int, int))
{
	int front[2], back[2];
	pid_t echo, relay;

	xsocketpair(front);
	xsocketpair(back);
	echo = spawn_child();
	if (echo == 0) {
		close(front[0]);
		close(front[1]);
		close(back[0]);
		run_echo(back[1], 0);
	}
	relay = spawn_child();
	if (relay == 0) {
		close(front[0]);
		close(back[1]);
		relay_fn(front[1], back[0]);
		_exit(0);
	}
	close(front[1]);
	close(back[0]);
	close(back[1]);
	time_round_trips(front[0], o, name, 0);
	close(front[0]);
	reap(relay);
	reap(echo);
}

static void
mode_relay(const struct floor_opts *o)
{
	relay_with(o, "floor_relay", run_relay);
}

static void
mode_relay_epoll(const struct floor_opts *o)
{
	relay_with(o, "floor_relay_epoll", run_relay_epoll);
}

/* One-way throughput: the sink acknowledges each batch, so the sender
 * never outruns it by more than the socket buffer and the clock stops only
 * when the last message has been received. */
static void
mode_send(const struct floor_opts *o)
{
	unsigned char *msg, ack[8];
	uint64_t i, t0, batch = o->iters;
	int sv[2];
	pid_t sink;

	xsocketpair(sv);
	sink = spawn_child();
	if (sink == 0) {
		close(sv[0]);
		run_sink(sv[1], batch);
	}
	close(sv[1]);
	msg = malloc(o->size);
	if (msg == NULL)
		die("malloc");
	memset(msg, 'x', o->size);
	/* Warm-up is one full untimed batch. */
	for (int round = 0; round < 2; round++) {
		t0 = bench_now_ns();
		for (i = 0; i < batch; i++)
			xsend(sv[0], msg, o->size);
		if (xrecv(sv[0], ack, sizeof(ack)) != 1)
			die("ack");
		if (round == 1)
			bench_report_rate(stdout, "floor_send", o->size, batch,
			    bench_now_ns() - t0);
	}
	close(sv[0]);
	reap(sink);
	free(msg);
}

/* Round trips with `window` requests outstanding: throughput of a client
 * that does not wait for each answer before asking again. */
static void
mode_pipeline(const struct floor_opts *o)
{
	static unsigned char rbuf[FLOOR_MAX_SIZE];
	uint64_t sent = 0, got = 0, t0;
	unsigned char *msg;
	int sv[2];
	pid_t echo;

	xsocketpair(sv);
	echo = spawn_child();
	if (echo == 0) {
		close(sv[0]);
		run_echo(sv[1], 0);
	}
	close(sv[1]);
	msg = malloc(o->size);
	if (msg == NULL)
		die("malloc");
	memset(msg, 'x', o->size);
	t0 = bench_now_ns();
	while (got < o->iters) {
		while (sent < o->iters && sent - got < o->window) {
			xsend(sv[0], msg, o->size);
			sent++;
		}
		if (xrecv(sv[0], rbuf, sizeof(rbuf)) == 0)
			die("echo closed");
		got++;
	}
	bench_report_rate(stdout, "floor_pipeline", o->size, got,
	    bench_now_ns() - t0);
	close(sv[0]);
	reap(echo);
	free(msg);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: bench-floor --mode rtt|relay|relay-epoll|send|pipeline "
	    "[--size BYTES] [--iters N] [--warmup N] [--window N]\n");
	exit(2);
}

static const struct option long_opts[] = {
	{ "mode", required_argument, NULL, 'm' },
	{ "size", required_argument, NULL, 's' },
	{ "iters", required_argument, NULL, 'n' },
	{ "warmup", required_argument, NULL, 'w' },
	{ "window", required_argument, NULL, 'W' },
	{ NULL, 0, NULL, 0 },
};

static const struct {
	const char *name;
	void (*run)(const struct floor_opts *);
} modes[] = {
	{ "rtt", mode_rtt },
	{ "relay", mode_relay },
	{ "relay-epoll", mode_relay_epoll },
	{ "send", mode_send },
	{ "pipeline", mode_pipeline },
};

int
main(int argc, char **argv)
{
	struct floor_opts o = { "rtt", 64, 20000, 2000, 16 };
	int c;

	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (c) {
		case 'm': o.mode = optarg; break;
		case 's': o.size = bench_parse_count(optarg, 1, FLOOR_MAX_SIZE, "--size"); break;
		case 'n': o.iters = bench_parse_count(optarg, 1, 100000000, "--iters"); break;
		case 'w': o.warmup = bench_parse_count(optarg, 0, 100000000, "--warmup"); break;
		case 'W': o.window = bench_parse_count(optarg, 1, 1024, "--window"); break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(modes[i].name, o.mode) == 0) {
			modes[i].run(&o);
			return 0;
		}
	}
	usage();
}
