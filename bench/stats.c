#include "bench/stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void
bench_samples_init(struct bench_samples *s, size_t cap)
{
	s->ns = calloc(cap > 0 ? cap : 1, sizeof(*s->ns));
	if (s->ns == NULL) {
		fprintf(stderr, "bench: out of memory for %zu samples\n", cap);
		exit(2);
	}
	s->n = 0;
	s->cap = cap;
}

void
bench_samples_free(struct bench_samples *s)
{
	if (s == NULL)
		return;
	free(s->ns);
	s->ns = NULL;
	s->n = s->cap = 0;
}

void
bench_samples_add(struct bench_samples *s, uint64_t ns)
{
	if (s->n < s->cap)
		s->ns[s->n++] = ns;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

void
bench_samples_sort(struct bench_samples *s)
{
	qsort(s->ns, s->n, sizeof(*s->ns), cmp_u64);
}

uint64_t
bench_samples_percentile(const struct bench_samples *s, double p)
{
	size_t rank;

	if (s->n == 0)
		return 0;
	/* Nearest rank: the smallest sample with at least p% at or below it. */
	rank = (size_t)ceil((p / 100.0) * (double)s->n - 1e-9);
	if (rank < 1)
		rank = 1;
	if (rank > s->n)
		rank = s->n;
	return s->ns[rank - 1];
}

static double
us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

void
bench_report_latency(FILE *out, const char *name, size_t size,
    struct bench_samples *s)
{
	bench_report_latency_extra(out, name, size, s, NULL);
}

void
bench_report_latency_extra(FILE *out, const char *name, size_t size,
    struct bench_samples *s, const char *extra)
{
	long double sum = 0;
	size_t i;

	bench_samples_sort(s);
	for (i = 0; i < s->n; i++)
		sum += s->ns[i];
	fprintf(out, "{\"bench\":\"%s\",\"size\":%zu,\"n\":%zu,"
	    "\"min_us\":%.3f,\"p50_us\":%.3f,\"p90_us\":%.3f,"
	    "\"p99_us\":%.3f,\"max_us\":%.3f,\"mean_us\":%.3f%s%s}\n",
	    name, size, s->n,
	    us(s->n ? s->ns[0] : 0), us(bench_samples_percentile(s, 50)),
	    us(bench_samples_percentile(s, 90)),
	    us(bench_samples_percentile(s, 99)),
	    us(s->n ? s->ns[s->n - 1] : 0),
	    s->n ? (double)(sum / s->n) / 1000.0 : 0.0,
	    extra != NULL ? "," : "", extra != NULL ? extra : "");
	fflush(out);
}

void
bench_report_rate(FILE *out, const char *name, size_t size, uint64_t count,
    uint64_t elapsed_ns)
{
	double secs = (double)elapsed_ns / 1e9;

	fprintf(out, "{\"bench\":\"%s\",\"size\":%zu,\"n\":%llu,"
	    "\"seconds\":%.6f,\"per_s\":%.1f}\n",
	    name, size, (unsigned long long)count, secs,
	    secs > 0 ? (double)count / secs : 0.0);
	fflush(out);
}

uint64_t
bench_now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
		perror("bench: clock_gettime");
		exit(2);
	}
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
bench_parse_count(const char *arg, uint64_t min, uint64_t max,
    const char *what)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' ||
	    v < min || v > max) {
		fprintf(stderr, "bench: %s: expected a number in [%llu, %llu], "
		    "got '%s'\n", what, (unsigned long long)min,
		    (unsigned long long)max, arg);
		exit(2);
	}
	return v;
}
