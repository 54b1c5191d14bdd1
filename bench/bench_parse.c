/*
 * Cost of parsing one message body: frame_parse_body (pre-scan + the
 * parser in gateway/json_parse.c) beside what it replaced, the pre-scan +
 * json_loadb, and json_loadb alone, on the same bytes.
 *
 * Each figure is the median over batches of the mean time per call within a
 * batch (a single call of a 64-byte body is too short for the clock). One
 * JSON object per measurement on stdout, a table on stderr.
 *
 *   bench-parse [batches]
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/frame.h"

static const struct cg_json_limits lim = { 32, 65536, CG_FRAME_MAX };

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

enum method { M_PARSE_BODY, M_SCAN_LOADB, M_LOADB };

static const char *const method_names[] = {
	"frame_parse_body", "scan+json_loadb (old frame_parse_body)", "json_loadb",
};

static void
run_once(enum method m, const char *buf, size_t len)
{
	json_error_t err;
	json_t *j = NULL;

	switch (m) {
	case M_PARSE_BODY:
		if (frame_parse_body(buf, len, &lim, &j) != CG_BODY_OK)
			abort();
		break;
	case M_SCAN_LOADB:
		if (frame_body_scan(buf, len, &lim) != CG_BODY_OK)
			abort();
		/* fall through */
	case M_LOADB:
		j = json_loadb(buf, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
		    &err);
		if (j == NULL)
			abort();
		break;
	}
	json_decref(j);
}

/* Median ns per call over batches of calls sized to ~50 us each. */
static double
measure(enum method m, const char *buf, size_t len, int batches)
{
	double *per = malloc((size_t)batches * sizeof(*per));
	unsigned k = 1;
	uint64_t t0;
	double med;

	if (per == NULL)
		abort();
	for (;;) {
		t0 = now_ns();
		for (unsigned i = 0; i < k; i++)
			run_once(m, buf, len);
		if (now_ns() - t0 >= 50000 || k >= 1u << 20)
			break;
		k *= 2;
	}
	for (int b = 0; b < batches; b++) {
		t0 = now_ns();
		for (unsigned i = 0; i < k; i++)
			run_once(m, buf, len);
		per[b] = (double)(now_ns() - t0) / k;
	}
	qsort(per, (size_t)batches, sizeof(*per), cmp_double);
	med = per[batches / 2];
	free(per);
	return med;
}

static char *
make_string(size_t len)
{
	char *s = malloc(len + 1);

	if (s == NULL)
		abort();
	s[0] = '"';
	for (size_t i = 1; i + 1 < len; i++)
		s[i] = (char)('a' + i % 26);
	s[len - 1] = '"';
	s[len] = '\0';
	return s;
}

static char *
make_object(size_t target)
{
	size_t cap = target + 256, n;
	char *s = malloc(cap);

	if (s == NULL)
		abort();
	n = (size_t)snprintf(s, cap, "{\"items\":[");
	for (int i = 0; n + 120 < target; i++)
		n += (size_t)snprintf(s + n, cap - n, "%s{\"id\":%d,\"name\":"
		    "\"item-%d\",\"tags\":[\"a\",\"b\\n\"],\"price\":%d.25,"
		    "\"ok\":true,\"next\":null}", i ? "," : "", i, i, i);
	snprintf(s + n, cap - n, "],\"count\":1}");
	return s;
}

int
main(int argc, char **argv)
{
	int batches = argc > 1 ? atoi(argv[1]) : 201;
	struct { const char *name; char *body; } cases[] = {
		{ "string_64", make_string(64) },
		{ "object_200", strdup("{\"path\":\"/home/user/Documents/report."
		    "pdf\",\"mode\":\"read\",\"flags\":[\"nofollow\",\"cloexec\"],"
		    "\"size\":12345,\"offset\":0,\"timeout_ms\":2500,\"meta\":{"
		    "\"owner\":\"alice\",\"ratio\":0.75,\"ok\":true}}") },
		{ "string_1k", make_string(1024) },
		{ "string_16k", make_string(16384) },
		{ "object_16k", make_object(16384) },
	};

	if (batches < 1)
		batches = 1;
	fprintf(stderr, "%-11s %6s %12s %12s %12s %8s\n", "body", "bytes",
	    "parse_body", "scan+loadb", "json_loadb", "speedup");
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t len = strlen(cases[c].body);
		double ns[3];

		for (int m = 0; m < 3; m++) {
			ns[m] = measure((enum method)m, cases[c].body, len, batches);
			printf("{\"bench\":\"parse\",\"body\":\"%s\",\"size\":%zu,"
			    "\"method\":\"%s\",\"p50_ns\":%.1f}\n", cases[c].name,
			    len, method_names[m], ns[m]);
		}
		fprintf(stderr, "%-11s %6zu %10.0fns %10.0fns %10.0fns %7.1fx\n",
		    cases[c].name, len, ns[0], ns[1], ns[2], ns[1] / ns[0]);
		free(cases[c].body);
	}
	return 0;
}
