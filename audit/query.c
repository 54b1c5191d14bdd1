#include "audit/query.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int
audit_parse_time(const char *s, uint64_t *ns)
{
	struct tm tm = { 0 };
	unsigned long long secs;
	unsigned frac = 0, digits = 0;
	const char *p;
	char *end;
	time_t t;

	if (s[0] == '@') {
		secs = strtoull(s + 1, &end, 10);
		if (end == s + 1 || *end != '\0')
			return -1;
		*ns = secs * 1000000000ull;
		return 0;
	}
	p = strptime(s, "%Y-%m-%d", &tm);
	if (p == NULL)
		return -1;
	if (*p == 'T' || *p == ' ') {
		p = strptime(p + 1, "%H:%M", &tm);
		if (p != NULL && *p == ':')
			p = strptime(p + 1, "%S", &tm);
		if (p != NULL && *p == '.')
			for (p++; *p >= '0' && *p <= '9'; p++, digits++)
				if (digits < 9)
					frac = frac * 10 + (unsigned)(*p - '0');
	}
	if (p != NULL && *p == 'Z')
		p++;
	if (p == NULL || *p != '\0')
		return -1;
	for (; digits < 9; digits++)
		frac *= 10;
	t = timegm(&tm);
	if (t < 0)
		return -1;
	*ns = (uint64_t)t * 1000000000ull + frac;
	return 0;
}

int
audit_filter_check(const struct cg_audit_filter *f, struct cg_error *err)
{
	if (f->decision != NULL && strcmp(f->decision, "allow") != 0 &&
	    strcmp(f->decision, "deny") != 0 && strcmp(f->decision, "error") != 0)
		return cg_error_set(err, "--decision: expected allow, deny or error");
	return 0;
}

static int
field_is(json_t *rec, const char *key, const char *want)
{
	const char *s = json_string_value(json_object_get(rec, key));

	return s != NULL && strcmp(s, want) == 0;
}

int
audit_filter_match(const struct cg_audit_filter *f, json_t *rec)
{
	const char *channel, *t;
	uint64_t ns;

	if (f->client != NULL && !field_is(rec, "client", f->client))
		return 0;
	if (f->decision != NULL && !field_is(rec, "decision", f->decision))
		return 0;
	if (f->channel != NULL) {
		channel = json_string_value(json_object_get(rec, "channel"));
		if (channel == NULL || fnmatch(f->channel, channel, 0) != 0)
			return 0;
	}
	if (f->has_since || f->has_until) {
		t = json_string_value(json_object_get(rec, "t"));
		if (t == NULL || audit_parse_time(t, &ns) != 0)
			return 0;
		if ((f->has_since && ns < f->since_ns) ||
		    (f->has_until && ns >= f->until_ns))
			return 0;
	}
	return 1;
}

static uint64_t
row_hash(const char *client, const char *channel)
{
	uint64_t h = 14695981039346656037u;    /* FNV-1a over client \0 channel */

	for (const char *p = client;; p++) {
		h = (h ^ (unsigned char)*p) * 1099511628211u;
		if (*p == '\0')
			break;
	}
	for (const char *p = channel; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211u;
	return h;
}

/* The index slot of (client, channel): its row's, or the empty one where
 * it would go. */
static size_t *
row_slot(struct cg_audit_stats *s, const char *client, const char *channel)
{
	size_t mask = s->index_cap - 1, i = (size_t)row_hash(client, channel) & mask;

	for (;; i = (i + 1) & mask) {
		const struct cg_audit_stats_row *r;

		if (s->index[i] == 0)
			return &s->index[i];
		r = &s->rows[s->index[i] - 1];
		if (strcmp(r->client, client) == 0 && strcmp(r->channel, channel) == 0)
			return &s->index[i];
	}
}

static int
index_grow(struct cg_audit_stats *s)
{
	size_t cap = s->index_cap ? s->index_cap * 2 : 64;
	size_t *old = s->index;

	s->index = calloc(cap, sizeof(*s->index));
	if (s->index == NULL) {
		s->index = old;
		return -1;
	}
	s->index_cap = cap;
	free(old);
	for (size_t i = 0; i < s->nrows; i++)
		*row_slot(s, s->rows[i].client, s->rows[i].channel) = i + 1;
	return 0;
}

/* A log of many distinct channels (a client can make them up, and each
 * denial is a record) is counted in linear time. */
static struct cg_audit_stats_row *
find_row(struct cg_audit_stats *s, const char *client, const char *channel)
{
	struct cg_audit_stats_row *r;
	size_t *slot;

	if ((s->nrows + 1) * 2 > s->index_cap && index_grow(s) != 0)
		return NULL;
	slot = row_slot(s, client, channel);
	if (*slot != 0)
		return &s->rows[*slot - 1];
	if (s->nrows == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		r = realloc(s->rows, cap * sizeof(*r));
		if (r == NULL)
			return NULL;
		s->rows = r;
		s->cap = cap;
	}
	r = &s->rows[s->nrows];
	memset(r, 0, sizeof(*r));
	r->client = strdup(client);
	r->channel = strdup(channel);
	if (r->client == NULL || r->channel == NULL) {
		free(r->client);
		free(r->channel);
		return NULL;
	}
	*slot = ++s->nrows;
	return r;
}

static int
count_reason(struct cg_audit_stats_row *r, const char *reason)
{
	struct cg_audit_reason_count *rc;
	size_t i;

	/* The gateway has a score of reasons; a log written by someone else
	 * may have a new one on every line. Past the bound they are counted
	 * together, so a record costs at most that many comparisons. */
	for (;;) {
		for (i = 0; i < r->nreasons; i++)
			if (strcmp(r->reasons[i].reason, reason) == 0) {
				r->reasons[i].count++;
				return 0;
			}
		if (r->nreasons < AUDIT_STATS_REASONS_MAX - 1 ||
		    strcmp(reason, AUDIT_STATS_OTHER_REASONS) == 0)
			break;
		reason = AUDIT_STATS_OTHER_REASONS;
	}
	rc = realloc(r->reasons, (r->nreasons + 1) * sizeof(*rc));
	if (rc == NULL)
		return -1;
	r->reasons = rc;
	rc[r->nreasons].reason = strdup(reason);
	if (rc[r->nreasons].reason == NULL)
		return -1;
	rc[r->nreasons++].count = 1;
	return 0;
}

static int
add_latency(struct cg_audit_stats_row *r, double us)
{
	double *p;

	if (r->nlat == r->lat_cap) {
		size_t cap = r->lat_cap ? r->lat_cap * 2 : 64;
		p = realloc(r->lat_us, cap * sizeof(*p));
		if (p == NULL)
			return -1;
		r->lat_us = p;
		r->lat_cap = cap;
	}
	r->lat_us[r->nlat++] = us;
	return 0;
}

int
audit_stats_add(struct cg_audit_stats *s, json_t *rec)
{
	const char *client, *channel, *decision, *reason, *t;
	struct cg_audit_stats_row *r;
	json_t *us;
	uint64_t ns;

	if (!field_is(rec, "ev", "decision"))
		return 0;
	client = json_string_value(json_object_get(rec, "client"));
	channel = json_string_value(json_object_get(rec, "channel"));
	decision = json_string_value(json_object_get(rec, "decision"));
	reason = json_string_value(json_object_get(rec, "reason"));
	r = find_row(s, client ? client : "-", channel ? channel : "-");
	if (r == NULL)
		return -1;
	if (decision != NULL && strcmp(decision, "allow") == 0)
		r->allowed++;
	else if (decision != NULL && strcmp(decision, "deny") == 0) {
		r->denied++;
		if (count_reason(r, reason ? reason : "-") != 0)
			return -1;
	} else
		r->errors++;
	us = json_object_get(rec, "us");
	if (json_is_number(us) && add_latency(r, json_number_value(us)) != 0)
		return -1;
	t = json_string_value(json_object_get(rec, "t"));
	if (t != NULL && audit_parse_time(t, &ns) == 0) {
		if (s->decisions == 0 || ns < s->first_ns)
			s->first_ns = ns;
		if (ns > s->last_ns)
			s->last_ns = ns;
	}
	s->decisions++;
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int
cmp_row(const void *a, const void *b)
{
	const struct cg_audit_stats_row *x = a, *y = b;
	int c = strcmp(x->client, y->client);

	return c != 0 ? c : strcmp(x->channel, y->channel);
}

/* Nearest-rank percentile of sorted samples. */
static double
percentile(const double *v, size_t n, unsigned pct)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (n * pct + 99) / 100;
	return v[rank == 0 ? 0 : rank - 1];
}

void
audit_stats_finish(struct cg_audit_stats *s)
{
	struct cg_audit_stats_row *r;
	size_t i;

	/* the rows move: the index is no longer needed */
	free(s->index);
	s->index = NULL;
	s->index_cap = 0;
	qsort(s->rows, s->nrows, sizeof(*s->rows), cmp_row);
	for (i = 0; i < s->nrows; i++) {
		r = &s->rows[i];
		qsort(r->lat_us, r->nlat, sizeof(double), cmp_double);
		r->p50 = percentile(r->lat_us, r->nlat, 50);
		r->p90 = percentile(r->lat_us, r->nlat, 90);
		r->p99 = percentile(r->lat_us, r->nlat, 99);
		r->max = r->nlat ? r->lat_us[r->nlat - 1] : 0;
	}
}

void
audit_stats_free(struct cg_audit_stats *s)
{
	size_t i, j;

	for (i = 0; i < s->nrows; i++) {
		free(s->rows[i].client);
		free(s->rows[i].channel);
		for (j = 0; j < s->rows[i].nreasons; j++)
			free(s->rows[i].reasons[j].reason);
		free(s->rows[i].reasons);
		free(s->rows[i].lat_us);
	}
	free(s->rows);
	free(s->index);
	memset(s, 0, sizeof(*s));
}
