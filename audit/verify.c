/*
 * The audit log verifier: a state machine fed one line at a time, so that
 * `audit verify` (whole files) and `audit follow` (a growing file) share it.
 *
 * What it accepts, and nothing else (docs/AUDIT.md argues each step):
 *  - the first record is a segment header with n = 0 and an all-zero prev;
 *  - every record's n is one more than the last, and its prev is the
 *    BLAKE2b hash of the line before it (across files, too);
 *  - every segment header is signed by the long-term key given to verify;
 *    it commits to the head of the segment's epoch-key chain;
 *  - epochs are sealed in order 0, 1, 2, ... with no gap; each seal's public
 *    key must hash, with its "next" link, to the commitment the previous
 *    seal (or the header) handed on, and the seal must be signed by that key;
 *  - no epoch holds more records than the header allows between seals;
 *  - after a segment's final seal only a new segment header may follow.
 * A log that passes all of that but whose last segment (or an earlier one)
 * has no final seal is "unclean": intact as far as it goes, maybe cut short.
 */
#include "audit/internal.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cg_audit_verifier {
	int have_pk;
	unsigned char pk[AUDIT_PUBKEY_LEN];
	char file[256];
	uint64_t line;               /* line number in the current file */
	int bad;
	struct cg_audit_verify_result res;

	int started;
	uint64_t next_n;
	unsigned char prev[AUDIT_DIGEST_LEN];   /* hash of the last line */
	int torn;                    /* saw a line with no newline */
	char torn_file[256];
	uint64_t torn_line;

	/* A prev mismatch is blamed on one of two lines; the next line decides
	 * which (see resolve_suspect). */
	int suspect;
	char suspect_file[256];
	uint64_t suspect_line;
	char before_file[256];       /* the line before the suspect */
	uint64_t before_line;
	unsigned char suspect_hash[AUDIT_DIGEST_LEN]; /* hash of the suspect */

	int in_segment;
	int closed;                  /* the segment's final seal was seen */
	uint64_t batch;
	uint64_t epoch_max;          /* records an epoch may hold */
	uint64_t epoch;
	uint64_t epoch_records;
	unsigned char expect[AUDIT_DIGEST_LEN]; /* commitment for this epoch */

	int unclean;                 /* an earlier segment ended without seal */
	char unclean_file[256];
	uint64_t unclean_line;
	char last_file[256];         /* where the previous line was */
	uint64_t last_line;
};

struct cg_audit_verifier *
audit_verifier_new(const unsigned char *pk)
{
	struct cg_audit_verifier *v = calloc(1, sizeof(*v));

	if (v == NULL || sodium_init() < 0) {
		free(v);
		return NULL;
	}
	if (pk != NULL) {
		v->have_pk = 1;
		memcpy(v->pk, pk, AUDIT_PUBKEY_LEN);
	}
	snprintf(v->file, sizeof(v->file), "-");
	return v;
}

void
audit_verifier_free(struct cg_audit_verifier *v)
{
	free(v);
}

void
audit_verifier_file(struct cg_audit_verifier *v, const char *name)
{
	snprintf(v->file, sizeof(v->file), "%s", name);
	v->line = 0;
}

int
audit_verifier_closed(const struct cg_audit_verifier *v)
{
	return v->in_segment && v->closed && !v->bad;
}

static int
fail_at(struct cg_audit_verifier *v, const char *file, uint64_t line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
fail_at(struct cg_audit_verifier *v, const char *file, uint64_t line,
    const char *fmt, ...)
{
	va_list ap;

	if (v->bad)
		return -1;
	v->bad = 1;
	v->res.verdict = CG_AUDIT_BAD;
	snprintf(v->res.file, sizeof(v->res.file), "%s", file);
	v->res.line = line;
	va_start(ap, fmt);
	vsnprintf(v->res.msg, sizeof(v->res.msg), fmt, ap);
	va_end(ap);
	return -1;
}

#define FAIL(v, ...) fail_at((v), (v)->file, (v)->line, __VA_ARGS__)

static int
get_hex(json_t *rec, const char *key, unsigned char *out, size_t len)
{
	const char *s = json_string_value(json_object_get(rec, key));

	if (s == NULL || strlen(s) != 2 * len)
		return -1;
	return sodium_hex2bin(out, len, s, 2 * len, NULL, NULL, NULL);
}

static int
get_u64(json_t *rec, const char *key, uint64_t *out)
{
	json_t *j = json_object_get(rec, key);

	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return -1;
	*out = (uint64_t)json_integer_value(j);
	return 0;
}

/* Checks the Ed25519 signature that ends a signed line. */
static int
check_sig(const char *line, size_t len, const unsigned char *pk)
{
	unsigned char sig[AUDIT_SIG_LEN];
	size_t body;

	if (len < AUDIT_SIG_TAIL_LEN || line[len - 1] != '}')
		return -1;
	body = len - AUDIT_SIG_TAIL_LEN;
	if (memcmp(line + body, AUDIT_SIG_FIELD, sizeof(AUDIT_SIG_FIELD) - 1) != 0 ||
	    sodium_hex2bin(sig, sizeof(sig), line + body + sizeof(AUDIT_SIG_FIELD) - 1,
	    2 * AUDIT_SIG_LEN, NULL, NULL, NULL) != 0)
		return -1;
	return crypto_sign_verify_detached(sig, (const unsigned char *)line, body,
	    pk);
}

static int
on_header(struct cg_audit_verifier *v, json_t *rec, const char *line, size_t len)
{
	unsigned char key[AUDIT_PUBKEY_LEN];
	char hex[2 * AUDIT_PUBKEY_LEN + 1];

	if (v->in_segment && !v->closed && !v->unclean) {
		v->unclean = 1;
		snprintf(v->unclean_file, sizeof(v->unclean_file), "%s", v->last_file);
		v->unclean_line = v->last_line;
	}
	/* The run that wrote this header cut off a torn record: bytes lost. */
	if (json_integer_value(json_object_get(rec, "dropped")) > 0 && !v->unclean) {
		v->unclean = 1;
		snprintf(v->unclean_file, sizeof(v->unclean_file), "%s", v->file);
		v->unclean_line = v->line;
	}
	if (json_object_get(rec, "key") == NULL)
		return FAIL(v, "the log is unsealed: its segment header has no "
		    "signing key (written without a key)");
	if (get_hex(rec, "key", key, sizeof(key)) != 0 ||
	    get_u64(rec, "batch", &v->batch) != 0 || v->batch == 0 ||
	    v->batch > 65536 || get_hex(rec, "commit", v->expect, AUDIT_DIGEST_LEN) != 0 ||
	    get_u64(rec, "epoch_max", &v->epoch_max) != 0 || v->epoch_max == 0)
		return FAIL(v, "malformed segment header");
	if (v->have_pk && sodium_memcmp(key, v->pk, sizeof(key)) != 0) {
		sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
		return FAIL(v, "segment header is signed by another key (%.16s...), "
		    "not the one given", hex);
	}
	if (check_sig(line, len, key) != 0)
		return FAIL(v, "segment header signature does not verify");
	v->in_segment = 1;
	v->closed = 0;
	v->epoch = 0;
	v->epoch_records = 0;
	v->res.segments++;
	snprintf(v->res.sealed_file, sizeof(v->res.sealed_file), "%s", v->file);
	v->res.sealed_line = v->line;
	return 0;
}

static int
on_seal(struct cg_audit_verifier *v, json_t *rec, const char *line, size_t len)
{
	unsigned char pk[AUDIT_PUBKEY_LEN], next[AUDIT_DIGEST_LEN];
	unsigned char c[AUDIT_DIGEST_LEN];
	static const unsigned char zero[AUDIT_DIGEST_LEN];
	uint64_t epoch, records;
	int last;

	if (!v->in_segment || v->closed)
		return FAIL(v, "seal outside a segment");
	if (get_u64(rec, "epoch", &epoch) != 0 || get_u64(rec, "records", &records) != 0 ||
	    get_hex(rec, "pk", pk, sizeof(pk)) != 0 ||
	    get_hex(rec, "next", next, sizeof(next)) != 0 ||
	    !json_is_boolean(json_object_get(rec, "final")))
		return FAIL(v, "malformed seal");
	if (epoch != v->epoch)
		return FAIL(v, "seal of epoch %llu where epoch %llu was due "
		    "(epochs missing or reordered)", (unsigned long long)epoch,
		    (unsigned long long)v->epoch);
	if (records != v->epoch_records)
		return FAIL(v, "seal of epoch %llu counts %llu records, the log "
		    "holds %llu (records inserted or removed)",
		    (unsigned long long)epoch, (unsigned long long)records,
		    (unsigned long long)v->epoch_records);
	last = epoch % v->batch == v->batch - 1;
	audit_commit_link(pk, last ? zero : next, c);
	if (sodium_memcmp(c, v->expect, sizeof(c)) != 0)
		return FAIL(v, "seal of epoch %llu is made with a key that was "
		    "not committed for that epoch (re-sealed?)",
		    (unsigned long long)epoch);
	if (check_sig(line, len, pk) != 0)
		return FAIL(v, "seal of epoch %llu: signature does not verify "
		    "(the seal or the records before it were altered)",
		    (unsigned long long)epoch);
	memcpy(v->expect, next, sizeof(next));
	v->epoch++;
	v->epoch_records = 0;
	v->res.seals++;
	v->closed = json_is_true(json_object_get(rec, "final"));
	snprintf(v->res.sealed_file, sizeof(v->res.sealed_file), "%s", v->file);
	v->res.sealed_line = v->line;
	return 0;
}

static int
on_record(struct cg_audit_verifier *v)
{
	if (!v->in_segment)
		return FAIL(v, "record before any segment header");
	if (v->closed)
		return FAIL(v, "record after the segment's clean-shutdown seal "
		    "(appended later?)");
	if (v->epoch_records >= v->epoch_max)
		return FAIL(v, "epoch %llu holds more than %llu records without "
		    "a seal (records inserted or seals removed)", (unsigned long long)v->epoch,
		    (unsigned long long)v->epoch_max);
	v->epoch_records++;
	return 0;
}

/*
 * The line after a prev mismatch decides which line to blame: if it chains
 * to the suspect line, the suspect is consistent with its successor and the
 * line before it was altered; otherwise the suspect itself was.
 */
static int
resolve_suspect(struct cg_audit_verifier *v, const unsigned char prev[AUDIT_DIGEST_LEN])
{
	if (sodium_memcmp(prev, v->suspect_hash, AUDIT_DIGEST_LEN) == 0)
		return fail_at(v, v->before_file, v->before_line,
		    "record altered: its hash does not match the next record's "
		    "prev (or records were removed after it)");
	return fail_at(v, v->suspect_file, v->suspect_line,
	    "record altered: its prev does not match the hash of the record "
	    "before it");
}

/* The n/prev checks that tie a line to the one before it. */
static int
check_chain(struct cg_audit_verifier *v, uint64_t n,
    const unsigned char prev[AUDIT_DIGEST_LEN], const char *ev)
{
	static const unsigned char zero[AUDIT_DIGEST_LEN];

	if (!v->started) {
		if (n != 0 || sodium_memcmp(prev, zero, sizeof(zero)) != 0 ||
		    strcmp(ev, "open") != 0)
			return FAIL(v, "the log does not start at its first record "
			    "(n=%llu, \"%s\"): earlier records or files are missing",
			    (unsigned long long)n, ev);
		return 0;
	}
	if (v->suspect)
		return resolve_suspect(v, prev);
	if (n != v->next_n)
		return FAIL(v, "record n=%llu where n=%llu was due (records %s)",
		    (unsigned long long)n, (unsigned long long)v->next_n,
		    n > v->next_n ? "removed before it" : "reordered or inserted");
	if (sodium_memcmp(prev, v->prev, AUDIT_DIGEST_LEN) != 0) {
		v->suspect = 1;
		snprintf(v->suspect_file, sizeof(v->suspect_file), "%s", v->file);
		v->suspect_line = v->line;
		snprintf(v->before_file, sizeof(v->before_file), "%s", v->last_file);
		v->before_line = v->last_line;
	}
	return 0;
}

static int
dispatch(struct cg_audit_verifier *v, json_t *rec, const char *ev,
    const char *line, size_t len)
{
	if (strcmp(ev, "open") == 0)
		return on_header(v, rec, line, len);
	if (strcmp(ev, "seal") == 0)
		return on_seal(v, rec, line, len);
	return on_record(v);
}

int
audit_verifier_line(struct cg_audit_verifier *v, const char *line, size_t len,
    int complete, json_t **out)
{
	unsigned char prev[AUDIT_DIGEST_LEN];
	json_error_t jerr;
	const char *ev;
	json_t *rec;
	uint64_t n;

	v->line++;
	if (v->bad)
		return -1;
	if (v->torn)
		return fail_at(v, v->torn_file, v->torn_line, "incomplete record "
		    "in the middle of the log");
	v->res.records++;
	if (!complete) {
		v->torn = 1;
		snprintf(v->torn_file, sizeof(v->torn_file), "%s", v->file);
		v->torn_line = v->line;
		return 0;
	}
	rec = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (rec == NULL || !json_is_object(rec)) {
		json_decref(rec);
		return FAIL(v, "not a JSON record: %s", jerr.text);
	}
	ev = json_string_value(json_object_get(rec, "ev"));
	if (get_u64(rec, "n", &n) != 0 || ev == NULL ||
	    get_hex(rec, "prev", prev, sizeof(prev)) != 0) {
		json_decref(rec);
		return FAIL(v, "record lacks n, ev or prev");
	}
	if (check_chain(v, n, prev, ev) != 0 || dispatch(v, rec, ev, line, len) != 0) {
		json_decref(rec);
		return -1;
	}
	if (v->suspect)
		audit_line_hash(line, len, v->suspect_hash);
	audit_line_hash(line, len, v->prev);
	v->next_n = n + 1;
	v->started = 1;
	snprintf(v->last_file, sizeof(v->last_file), "%s", v->file);
	v->last_line = v->line;
	if (out != NULL)
		*out = rec;
	else
		json_decref(rec);
	return 0;
}

static enum cg_audit_verdict
unclean(struct cg_audit_verify_result *res, const char *file, uint64_t line,
    const char *what)
{
	res->verdict = CG_AUDIT_UNCLEAN;
	snprintf(res->file, sizeof(res->file), "%s", file);
	res->line = line;
	snprintf(res->msg, sizeof(res->msg), "%s; intact and sealed up to %s:%llu",
	    what, res->sealed_file, (unsigned long long)res->sealed_line);
	return CG_AUDIT_UNCLEAN;
}

enum cg_audit_verdict
audit_verifier_result(const struct cg_audit_verifier *v,
    struct cg_audit_verify_result *res)
{
	*res = v->res;
	if (v->bad)
		return res->verdict;
	if (v->suspect) {
		struct cg_audit_verifier copy = *v;
		fail_at(&copy, v->suspect_file, v->suspect_line,
		    "record does not chain to the one before it (that one was "
		    "altered, or records between them removed)");
		*res = copy.res;
		return CG_AUDIT_BAD;
	}
	res->verdict = CG_AUDIT_BAD;
	if (!v->started && !v->torn) {
		snprintf(res->msg, sizeof(res->msg), "the log is empty");
		return CG_AUDIT_BAD;
	}
	if (!v->started) {
		snprintf(res->file, sizeof(res->file), "%s", v->torn_file);
		res->line = v->torn_line;
		snprintf(res->msg, sizeof(res->msg), "no complete record");
		return CG_AUDIT_BAD;
	}
	if (v->torn)
		return unclean(res, v->torn_file, v->torn_line, "the log ends with "
		    "an incomplete record (the writer stopped mid-write)");
	if (!v->closed)
		return unclean(res, v->last_file, v->last_line, "the log ended "
		    "uncleanly: no clean-shutdown seal (crash, still being "
		    "written, or truncated)");
	if (v->unclean)
		return unclean(res, v->unclean_file, v->unclean_line, "a segment "
		    "ended uncleanly here (crash or truncation) before the next "
		    "run resumed the log");
	if (!v->have_pk) {
		snprintf(res->msg, sizeof(res->msg), "no public key: segment "
		    "headers were not checked");
		return CG_AUDIT_BAD;
	}
	res->verdict = CG_AUDIT_INTACT;
	snprintf(res->file, sizeof(res->file), "%s", v->last_file);
	res->line = v->last_line;
	snprintf(res->msg, sizeof(res->msg), "intact: %llu records, %llu "
	    "segments, %llu seals", (unsigned long long)res->records,
	    (unsigned long long)res->segments, (unsigned long long)res->seals);
	return CG_AUDIT_INTACT;
}

/* Feeds one file's lines; 0, or -1 once bad or on an I/O error. */
static int
feed_file(struct cg_audit_verifier *v, const char *path)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f = fopen(path, "re");
	int rc = 0;

	audit_verifier_file(v, path);
	if (f == NULL)
		return fail_at(v, path, 0, "cannot open: %s", strerror(errno));
	while ((n = getline(&line, &cap, f)) > 0) {
		int complete = line[n - 1] == '\n';
		if ((size_t)n > AUDIT_LINE_MAX) {
			rc = fail_at(v, path, v->line + 1, "line too long");
			break;
		}
		if (audit_verifier_line(v, line, (size_t)n - (size_t)complete,
		    complete, NULL) != 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(f))
		rc = fail_at(v, path, v->line, "read error");
	free(line);
	fclose(f);
	return rc;
}

enum cg_audit_verdict
audit_verify_files(const char *const *paths, size_t n,
    const unsigned char pk[AUDIT_PUBKEY_LEN], struct cg_audit_verify_result *res)
{
	struct cg_audit_verifier *v = audit_verifier_new(pk);
	enum cg_audit_verdict verdict;
	size_t i;

	memset(res, 0, sizeof(*res));
	if (v == NULL) {
		res->verdict = CG_AUDIT_BAD;
		snprintf(res->msg, sizeof(res->msg), "out of memory");
		return CG_AUDIT_BAD;
	}
	for (i = 0; i < n; i++)
		if (feed_file(v, paths[i]) != 0)
			break;
	verdict = audit_verifier_result(v, res);
	audit_verifier_free(v);
	return verdict;
}
