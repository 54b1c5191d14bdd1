/*
 * Both ends of the many-pending test (test_backend.c), speaking the
 * protocol through the frame codec (bench/peer.c). With N requests in the
 * first batch:
 *
 * 1. the front-end sends N invokes at once, alternating between p:short
 *    and p:long ({"i":k}); the backend collects them all, then answers
 *    every one whose i is not a multiple of 3, newest first, never the
 *    multiples of 3 (their deadlines must answer: every short one before
 *    any long one), the first one it answered a second time and an id it
 *    was never sent (both dropped as late replies);
 * 2. once only the long deadlines are left, 2N invokes one at a time,
 *    each answered at once: the request ids run more than the gateway's
 *    table of pending requests past the ones still pending;
 * 3. HOLD invokes on p:hold at once, which the backend keeps, so that each
 *    long deadline from 1 expires while a later request shares its bucket;
 * 4. one invoke on p:go, after which the backend answers the held ones,
 *    oldest first, and the go.
 *
 * The front-end checks every answer against its request and prints "ok N"
 * or what was wrong.
 */
#include "bench/peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_MAX 2000

static int
body_index(const struct cg_frame *f, const char *key)
{
	const char *at;
	char buf[64];
	size_t n = f->body_len < sizeof(buf) - 1 ? f->body_len : sizeof(buf) - 1;

	memcpy(buf, f->body, n);
	buf[n] = '\0';
	at = strstr(buf, key);
	return at != NULL ? atoi(at + strlen(key)) : -1;
}

static void
answer(struct bench_peer *p, uint32_t id, const char *body, size_t len)
{
	struct cg_frame f = { 0 };

	f.type = CG_MSG_REPLY;
	f.request_id = id;
	f.body = body;
	f.body_len = len;
	bench_peer_send(p, &f);
}

#define HOLD 900

static int
run_backend(int n)
{
	static struct bench_peer p;
	static uint32_t ids[N_MAX], held[HOLD];
	static int idx[N_MAX], held_i[HOLD];
	struct cg_frame f;
	char body[64];
	int got = 0, first = -1, nheld = 0;

	bench_peer_connect(&p, "pending-peer", "{\"version\":3}");
	while (got < n) {
		if (!bench_peer_recv(&p, &f))
			return 0;
		if (f.type != CG_MSG_INVOKE)
			continue;
		ids[got] = f.request_id;
		/* the envelope's data is {"i":k} */
		idx[got++] = body_index(&f, "\"data\":{\"i\":");
	}
	for (int k = n - 1; k >= 0; k--) {
		if (idx[k] < 0 || idx[k] % 3 == 0)
			continue;
		answer(&p, ids[k], body, (size_t)snprintf(body, sizeof(body),
		    "{\"i\":%d}", idx[k]));
		if (first < 0)
			first = k;
	}
	if (first >= 0)
		answer(&p, ids[first], "{\"i\":-1}", 8);
	answer(&p, 0x7fffffffu, "{\"i\":-2}", 8);
	while (bench_peer_recv(&p, &f)) {
		int i = body_index(&f, "\"data\":{\"i\":");

		if (f.type != CG_MSG_INVOKE)
			continue;
		if (f.channel_len == 6 && memcmp(f.channel, "p:hold", 6) == 0 &&
		    nheld < HOLD) {
			held[nheld] = f.request_id;
			held_i[nheld++] = i;
			continue;
		}
		if (f.channel_len == 4 && memcmp(f.channel, "p:go", 4) == 0) {
			for (int k = 0; k < nheld; k++)
				answer(&p, held[k], body, (size_t)snprintf(body,
				    sizeof(body), "{\"i\":%d}", held_i[k]));
			nheld = 0;
		}
		answer(&p, f.request_id, body, (size_t)snprintf(body,
		    sizeof(body), "{\"i\":%d}", i));
	}
	return 0;
}

struct front {
	struct bench_peer p;
	int n;                   /* invokes in the first batch */
	char seen[3 * N_MAX + HOLD + 1];
	int bad, long_timeouts, short_after_long;
};

static void
send_invoke(struct front *fr, int i, const char *ch)
{
	struct cg_frame out = { 0 };
	char body[64];

	out.type = CG_MSG_INVOKE;
	out.request_id = (uint32_t)i + 2;    /* the HELLO was 1 */
	out.channel = ch;
	out.channel_len = strlen(ch);
	out.body = body;
	out.body_len = (size_t)snprintf(body, sizeof(body), "{\"i\":%d}", i);
	bench_peer_send(&fr->p, &out);
}

/* Reads one answer and checks it; 0 when the gateway has closed. */
static int
take_answer(struct front *fr)
{
	struct cg_frame f;
	int i;

	if (!bench_peer_recv(&fr->p, &f))
		return 0;
	i = (int)f.request_id - 2;
	if (i < 0 || i > 3 * fr->n + HOLD || fr->seen[i]++) {
		printf("answer for request id %u: unknown or twice\n",
		    f.request_id);
		fr->bad++;
	} else if (i >= fr->n || i % 3 != 0) {
		if (f.type != CG_MSG_REPLY || body_index(&f, "{\"i\":") != i) {
			printf("request %d: type %u status %u body %.*s\n", i,
			    f.type, f.status, (int)f.body_len, f.body);
			fr->bad++;
		}
	} else if (f.type != CG_MSG_ERROR || f.status != CG_STATUS_TIMEOUT) {
		printf("request %d: type %u status %u, not a timeout\n", i,
		    f.type, f.status);
		fr->bad++;
	} else if (i % 2 == 1) {
		fr->long_timeouts++;
	} else if (fr->long_timeouts > 0) {
		fr->short_after_long++;
	}
	return 1;
}

static int
run_front(int n)
{
	static struct front fr;
	int got = 0, long_left = 0;

	fr.n = n;
	bench_peer_connect(&fr.p, "pending-peer",
	    "{\"version\":3,\"library\":\"pending-peer\"}");
	for (int i = 0; i < n; i++) {
		send_invoke(&fr, i, i % 2 == 0 ? "p:short" : "p:long");
		long_left += i % 3 == 0 && i % 2 == 1;
	}
	for (; got < n - long_left; got++)
		if (!take_answer(&fr))
			goto closed;
	/* the long deadlines still pending, each in a bucket that the ids
	 * below reach again */
	for (int i = n; i < 3 * n; i++) {
		send_invoke(&fr, i, "p:long");
		while (!fr.seen[i] && fr.bad == 0) {
			if (!take_answer(&fr))
				goto closed;
			got++;
		}
	}
	for (int i = 3 * n; i < 3 * n + HOLD; i++)
		send_invoke(&fr, i, "p:hold");
	for (; got < 3 * n; got++)
		if (!take_answer(&fr))
			goto closed;
	send_invoke(&fr, 3 * n + HOLD, "p:go");
	for (; got < 3 * n + HOLD + 1; got++)
		if (!take_answer(&fr))
			goto closed;
	if (fr.long_timeouts != long_left) {
		printf("%d long deadlines expired, %d expected\n",
		    fr.long_timeouts, long_left);
		fr.bad++;
	}
	if (fr.short_after_long > 0) {
		printf("%d short deadlines expired after a long one\n",
		    fr.short_after_long);
		fr.bad++;
	}
	if (fr.bad == 0)
		printf("ok %d\n", n);
	return fr.bad == 0 ? 0 : 1;
closed:
	printf("gateway closed after %d answers\n", got);
	return 1;
}

int
main(int argc, char **argv)
{
	int n = argc == 3 ? atoi(argv[2]) : 0;

	if (n < 1 || n > N_MAX) {
		fprintf(stderr, "usage: pending-peer front|backend N (1..%d)\n",
		    N_MAX);
		return 2;
	}
	if (strcmp(argv[1], "backend") == 0)
		return run_backend(n);
	if (strcmp(argv[1], "front") == 0)
		return run_front(n);
	fprintf(stderr, "pending-peer: unknown role %s\n", argv[1]);
	return 2;
}
