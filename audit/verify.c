/*
 * The audit log verifier: a state machine fed one line at a time, so that
 * `audit verify` (whole files) and `audit follow` (a growing file) share it.
 *
 * What it accepts, and nothing else (docs/AUDIT.md argues each step):
 *  - the first record is an "open" record with n = 0, an all-zero prev and
 *    epoch 0, signed by the key in BASENAME.pub;
 *  - every record's n is one more than the last, and its prev is the
 *    BLAKE2b hash of the line before it (across files, too);
 *  - epochs are sealed in order 0, 1, 2, ... with no gap; the seal of
 *    epoch e is signed by epoch e's key, known before the epoch began (from
 *    BASENAME.pub or the previous seal), and names epoch e+1's key;
 *  - every later "open" record (a new run) is signed by the current
 *    epoch's key and names its epoch;
 *  - no epoch holds more records than the signed limit between seals;
 *  - after a final seal only an "open" record may follow.
 * A log that passes all of that but whose last run (or an earlier one) has
 * no final seal is "unclean": intact as far as it goes, maybe cut short.
 */
#include "audit/internal.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cg_audit_verifier {
	int have_pk;
	int trust_first_key;         /* without pk, a pass may still be given */
	unsigned char pk[AUDIT_PUBKEY_LEN];
	char file[256];
	uint64_t line;               /* line number in the current file */
	int bad;
	struct cg_audit_verify_result res;

	int started;
	uint64_t next_n;
	unsigned char prev[AUDIT_DIGEST_LEN];   /* hash of the last line */
	enum audit_hash hash;        /* the log's, from its first "open" */
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

	int in_segment;              /* an "open" record was seen */
	int closed;                  /* the run's final seal was seen */
	uint64_t epoch;
	unsigned char epoch_pk[AUDIT_PUBKEY_LEN]; /* the current epoch's key */
	uint64_t limit;              /* records this epoch may hold */
	uint64_t next_limit;         /* the last "open" record's epoch_max */
	uint64_t epoch_records;      /* since the last seal */
	uint64_t run_records;        /* since the last seal or "open" */

	int unclean;                 /* an earlier run ended without final seal */
	char unclean_file[256];
	uint64_t unclean_line;
	char unclean_signed_file[256]; /* that run's last signed line */
	uint64_t unclean_signed_line;
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
audit_verifier_trust_first_key(struct cg_audit_verifier *v)
{
	v->trust_first_key = 1;
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

/* Lower-case hex only: the writer never writes anything else, and an
 * upper-case digit would decode to the same bytes, so a log could be
 * changed (the last signature's case, say) and still verify. */
static int
hex_decode(const char *s, size_t n, unsigned char *out)
{
	size_t i;

	for (i = 0; i < 2 * n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return -1;
	return sodium_hex2bin(out, n, s, 2 * n, NULL, NULL, NULL);
}

static int
get_hex(json_t *rec, const char *key, unsigned char *out, size_t len)
{
	const char *s = json_string_value(json_object_get(rec, key));

	if (s == NULL || strlen(s) != 2 * len)
		return -1;
	return hex_decode(s, len, out);
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
	    line[len - 2] != '"' ||
	    hex_decode(line + body + sizeof(AUDIT_SIG_FIELD) - 1, AUDIT_SIG_LEN,
	    sig) != 0)
		return -1;
	return crypto_sign_verify_detached(sig, (const unsigned char *)line, body,
	    pk);
}

static void
mark_unclean(struct cg_audit_verifier *v, const char *file, uint64_t line)
{
	if (v->unclean)
		return;
	v->unclean = 1;
	snprintf(v->unclean_file, sizeof(v->unclean_file), "%s", file);
	v->unclean_line = line;
	snprintf(v->unclean_signed_file, sizeof(v->unclean_signed_file), "%s",
	    v->res.sealed_file);
	v->unclean_signed_line = v->res.sealed_line;
}

/* Whose key signs this open record: for the log's first, BASENAME.pub's
 * (or, following without a key, the key the record names); later, the
 * current epoch's. */
static int
open_key(struct cg_audit_verifier *v, const unsigned char pk[AUDIT_PUBKEY_LEN])
{
	char hex[2 * AUDIT_PUBKEY_LEN + 1];

	if (v->started) {
		if (sodium_memcmp(pk, v->epoch_pk, AUDIT_PUBKEY_LEN) != 0)
			return FAIL(v, "\"open\" record names a key that is not "
			    "epoch %llu's", (unsigned long long)v->epoch);
		return 0;
	}
	if (v->have_pk && sodium_memcmp(pk, v->pk, AUDIT_PUBKEY_LEN) != 0) {
		sodium_bin2hex(hex, sizeof(hex), pk, AUDIT_PUBKEY_LEN);
		return FAIL(v, "the log is sealed with another key (%.16s...), "
		    "not the one given", hex);
	}
	memcpy(v->epoch_pk, pk, AUDIT_PUBKEY_LEN);
	return 0;
}

static int
on_open(struct cg_audit_verifier *v, json_t *rec, const char *line, size_t len)
{
	unsigned char pk[AUDIT_PUBKEY_LEN];
	uint64_t epoch, max;
	json_int_t version = json_integer_value(json_object_get(rec, "version"));
	enum audit_hash h = audit_hash_of_version(version);

	/* The log's hash is the first run's; a run that continues it keeps
	 * it, so another "version" here means the record was altered. */
	if (h == 0)
		return FAIL(v, "\"open\" record of unknown version %lld",
		    (long long)version);
	if (v->hash != 0 && h != v->hash)
		return FAIL(v, "\"open\" record of version %lld in a log of "
		    "version %d", (long long)version, (int)v->hash);
	v->hash = h;
	if (v->in_segment && !v->closed)
		mark_unclean(v, v->last_file, v->last_line);
	/* The run that wrote this cut off a torn record: bytes were lost. */
	if (json_integer_value(json_object_get(rec, "dropped")) > 0)
		mark_unclean(v, v->file, v->line);
	if (json_object_get(rec, "pk") == NULL)
		return FAIL(v, "the log is unsealed: this run wrote it without a "
		    "signing key");
	if (get_hex(rec, "pk", pk, sizeof(pk)) != 0 ||
	    get_u64(rec, "epoch", &epoch) != 0 ||
	    get_u64(rec, "epoch_max", &max) != 0 || max == 0)
		return FAIL(v, "malformed \"open\" record");
	if (open_key(v, pk) != 0)
		return -1;
	if (epoch != v->epoch)
		return FAIL(v, "\"open\" record in epoch %llu where epoch %llu "
		    "was due", (unsigned long long)epoch, (unsigned long long)v->epoch);
	if (check_sig(line, len, v->epoch_pk) != 0)
		return FAIL(v, "\"open\" record: signature does not verify with "
		    "epoch %llu's key", (unsigned long long)epoch);
	v->in_segment = 1;
	v->closed = 0;
	v->run_records = 0;
	v->next_limit = max;
	if (max > v->limit)
		v->limit = max;
	v->res.segments++;
	snprintf(v->res.sealed_file, sizeof(v->res.sealed_file), "%s", v->file);
	v->res.sealed_line = v->line;
	return 0;
}

static int
on_seal(struct cg_audit_verifier *v, json_t *rec, const char *line, size_t len)
{
	unsigned char next[AUDIT_PUBKEY_LEN];
	uint64_t epoch, records;

	if (!v->in_segment || v->closed)
		return FAIL(v, "seal outside a run (no \"open\" record before it)");
	if (get_u64(rec, "epoch", &epoch) != 0 || get_u64(rec, "records", &records) != 0 ||
	    get_hex(rec, "next", next, sizeof(next)) != 0 ||
	    !json_is_boolean(json_object_get(rec, "final")))
		return FAIL(v, "malformed seal");
	if (epoch != v->epoch)
		return FAIL(v, "seal of epoch %llu where epoch %llu was due "
		    "(epochs missing or reordered)", (unsigned long long)epoch,
		    (unsigned long long)v->epoch);
	if (check_sig(line, len, v->epoch_pk) != 0)
		return FAIL(v, "seal of epoch %llu: signature does not verify with "
		    "epoch %llu's key (re-sealed with another key, or the records "
		    "before it altered)", (unsigned long long)epoch,
		    (unsigned long long)epoch);
	if (records != v->run_records)
		return FAIL(v, "seal of epoch %llu counts %llu records, the log "
		    "holds %llu", (unsigned long long)epoch,
		    (unsigned long long)records, (unsigned long long)v->run_records);
	memcpy(v->epoch_pk, next, sizeof(next));
	v->epoch++;
	v->epoch_records = v->run_records = 0;
	v->limit = v->next_limit;
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
		return FAIL(v, "record before any \"open\" record");
	if (v->closed)
		return FAIL(v, "record after the run's clean-shutdown seal "
		    "(appended later?)");
	if (v->epoch_records >= v->limit)
		return FAIL(v, "epoch %llu holds more than %llu records without "
		    "a seal (records inserted or seals removed)",
		    (unsigned long long)v->epoch, (unsigned long long)v->limit);
	v->epoch_records++;
	v->run_records++;
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
		return on_open(v, rec, line, len);
	if (strcmp(ev, "seal") == 0)
		return on_seal(v, rec, line, len);
	/* Only seals and open records are signed; a signed line of another
	 * kind is one whose "ev" was changed (a seal made to look like an
	 * ordinary record, to drop it without breaking the chain). */
	if (json_object_get(rec, "sig") != NULL)
		return FAIL(v, "a signed record of kind \"%s\": its kind was "
		    "altered", ev);
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
		audit_line_hash(v->hash, line, len, v->suspect_hash);
	audit_line_hash(v->hash, line, len, v->prev);
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
		snprintf(res->file, sizeof(res->file), "%s", v->file);
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
	if (v->unclean && (v->unclean_signed_line != v->unclean_line ||
	    strcmp(v->unclean_signed_file, v->unclean_file) != 0)) {
		/* The later seals cover those records as they stood when the
		 * log resumed; whoever could write the log while no writer held
		 * it could have changed them, so they are named, not vouched. */
		char what[sizeof(res->msg) / 2];
		snprintf(what, sizeof(what), "a run ended uncleanly here (crash "
		    "or truncation) before the next run resumed the log; it "
		    "never signed its records after %s:%llu", v->unclean_signed_file,
		    (unsigned long long)v->unclean_signed_line);
		return unclean(res, v->unclean_file, v->unclean_line, what);
	}
	if (v->unclean)
		return unclean(res, v->unclean_file, v->unclean_line, "a run "
		    "ended uncleanly here (crash or truncation), right after its "
		    "last seal, before the next run resumed the log");
	if (!v->have_pk && !v->trust_first_key) {
		snprintf(res->msg, sizeof(res->msg), "no public key: the first "
		    "epoch's key was taken on trust");
		return CG_AUDIT_BAD;
	}
	res->verdict = CG_AUDIT_INTACT;
	snprintf(res->file, sizeof(res->file), "%s", v->last_file);
	res->line = v->last_line;
	snprintf(res->msg, sizeof(res->msg), "intact: %llu records, %llu "
	    "runs, %llu seals%s", (unsigned long long)res->records,
	    (unsigned long long)res->segments, (unsigned long long)res->seals,
	    v->have_pk ? "" : " (the first epoch's key was taken from the log, "
	    "not checked against a public key)");
	return CG_AUDIT_INTACT;
}

/* Feeds one file's lines; 0, or -1 once bad or on an I/O error. */
static int
feed_file(struct cg_audit_verifier *v, const char *path)
{
	struct audit_buf line = { 0 };
	char why[64];
	int fd = audit_open_log(path, 1, why, sizeof(why));
	int complete, got, rc = 0;
	FILE *f;

	audit_verifier_file(v, path);
	if (fd < 0)
		return fail_at(v, path, 0, "cannot open: %s", why);
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return fail_at(v, path, 0, "cannot open: %s", strerror(errno));
	}
	while ((got = audit_read_line(f, &line, &complete)) > 0)
		if (audit_verifier_line(v, line.p, line.len, complete, NULL) != 0) {
			rc = -1;
			break;
		}
	if (got < 0)
		rc = fail_at(v, path, v->line + 1, ferror(f) ? "read error" :
		    "line longer than %u bytes", AUDIT_LINE_MAX);
	audit_buf_free(&line);
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
