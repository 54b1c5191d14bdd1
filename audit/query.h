/*
 * Reading audit records back for review (`capgate audit show|stats|follow`):
 * filters and per-client, per-channel statistics. Pure: records in, numbers
 * out; printing is the command's business.
 */
#ifndef CG_AUDIT_QUERY_H
#define CG_AUDIT_QUERY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct cg_audit_filter {
	const char *client;          /* exact client name, or NULL */
	const char *channel;         /* fnmatch(3) glob, or NULL */
	const char *decision;        /* "allow", "deny" or "error", or NULL */
	int has_since, has_until;
	uint64_t since_ns, until_ns; /* since <= t < until */
};

/* "2026-11-21", "2026-11-21T20:51", "2026-11-21T20:51:44[.123456][Z]"
 * (UTC; a space may replace the T) or "@UNIXSECONDS". 0 or -1. */
int audit_parse_time(const char *s, uint64_t *ns);

/* 1 if rec passes every filter that is set. Filters on client, channel or
 * decision only pass records that have that field. */
int audit_filter_match(const struct cg_audit_filter *f, json_t *rec);

/* Checks the decision name of --decision; 0 or -1. */
int audit_filter_check(const struct cg_audit_filter *f, struct cg_error *err);

struct cg_audit_reason_count {
	char *reason;
	uint64_t count;
};

#define AUDIT_STATS_REASONS_MAX 64
#define AUDIT_STATS_OTHER_REASONS "(other reasons)"

struct cg_audit_stats_row {
	char *client;
	char *channel;
	uint64_t allowed, denied, errors;
	struct cg_audit_reason_count *reasons;   /* denials by reason: at
	   most AUDIT_STATS_REASONS_MAX - 1 of them, then the rest together
	   under AUDIT_STATS_OTHER_REASONS */
	size_t nreasons;
	double *lat_us;                          /* latency samples */
	size_t nlat, lat_cap;
	double p50, p90, p99, max;               /* set by audit_stats_finish */
};

struct cg_audit_stats {
	struct cg_audit_stats_row *rows;
	size_t nrows, cap;
	size_t *index;      /* open addressing by (client, channel): row + 1 */
	size_t index_cap;   /* a power of two, at least twice nrows */
	uint64_t first_ns, last_ns;              /* time span of the decisions */
	uint64_t decisions;
};

/* Counts one record (non-decisions are ignored). 0 or -1 (no memory). */
int audit_stats_add(struct cg_audit_stats *s, json_t *rec);
/* Sorts rows by client, channel and computes percentiles. */
void audit_stats_finish(struct cg_audit_stats *s);
void audit_stats_free(struct cg_audit_stats *s);

#endif
