/*
 * Benchmark (not a test): the policy's per-message cost and its load time
 * with 10,000 channels.
 *
 *   lookup: policy_lookup_grant() -- the channel name hashed and found in
 *           the open-addressing index, then the client's slot read -- for
 *           a mix of granted, not-granted and unknown names, as dispatch
 *           does for every frame before it parses the body;
 *   load:   policy_load() of a 10,000-channel policy with a request schema,
 *           a response schema, a rate and max_bytes on every channel and
 *           two clients granted by glob, and of the same without schemas.
 *
 * Usage: bench-lookup [CHANNELS [LOOKUPS]]   (defaults 10000, 5000000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway/handlers.h"
#include "policy/policy.h"

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
write_policy(const char *path, int n, int schemas, int ndefs)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	fprintf(f, "{\"capgate\":1,\n\"definitions\":{");
	for (int d = 1; d < ndefs; d++)
		fprintf(f, "\"d%d\":{\"type\":\"string\",\"maxLength\":%d},", d, d);
	fprintf(f, "\"name\":{\"type\":\"string\",\"maxLength\":64}},\n"
	    "\"channels\":{\n");
	for (int i = 0; i < n; i++) {
		fprintf(f, "%s\"%s:ch%d\":{\"kind\":\"invoke\",\"to\":\"builtin:echo\","
		    "\"max_bytes\":4096,\"rate\":\"100/s\",\"burst\":20", i ? ",\n" : "",
		    i % 2 ? "worker" : "ui", i);
		if (schemas)
			fprintf(f, ",\"request\":{\"type\":\"object\","
			    "\"additionalProperties\":false,\"required\":[\"name\"],"
			    "\"properties\":{\"name\":{\"$ref\":\"#/definitions/name\"},"
			    "\"n\":{\"type\":\"integer\",\"minimum\":0}}},"
			    "\"response\":{\"type\":\"object\"}");
		fprintf(f, "}");
	}
	fprintf(f, "},\n\"clients\":{\"ui\":{\"grants\":[\"ui:*\"]},"
	    "\"worker\":{\"grants\":[\"worker:*\"]}}}\n");
	fclose(f);
}

/* Best of runs: the least disturbed by the rest of the machine. */
static double
bench_load(const char *path, int runs, struct cg_policy **keep)
{
	double best = 1e9;

	for (int r = 0; r < runs; r++) {
		struct cg_error err;
		double t0 = now_s();
		struct cg_policy *p = policy_load(path, handler_check, &err);
		double t = now_s() - t0;
		if (p == NULL) {
			char msg[1024];
			cg_error_format(&err, msg, sizeof(msg));
			fprintf(stderr, "bench-lookup: %s\n", msg);
			exit(1);
		}
		if (t < best)
			best = t;
		if (keep != NULL && r == runs - 1)
			*keep = p;
		else
			policy_free(p);
	}
	return best;
}

static void
bench_lookups(const struct cg_policy *p, int n, long lookups)
{
	const struct cg_client_policy *ui = policy_client(p, "ui");
	enum { NAMES = 4096 };
	static char names[NAMES][32];
	static size_t lens[NAMES];
	long granted = 0, denied = 0, missing = 0;
	double t0, t;

	/* a deterministic mix: half granted to ui, a quarter granted to the
	 * other client, a quarter unknown */
	srand(1);
	for (int i = 0; i < NAMES; i++) {
		int k = rand() % n, kind = i % 4;
		if (kind < 2)
			k &= ~1;
		else if (kind == 2)
			k |= 1;
		snprintf(names[i], sizeof(names[i]), "%s:ch%d", kind == 3 ?
		    "nope" : k % 2 ? "worker" : "ui", k);
		lens[i] = strlen(names[i]);
	}
	t0 = now_s();
	for (long i = 0; i < lookups; i++) {
		int32_t slot;
		int rc = policy_lookup_grant(p, ui, names[i % NAMES],
		    lens[i % NAMES], &slot);
		granted += rc >= 0;
		denied += rc == -2;
		missing += rc == -1;
	}
	t = now_s() - t0;
	printf("lookup + grant check: %.1f ns per message (%ld lookups: %ld "
	    "granted, %ld not granted, %ld not found)\n", t / (double)lookups * 1e9,
	    lookups, granted, denied, missing);
}

int
main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10000;
	long lookups = argc > 2 ? atol(argv[2]) : 5000000;
	char path[] = "/tmp/capgate-bench-XXXXXX";
	int fd = mkstemp(path);
	struct cg_policy *p = NULL;
	double t;

	if (fd < 0 || n < 2 || lookups < 1) {
		fprintf(stderr, "usage: bench-lookup [CHANNELS [LOOKUPS]]\n");
		return 2;
	}
	close(fd);
	write_policy(path, n, 0, 1);
	t = bench_load(path, 5, NULL);
	printf("load, %d channels without schemas: %.1f ms\n", n, t * 1e3);
	write_policy(path, n, 1, 100);
	t = bench_load(path, 5, NULL);
	printf("load, %d channels with schemas as below, 100 definitions: "
	    "%.1f ms\n", n, t * 1e3);
	write_policy(path, n, 1, 1);
	t = bench_load(path, 5, &p);
	printf("load, %d channels with request+response schemas, $ref, rate, "
	    "2 clients: %.1f ms\n", n, t * 1e3);
	bench_lookups(p, n, lookups);
	policy_free(p);
	unlink(path);
	return 0;
}
