/*
 * A front-end for the fault tests. It speaks the protocol with the frame
 * codec directly (as tests/e2e/hostile.c does), so a test controls exactly
 * what is on the wire and when.
 *
 *   peer loop CHANNEL JSON [N]  invoke CHANNEL over and over (N times, or
 *                               until the gateway goes away or SIGTERM),
 *                               printing one line per answer: "ok", or
 *                               "error NAME"; on SIGTERM prints "term" and
 *                               exits 0
 *   peer flood CHANNEL JSON     prints "ready", waits for a line on stdin,
 *                               then invokes without ever reading a reply
 *   peer big SIZE               sends one datagram of SIZE bytes: a sealed
 *                               invoke of "echo" with a string body when
 *                               SIZE fits a frame, else junk; prints the
 *                               answer ("ok", "error NAME") or "gone"
 *   peer watch CHANNEL JSON     like loop, but prints only when the answer
 *                               changes ("ok" -> "error denied"), with the
 *                               count of answers before it
 *   peer hog                    forks, maps memory and opens fds until the
 *                               sandbox's limits stop it, prints how far it
 *                               got ("forks N", "mb N", "fds N"), then
 *                               invokes "echo" and prints the answer
 *   peer stdin                  one invoke per line of stdin ("CHANNEL
 *                               JSON"), one answer per line of stdout
 *                               ("CHANNEL ok"); a line ">CHANNEL JSON"
 *                               only sends the invoke, and a line "<"
 *                               waits for one answer: "reply ID ok" or
 *                               "reply ID error NAME"
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/frame.h"

#define GW_FD 3
#define KEY_FD 4

static struct cg_frame_session sess;
static unsigned char buf[CG_FRAME_MAX + 1];
static uint32_t next_id = 1;
static volatile sig_atomic_t got_term;

static void
die(const char *what)
{
	fprintf(stderr, "peer: %s: %s\n", what, strerror(errno));
	exit(99);
}

static int
send_frame(uint8_t type, const char *channel, const char *body)
{
	unsigned char out[CG_FRAME_MAX];
	struct cg_frame f = { 0 };
	size_t len;

	f.type = type;
	f.request_id = next_id++;
	f.channel = channel;
	f.channel_len = channel ? strlen(channel) : 0;
	f.body = body;
	f.body_len = body ? strlen(body) : 0;
	len = frame_seal(&sess, &f, out, sizeof(out));
	return send(GW_FD, out, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

/* The type of the next frame, or -1 when the gateway is gone. */
static int
recv_frame(struct cg_frame *f)
{
	ssize_t n;

	do
		n = recv(GW_FD, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR && !got_term);
	if (n <= 0)
		return -1;
	if (frame_open(&sess, buf, (size_t)n, 0, 0, f) != CG_FRAME_OK)
		return -2;
	return f->type;
}

static void
handshake(void)
{
	unsigned char key[CG_SESSION_KEY_LEN];
	struct cg_frame f;

	if (read(KEY_FD, key, sizeof(key)) != (ssize_t)sizeof(key))
		die("key");
	close(KEY_FD);
	frame_session_init(&sess, key, 0);
	if (send_frame(CG_MSG_HELLO, NULL, "{\"version\":3}") != 0 ||
	    recv_frame(&f) != CG_MSG_WELCOME)
		die("handshake");
}

/* One invoke; its answer as a short word into out. -1 if the gateway went
 * away. */
static int
invoke(const char *channel, const char *body, char *out, size_t len)
{
	struct cg_frame f;
	int t;

	if (send_frame(CG_MSG_INVOKE, channel, body) != 0)
		return -1;
	t = recv_frame(&f);
	if (t == CG_MSG_REPLY)
		snprintf(out, len, "ok");
	else if (t == CG_MSG_ERROR)
		snprintf(out, len, "error %s",
		    frame_status_name((enum cg_status)f.status));
	else
		return -1;
	return 0;
}

static void
on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

static int
mode_loop(const char *channel, const char *body, long n, int changes_only)
{
	char ans[64], prev[64] = "";
	long count = 0;

	signal(SIGTERM, on_term);
	handshake();
	printf("ready\n");
	fflush(stdout);
	while ((n <= 0 || count < n) && !got_term) {
		if (invoke(channel, body, ans, sizeof(ans)) != 0)
			break;
		count++;
		if (!changes_only)
			printf("%s\n", ans);
		else if (strcmp(ans, prev) != 0)
			printf("%s after %ld\n", ans, count - 1);
		snprintf(prev, sizeof(prev), "%s", ans);
		fflush(stdout);
	}
	printf("%s %ld\n", got_term ? "term" : "end", count);
	fflush(stdout);
	return 0;
}

static int
mode_flood(const char *channel, const char *body)
{
	char line[64];

	handshake();
	printf("ready\n");
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 1;
	printf("flooding\n");
	fflush(stdout);
	for (;;)
		if (send_frame(CG_MSG_INVOKE, channel, body) != 0)
			return 1;
}

static int
mode_stdin(void)
{
	char line[4096], ans[64];

	handshake();
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin) != NULL) {
		char *sp = strchr(line, ' ');
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, "<") == 0) {
			struct cg_frame f;
			int t = recv_frame(&f);
			if (t != CG_MSG_REPLY && t != CG_MSG_ERROR)
				return 1;
			printf("reply %u %s%s\n", (unsigned)f.request_id,
			    t == CG_MSG_REPLY ? "ok" : "error ", t == CG_MSG_REPLY ?
			    "" : frame_status_name((enum cg_status)f.status));
			continue;
		}
		if (sp == NULL)
			continue;
		if (line[0] == '>') {
			*sp = '\0';
			if (send_frame(CG_MSG_INVOKE, line + 1, sp + 1) != 0)
				return 1;
			continue;
		}
		*sp = '\0';
		if (invoke(line, sp + 1, ans, sizeof(ans)) != 0)
			return 1;
		printf("%s %s\n", line, ans);
	}
	return 0;
}

static int
mode_big(size_t size)
{
	static unsigned char out[CG_FRAME_MAX + 4096];
	static char body[CG_FRAME_MAX];
	struct cg_frame f = { 0 };
	size_t len = size;

	handshake();
	if (size <= CG_FRAME_MAX && size >= CG_FRAME_HEADER_LEN + 4 + 2) {
		size_t blen = size - CG_FRAME_HEADER_LEN - 4;
		memset(body, 'x', blen);
		body[0] = body[blen - 1] = '"';
		f.type = CG_MSG_INVOKE;
		f.request_id = next_id++;
		f.channel = "echo";
		f.channel_len = 4;
		f.body = body;
		f.body_len = blen;
		len = frame_seal(&sess, &f, out, sizeof(out));
	} else if (size <= sizeof(out)) {
		memset(out, 'j', size);
	} else {
		return 97;
	}
	if (send(GW_FD, out, len, MSG_NOSIGNAL) != (ssize_t)len)
		die("send");
	int t = recv_frame(&f);
	if (t == CG_MSG_REPLY)
		printf("ok %zu\n", f.body_len);
	else if (t == CG_MSG_ERROR)
		printf("error %s\n", frame_status_name((enum cg_status)f.status));
	else
		printf("gone\n");
	return 0;
}

static int
mode_hog(void)
{
	char ans[64];
	long forks = 0, mb = 0, fds = 0;

	handshake();
	while (forks < 100000) {
		pid_t pid = fork();
		if (pid < 0)
			break;
		if (pid == 0) {
			pause();    /* ended with the sandbox's pid namespace */
			_exit(0);
		}
		forks++;
	}
	/* 16 MiB at a time, touched, up to 4 GiB */
	while (mb < 4096) {
		void *p = mmap(NULL, 16u << 20, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (p == MAP_FAILED)
			break;
		mb += 16;
	}
	while (fds < 1000000 && open("/dev/null", O_RDONLY) >= 0)
		fds++;
	printf("forks %ld\nmb %ld\nfds %ld\n", forks, mb, fds);
	if (invoke("echo", "\"still here\"", ans, sizeof(ans)) != 0)
		return 1;
	printf("%s\n", ans);
	return 0;
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 4 && strcmp(argv[1], "loop") == 0)
		return mode_loop(argv[2], argv[3], argc > 4 ? atol(argv[4]) : 0, 0);
	if (argc >= 4 && strcmp(argv[1], "watch") == 0)
		return mode_loop(argv[2], argv[3], argc > 4 ? atol(argv[4]) : 0, 1);
	if (argc == 2 && strcmp(argv[1], "hog") == 0)
		return mode_hog();
	if (argc == 3 && strcmp(argv[1], "big") == 0)
		return mode_big((size_t)atol(argv[2]));
	if (argc == 2 && strcmp(argv[1], "stdin") == 0)
		return mode_stdin();
	if (argc == 4 && strcmp(argv[1], "flood") == 0)
		return mode_flood(argv[2], argv[3]);
	fprintf(stderr, "peer: unknown mode\n");
	return 97;
}
