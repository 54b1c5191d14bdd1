/*
 * What verifying the sender costs per message (docs/SECURITY.md):
 *   - seal + open of one frame (keyed BLAKE2b both ways: what the two
 *     ends of one hop pay), by body size;
 *   - a SOCK_SEQPACKET send + receive with and without SO_PASSCRED on the
 *     receiver (the kernel attaching SCM_CREDENTIALS to every datagram),
 *     in one process, so the difference is the credential cost alone.
 * Prints one JSON line per figure: median ns over batches. It reports; it
 * asserts nothing.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gateway/frame.h"

#define BATCHES 101
#define PER_BATCH 2000

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void
bench_mac(size_t body_len)
{
	static unsigned char buf[CG_FRAME_MAX];
	unsigned char key[CG_SESSION_KEY_LEN];
	struct cg_frame_session a, b;
	struct cg_frame f = { 0 }, g;
	double t[BATCHES];
	char *body = malloc(body_len);

	randombytes_buf(key, sizeof(key));
	frame_session_init(&a, key, 0);
	frame_session_init(&b, key, 1);
	memset(body, 'x', body_len);
	f.type = CG_MSG_INVOKE;
	f.channel = "bench:echo";
	f.channel_len = 10;
	f.body = body;
	f.body_len = body_len;
	for (int i = 0; i < BATCHES; i++) {
		double t0 = now_ns();
		for (int j = 0; j < PER_BATCH; j++) {
			size_t n = frame_seal(&a, &f, buf, sizeof(buf));
			if (frame_open(&b, buf, n, 0, 0, &g) != CG_FRAME_OK)
				abort();
		}
		t[i] = (now_ns() - t0) / PER_BATCH;
	}
	printf("{\"bench\":\"frame_seal_open\",\"body\":%zu,\"median_ns\":%.1f}\n",
	    body_len, median(t, BATCHES));
	free(body);
}

static void
bench_cred(int passcred)
{
	unsigned char msg[128], rx[256];
	char ctl[CMSG_SPACE(sizeof(struct ucred))];
	double t[BATCHES];
	int sv[2], one = 1;

	memset(msg, 'x', sizeof(msg));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0 || (passcred &&
	    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0))
		abort();
	for (int i = 0; i < BATCHES; i++) {
		double t0 = now_ns();
		for (int j = 0; j < PER_BATCH; j++) {
			struct iovec iov = { rx, sizeof(rx) };
			struct msghdr mh = { 0 };
			mh.msg_iov = &iov;
			mh.msg_iovlen = 1;
			mh.msg_control = ctl;
			mh.msg_controllen = sizeof(ctl);
			if (send(sv[0], msg, sizeof(msg), 0) != (ssize_t)sizeof(msg) ||
			    recvmsg(sv[1], &mh, 0) != (ssize_t)sizeof(msg))
				abort();
		}
		t[i] = (now_ns() - t0) / PER_BATCH;
	}
	printf("{\"bench\":\"send_recv_128B\",\"passcred\":%s,\"median_ns\":%.1f}\n",
	    passcred ? "true" : "false", median(t, BATCHES));
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	bench_mac(64);
	bench_mac(200);
	bench_mac(1024);
	bench_mac(16384);
	bench_cred(0);
	bench_cred(1);
	return 0;
}
