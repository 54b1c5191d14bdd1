/*
 * The cost of the audit trail on the decision path.
 *
 *   bench_audit [--dir DIR] [--records N] [--json]
 *
 * Reports, for a realistic decision record (~330 bytes with the digest):
 *  - format: audit_append_decision() alone (format + BLAKE2b chain hash),
 *    median ns per record over batches of 1000;
 *  - for each sync mode and group-commit size (1 and 32 records per
 *    audit_commit()): median ns per record and records/s, writing to a
 *    real file in DIR (default /tmp) with a signed seal every 1000 records.
 * Built from tests/audit/meson.build.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/util.h"

struct result {
	const char *mode;
	unsigned group;
	double median_ns;
	double per_sec;
};

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
fill(struct cg_audit_decision *d, unsigned char *digest, uint32_t i)
{
	memset(d, 0, sizeof(*d));
	d->client = "main";
	d->pid = 4242;
	d->channel = "notes:list";
	d->kind = "invoke";
	d->request_id = i;
	d->decision = i % 10 ? CG_DECISION_ALLOW : CG_DECISION_DENY;
	d->reason = i % 10 ? "ok" : "schema";
	d->pointer = i % 10 ? NULL : "/title";
	d->latency_ns = 11000 + i % 997;
	/* the gateway computes the payload digest; it is not audit's cost */
	memset(digest, (int)(i & 0xff), AUDIT_DIGEST_LEN);
	d->digest = digest;
}

/* A fresh log with a fresh key (one key seals one log). Both files are
 * unlinked at once; the writer keeps its descriptors. */
static struct cg_audit *
open_log(const char *dir, enum cg_audit_sync sync)
{
	static unsigned serial;
	struct cg_audit_config cfg;
	struct cg_error err;
	char path[4096], base[4096], key[4200], pub[4200];
	struct cg_audit *a;

	snprintf(base, sizeof(base), "%s/bench-audit-key-%d-%u", dir,
	    (int)getpid(), serial++);
	snprintf(key, sizeof(key), "%s.key", base);
	snprintf(pub, sizeof(pub), "%s.pub", base);
	cg_error_clear(&err);
	if (audit_keygen(base, &err) != 0) {
		fprintf(stderr, "bench_audit: %s\n", err.msg);
		exit(1);
	}

	snprintf(path, sizeof(path), "%s/bench-audit-%d.log", dir, (int)getpid());
	unlink(path);
	memset(&cfg, 0, sizeof(cfg));
	cfg.path = path;
	cfg.sync = sync;
	cfg.checkpoint_every = 1000;
	cg_error_clear(&err);
	cfg.key_path = key;
	a = audit_open(&cfg, "3f2a9c0d5e6b7a8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e",
	    &err);
	if (a == NULL) {
		fprintf(stderr, "bench_audit: %s\n", err.msg);
		exit(1);
	}
	unlink(path);
	unlink(key);
	unlink(pub);
	return a;
}

/* Runs `records` decisions committing every `group`; fills r. */
static void
run(const char *dir, enum cg_audit_sync sync, const char *name,
    unsigned group, unsigned records, struct result *r)
{
	unsigned char digest[AUDIT_DIGEST_LEN];
	struct cg_audit_decision d;
	struct cg_audit *a = open_log(dir, sync);
	unsigned nsamples = records / group, i, j;
	double *samples = calloc(nsamples, sizeof(double));
	uint64_t t0, t1, start;

	start = cg_now_ns();
	for (i = 0; i < nsamples; i++) {
		t0 = cg_now_ns();
		for (j = 0; j < group; j++) {
			fill(&d, digest, i * group + j);
			if (audit_append_decision(a, &d) != 0)
				exit(1);
		}
		if (audit_commit(a) != 0)
			exit(1);
		t1 = cg_now_ns();
		samples[i] = (double)(t1 - t0) / group;
	}
	r->per_sec = (double)nsamples * group * 1e9 / (double)(cg_now_ns() - start);
	qsort(samples, nsamples, sizeof(double), cmp_double);
	r->median_ns = samples[nsamples / 2];
	r->mode = name;
	r->group = group;
	audit_close(a);
	free(samples);
}

/* The formatting + hashing cost alone (never committed: the batch is
 * flushed by the writer when it grows, so writes are amortised in). */
static double
format_cost(const char *dir)
{
	unsigned char digest[AUDIT_DIGEST_LEN];
	struct cg_audit_decision d;
	struct cg_audit *a = open_log(dir, CG_AUDIT_SYNC_INTERVAL);
	double samples[201];
	unsigned i, j;
	uint64_t t0;

	for (i = 0; i < 201; i++) {
		t0 = cg_now_ns();
		for (j = 0; j < 999; j++) {
			fill(&d, digest, i * 1000 + j);
			audit_append_decision(a, &d);
		}
		samples[i] = (double)(cg_now_ns() - t0) / 999;
		audit_commit(a);
	}
	audit_close(a);
	qsort(samples, 201, sizeof(double), cmp_double);
	return samples[100];
}

int
main(int argc, char **argv)
{
	static const struct { enum cg_audit_sync s; const char *name; } modes[] = {
		{ CG_AUDIT_SYNC_EVERY, "every" },
		{ CG_AUDIT_SYNC_BATCH, "batch" },
		{ CG_AUDIT_SYNC_INTERVAL, "interval" },
	};
	static const unsigned groups[] = { 1, 32 };
	const char *dir = "/tmp";
	unsigned records = 20000, i, g, n = 0;
	struct result res[6];
	double fmt;
	int json = 0;

	for (i = 1; i < (unsigned)argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < (unsigned)argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--records") == 0 && i + 1 < (unsigned)argc)
			records = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else {
			fprintf(stderr, "usage: bench_audit [--dir DIR] [--records N] [--json]\n");
			return 64;
		}
	}
	fmt = format_cost(dir);
	for (i = 0; i < 3; i++)
		for (g = 0; g < 2; g++)
			run(dir, modes[i].s, modes[i].name, groups[g],
			    modes[i].s == CG_AUDIT_SYNC_EVERY && groups[g] == 1 ?
			    records / 10 : records, &res[n++]);
	if (json) {
		printf("{\"format_ns\":%.0f,\"modes\":[", fmt);
		for (i = 0; i < n; i++)
			printf("%s{\"sync\":\"%s\",\"group\":%u,\"median_ns\":%.0f,"
			    "\"records_per_s\":%.0f}", i ? "," : "", res[i].mode,
			    res[i].group, res[i].median_ns, res[i].per_sec);
		printf("]}\n");
		return 0;
	}
	printf("audit decision record, format + chain hash: %.0f ns (median)\n", fmt);
	printf("%-9s %6s %16s %14s\n", "sync", "group", "median ns/rec", "records/s");
	for (i = 0; i < n; i++)
		printf("%-9s %6u %16.0f %14.0f\n", res[i].mode, res[i].group,
		    res[i].median_ns, res[i].per_sec);
	return 0;
}
