/*
 * Opening the audit log: continue the chain of an existing log (its last
 * records must chain; a torn last line from a crash is cut off and its
 * length recorded), bring the key file's ratchet to the log's current epoch
 * and write an "open" record signed with that epoch's key. A run that
 * follows a crash seals at once, so the crashed run's unsealed tail is
 * covered by a seal as soon as possible.
 */
#include "audit/writer_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

#define TAIL_WINDOW (AUDIT_LINE_MAX + 1u)
/* The tail check reads this much first, and TAIL_WINDOW only when these
 * bytes hold fewer than two complete lines or no open or seal record (a
 * run's start or a checkpoint, which say the log's epoch). Each run of the
 * writer begins with an open record, so a log that runs after runs append
 * to is checked on its last few records, not on a mebibyte of them. */
#define TAIL_FIRST_WINDOW (64u * 1024u)

struct tail {
	const char *resume;          /* "new", "clean" or "unclean" */
	uint64_t dropped;            /* bytes of a torn last line cut off */
	int has_epoch;               /* the tail says which epoch the log is in */
	uint64_t epoch;
	/* the key the anchor names for that epoch: a seal's "next", an open
	 * record's "pk" (has_pk = 0 if it names none) */
	int has_pk;
	unsigned char pk[AUDIT_PUBKEY_LEN];
	int anchored;                /* the window holds an open or seal record */
	uint64_t lines;              /* complete lines the window holds */
};

int
audit_sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, rc = -1;

	if (copy == NULL)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		rc = fsync(fd);
		close(fd);
	}
	free(copy);
	return rc;
}

/* errno of open_regular for something that is not a regular file */
#define EFTYPE_LOG EMEDIUMTYPE

/*
 * Opens a log file (flags plus O_CLOEXEC and O_NOFOLLOW, mode 0600 if it
 * is created) without blocking on a FIFO, and refuses anything but a
 * regular file: records written to a device or a pipe would be lost, and
 * a FIFO could block the gateway.
 */
static int
open_regular(const char *path, int flags)
{
	struct stat st;
	int fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY, 0600);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EFTYPE_LOG;
		goto fail;
	}
	if (fcntl(fd, F_SETFL, flags & O_APPEND) != 0)
		goto fail;
	return fd;
fail:
	{
		int e = errno;
		close(fd);
		errno = e;
	}
	return -1;
}

/* Reads the last min(size, max) bytes; *off is where they start. */
static int
read_window(int fd, uint64_t size, size_t max, char **out, size_t *len,
    uint64_t *off)
{
	size_t want = size > max ? max : (size_t)size;
	char *buf = malloc(want + 1);

	if (buf == NULL)
		return -1;
	*off = size - want;
	if (pread(fd, buf, want, (off_t)*off) != (ssize_t)want) {
		free(buf);
		return -1;
	}
	buf[want] = '\0';
	*out = buf;
	*len = want;
	return 0;
}

/* Parses one line's "n" and "prev"; 0 or -1. */
static int
line_fields(const char *line, size_t len, uint64_t *n,
    unsigned char prev[AUDIT_DIGEST_LEN], json_t **rec)
{
	json_error_t jerr;
	const char *hex;
	json_t *r = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);

	if (r == NULL)
		return -1;
	hex = json_string_value(json_object_get(r, "prev"));
	if (!json_is_integer(json_object_get(r, "n")) || hex == NULL ||
	    strlen(hex) != 2 * AUDIT_DIGEST_LEN ||
	    sodium_hex2bin(prev, AUDIT_DIGEST_LEN, hex, strlen(hex), NULL, NULL,
	    NULL) != 0) {
		json_decref(r);
		return -1;
	}
	*n = (uint64_t)json_integer_value(json_object_get(r, "n"));
	*rec = r;
	return 0;
}

#define PREV_KEY ",\"prev\":\""

/* Whether [p, e) starts with lit; *p moves past it if so. */
static bool
take(const char **p, const char *e, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(e - *p) < n || memcmp(*p, lit, n) != 0)
		return false;
	*p += n;
	return true;
}

/*
 * "n", "prev" and "ev" of a line in the writer's own layout,
 *   {"n":N,"t":"...","ev":"NAME", ... ,"prev":"HEX"}
 * without a JSON parse: the window may hold a mebibyte of records, and
 * jansson costs about a hundred instructions a byte. 0, or -1 for a line
 * in any other shape, which line_fields then parses. The chain itself is
 * checked the same way for both (n + 1, prev = hash of the line before).
 */
static int
quick_fields(const char *line, size_t len, uint64_t *n,
    unsigned char prev[AUDIT_DIGEST_LEN], const char **ev, size_t *ev_len)
{
	const char *p = line, *e = line + len, *hex;
	uint64_t v = 0;

	if (!take(&p, e, "{\"n\":") || p == e || *p < '0' || *p > '9' ||
	    (*p == '0' && p + 1 < e && p[1] >= '0' && p[1] <= '9'))
		return -1;
	for (; p < e && *p >= '0' && *p <= '9'; p++) {
		if (v > ((uint64_t)INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (!take(&p, e, ",\"t\":\""))
		return -1;
	while (p < e && *p != '"' && *p != '\\')
		p++;
	if (!take(&p, e, "\",\"ev\":\""))
		return -1;
	*ev = p;
	while (p < e && *p != '"' && *p != '\\')
		p++;
	if (p == e || *p != '"')
		return -1;
	*ev_len = (size_t)(p - *ev);
	/* prev ends the line (signed lines, open and seal records, are
	 * parsed: they are wanted as values anyway) */
	if (e[-1] != '}' || e[-2] != '"' ||
	    (e - 2) - (p + 1) < (ptrdiff_t)(sizeof(PREV_KEY) - 1 + 2 * AUDIT_DIGEST_LEN))
		return -1;
	hex = e - 2 - 2 * AUDIT_DIGEST_LEN;
	if (memcmp(hex - (sizeof(PREV_KEY) - 1), PREV_KEY, sizeof(PREV_KEY) - 1) != 0 ||
	    sodium_hex2bin(prev, AUDIT_DIGEST_LEN, hex, 2 * AUDIT_DIGEST_LEN,
	    NULL, NULL, NULL) != 0)
		return -1;
	*n = v;
	return 0;
}

/* The epoch the log is in after rec: a seal ends its epoch, an open record
 * names the one it continues. */
static void
tail_epoch(json_t *rec, struct tail *t)
{
	const char *ev = json_string_value(json_object_get(rec, "ev"));
	json_t *e = json_object_get(rec, "epoch");

	const char *key = NULL, *hex;
	size_t bin_len = 0;

	if (ev == NULL || !json_is_integer(e) || json_integer_value(e) < 0)
		return;
	if (strcmp(ev, "seal") == 0) {
		t->has_epoch = 1;
		t->epoch = (uint64_t)json_integer_value(e) + 1;
		key = "next";
	} else if (strcmp(ev, "open") == 0) {
		t->has_epoch = 1;
		t->epoch = (uint64_t)json_integer_value(e);
		key = "pk";
	}
	if (key == NULL)
		return;
	hex = json_string_value(json_object_get(rec, key));
	t->has_pk = hex != NULL && sodium_hex2bin(t->pk, sizeof(t->pk), hex,
	    strlen(hex), NULL, &bin_len, NULL) == 0 && bin_len == sizeof(t->pk);
}

/* The hash under which the last line of PATH.1 (the file rotation moved
 * aside) is `prev`, or 0 if there is no such file or neither fits. */
static enum audit_hash
hash_across_rotation(const struct cg_audit *a,
    const unsigned char prev[AUDIT_DIGEST_LEN])
{
	static const enum audit_hash cand[2] = { AUDIT_HASH_SHA256,
	    AUDIT_HASH_BLAKE2B };
	unsigned char h[AUDIT_DIGEST_LEN];
	enum audit_hash found = 0;
	size_t max = TAIL_FIRST_WINDOW;
	char path[4200], *buf, *start;
	struct stat st;
	uint64_t off;
	size_t len;
	int fd;

	snprintf(path, sizeof(path), "%s.1", a->path);
	fd = open_regular(path, O_RDONLY);
	if (fd < 0)
		return 0;
	/* the last line: in the last 64 KiB, unless it is longer */
	while (fstat(fd, &st) == 0 && st.st_size > 0 &&
	    read_window(fd, (uint64_t)st.st_size, max, &buf, &len, &off) == 0) {
		while (len > 0 && buf[len - 1] == '\n')
			len--;
		start = memrchr(buf, '\n', len);
		if (start == NULL && off != 0 && max == TAIL_FIRST_WINDOW) {
			free(buf);
			max = TAIL_WINDOW;
			continue;
		}
		start = start != NULL ? start + 1 : buf;
		for (int k = 0; k < 2 && found == 0; k++) {
			audit_line_hash(cand[k], start, (size_t)(buf + len - start), h);
			if (sodium_memcmp(h, prev, AUDIT_DIGEST_LEN) == 0)
				found = cand[k];
		}
		free(buf);
		break;
	}
	close(fd);
	return found;
}

/*
 * Checks that the complete lines in buf[0..len) chain one to the next and
 * takes the chain's state from the last one. This is not a verification
 * (audit verify does that with the public key); it stops the writer from
 * extending a tail that is already broken.
 */
static int
chain_window(struct cg_audit *a, const char *buf, size_t len, struct tail *t,
    struct cg_error *err)
{
	/* hash[h] is the last line's hash under each candidate hash h that
	 * the lines so far chain with (ok[h]): the log's own is the one left */
	unsigned char hash[2][AUDIT_DIGEST_LEN], prev[AUDIT_DIGEST_LEN];
	static const enum audit_hash cand[2] = { AUDIT_HASH_SHA256,
	    AUDIT_HASH_BLAKE2B };
	int ok[2] = { 1, 1 };
	const char *p = buf, *end = buf + len, *nl;
	json_t *rec = NULL;
	const char *ev = NULL;
	uint64_t n = 0, last_n = 0;
	int have = 0, k;

	for (; p < end; p = nl + 1) {
		const char *qev;
		size_t qev_len;

		nl = memchr(p, '\n', (size_t)(end - p));
		json_decref(rec);
		rec = NULL;
		/* Only an open or seal record (the version, the epoch) and the
		 * last line (how the run ended) are needed as values. */
		if (quick_fields(p, (size_t)(nl - p), &n, prev, &qev, &qev_len) == 0 &&
		    nl + 1 < end && !(qev_len == 4 && (memcmp(qev, "open", 4) == 0 ||
		    memcmp(qev, "seal", 4) == 0)))
			;
		else if (line_fields(p, (size_t)(nl - p), &n, prev, &rec) != 0)
			ok[0] = ok[1] = 0;
		for (k = 0; k < 2 && have; k++)
			if (ok[k] && (n != last_n + 1 ||
			    sodium_memcmp(prev, hash[k], AUDIT_DIGEST_LEN) != 0))
				ok[k] = 0;
		/* a run's "open" record names the log's hash */
		ev = rec ? json_string_value(json_object_get(rec, "ev")) : NULL;
		if (ev != NULL && (strcmp(ev, "open") == 0 || strcmp(ev, "seal") == 0))
			t->anchored = 1;
		t->lines++;
		if (ev != NULL && strcmp(ev, "open") == 0)
			for (k = 0; k < 2; k++)
				if (cand[k] != audit_hash_of_version(json_integer_value(
				    json_object_get(rec, "version"))))
					ok[k] = 0;
		if (!ok[0] && !ok[1]) {
			json_decref(rec);
			return cg_error_set(err, "%s: the log's tail does not chain "
			    "(near record %llu); run `capgate audit verify` and move "
			    "the log aside", a->path, (unsigned long long)n);
		}
		for (k = 0; k < 2; k++)
			if (ok[k])
				audit_line_hash(cand[k], p, (size_t)(nl - p), hash[k]);
		last_n = n;
		have = 1;
		tail_epoch(rec, t);
	}
	/* Both are left only by one line that is not an "open" record: the
	 * first record of a file begun by rotation. The file before it says. */
	if (ok[0] && ok[1] && !(ev != NULL && strcmp(ev, "open") == 0) &&
	    hash_across_rotation(a, prev) == AUDIT_HASH_BLAKE2B)
		ok[0] = 0;
	k = ok[0] ? 0 : 1;
	a->hash = cand[k];
	if (!have)
		return cg_error_set(err, "%s: no complete record in the log's tail",
		    a->path);
	ev = json_string_value(json_object_get(rec, "ev"));
	t->resume = ev != NULL && ((strcmp(ev, "seal") == 0 &&
	    json_is_true(json_object_get(rec, "final"))) ||
	    strcmp(ev, "close") == 0) ? "clean" : "unclean";
	json_decref(rec);
	a->n = last_n + 1;
	memcpy(a->prev, hash[k], AUDIT_DIGEST_LEN);
	return 0;
}

/* Takes the chain state from the end of fd (the current file, which may be
 * cut back to its last newline, or a rotated one, which may not). */
static int
recover_tail(struct cg_audit *a, int fd, int current, struct tail *t,
    struct cg_error *err)
{
	size_t max = TAIL_FIRST_WINDOW, len, start;
	struct stat st;
	uint64_t off;
	char *buf, *nl;
	int rc;

	if (fstat(fd, &st) != 0)
		return cg_error_set(err, "%s: %s", a->path, strerror(errno));
	if (st.st_size == 0)
		return 0;
	for (;;) {
		if (read_window(fd, (uint64_t)st.st_size, max, &buf, &len, &off) != 0)
			return cg_error_set(err, "%s: %s", a->path, strerror(errno));
		while (len > 0 && buf[len - 1] != '\n')
			len--;
		start = 0;
		if (off != 0 && (nl = memchr(buf, '\n', len)) != NULL)
			start = (size_t)(nl - buf) + 1;   /* skip a partial first line */
		t->has_epoch = t->anchored = t->has_pk = 0;
		t->lines = 0;
		rc = len == 0 ? 0 : chain_window(a, buf + start, len - start, t, err);
		/* A tail that does not chain here does not in a larger window. */
		if (rc != 0 || off == 0 || max == TAIL_WINDOW ||
		    (t->anchored && t->lines >= 2))
			break;
		free(buf);
		max = TAIL_WINDOW;
	}
	if (rc == 0 && len == 0 && off != 0) {
		free(buf);
		return cg_error_set(err, "%s: last line too long", a->path);
	}
	t->dropped = (uint64_t)st.st_size - off - len;
	if (rc == 0 && t->dropped != 0 && (!current ||
	    ftruncate(fd, (off_t)(off + len)) != 0)) {
		free(buf);
		return cg_error_set(err, "%s: torn last line could not be cut off",
		    a->path);
	}
	a->file_size = off + len;
	free(buf);
	return rc;
}

/* The current file, or (if it is empty or missing after a rotation) the
 * newest rotated one, gives the chain to continue. */
static int
open_log(struct cg_audit *a, struct tail *t, struct cg_error *err)
{
	char older[4200];
	int fd, rc;

	a->fd = open_regular(a->path, O_RDWR | O_CREAT | O_APPEND);
	if (a->fd < 0)
		return cg_error_set(err, "%s: %s", a->path, errno == EFTYPE_LOG ?
		    "not a regular file (the audit log must be one)" :
		    strerror(errno));
	if (flock(a->fd, LOCK_EX | LOCK_NB) != 0)
		return cg_error_set(err, "%s: in use by another writer", a->path);
	t->resume = "new";
	if (recover_tail(a, a->fd, 1, t, err) != 0)
		return -1;
	if (a->n != 0)
		return 0;
	snprintf(older, sizeof(older), "%s.1", a->path);
	fd = open_regular(older, O_RDONLY);
	if (fd < 0)
		return errno == ENOENT ? 0 : cg_error_set(err, "%s: %s", older,
		    errno == EFTYPE_LOG ? "not a regular file" : strerror(errno));
	rc = recover_tail(a, fd, 0, t, err);
	close(fd);
	a->file_size = 0;
	return rc;
}

/*
 * Brings the key file's ratchet to the log's epoch. The key file may lag
 * the log by one seal (a crash between writing a seal and storing the next
 * state); it may never lead it: then the log lost sealed epochs (truncated,
 * replaced) or the key belongs to another log, and nothing can seal here.
 */
static int
sync_ratchet(struct cg_audit *a, uint64_t key_epoch, const struct tail *t,
    struct cg_error *err)
{
	uint64_t log_epoch = t->has_epoch ? t->epoch : key_epoch;

	if (a->n == 0 && key_epoch != 0)
		return cg_error_set(err, "%s: this key has sealed another log "
		    "(it is at epoch %llu); make a new key with capgate keygen",
		    a->path, (unsigned long long)key_epoch);
	if (log_epoch < key_epoch)
		return cg_error_set(err, "%s: the key is at epoch %llu but the log "
		    "only reaches epoch %llu: the log was truncated or replaced, or "
		    "the key belongs to another log", a->path,
		    (unsigned long long)key_epoch, (unsigned long long)log_epoch);
	if (log_epoch - key_epoch > 1000000)
		return cg_error_set(err, "%s: the log is %llu epochs ahead of the "
		    "key", a->path, (unsigned long long)(log_epoch - key_epoch));
	for (; key_epoch < log_epoch; key_epoch++)
		audit_ratchet_next(a->sec->seed);
	a->epoch = log_epoch;
	audit_epoch_keypair(a->sec->seed, a->sec->pk, a->sec->sk);
	/* The last seal certified the key of the epoch the log is in (an
	 * open record names it): if that is not this key's, the tail was
	 * forged or the key belongs to another log; continuing would sign
	 * after records no seal of this key vouches for. */
	if (t->has_epoch && t->has_pk &&
	    sodium_memcmp(t->pk, a->sec->pk, AUDIT_PUBKEY_LEN) != 0)
		return cg_error_set(err, "%s: the log's last seal or open record "
		    "names a key for epoch %llu that is not this key's: the log "
		    "was altered, or the key belongs to another log; run "
		    "`capgate audit verify`", a->path,
		    (unsigned long long)log_epoch);
	a->key_pending = 1;    /* store the synced state with the open record */
	a->seal_due_ns = cg_now_ns() +
	    (uint64_t)a->checkpoint_interval_ms * 1000000u;
	return 0;
}

/* The run's first record. Signed by the current epoch's key, whose public
 * key the verifier already holds (BASENAME.pub for epoch 0, else the last
 * seal's "next"), so the limits it states cannot be changed later. */
static int
write_header(struct cg_audit *a, const struct tail *t)
{
	struct audit_buf *b = &a->buf;

	if (audit_record_begin(a, "open") != 0 ||
	    audit_put_key_u64(b, "version", (uint64_t)a->hash) != 0 ||
	    audit_put_key_str(b, "resume", t->resume, strlen(t->resume)) != 0 ||
	    (t->dropped != 0 && audit_put_key_u64(b, "dropped", t->dropped) != 0))
		return -1;
	if (a->sec == NULL) {
		if (audit_put_raw(b, ",\"sealed\":false", 15) != 0)
			return -1;
		return audit_record_end(a, NULL);
	}
	if (audit_put_key_u64(b, "epoch", a->epoch) != 0 ||
	    audit_put_key_hex(b, "pk", a->sec->pk, AUDIT_PUBKEY_LEN) != 0 ||
	    audit_put_key_u64(b, "epoch_max", a->checkpoint_every) != 0 ||
	    audit_put_key_u64(b, "epoch_ms", a->checkpoint_interval_ms) != 0)
		return -1;
	return audit_record_end(a, a->sec->sk);
}

static int
open_sealed(struct cg_audit *a, const struct cg_audit_config *cfg,
    struct cg_error *err)
{
	struct tail t = { .resume = "new" };
	uint64_t key_epoch = 0;

	if (cfg->key_path != NULL) {
		a->sec = sodium_malloc(sizeof(*a->sec));
		if (a->sec == NULL)
			return cg_error_set(err, "out of memory");
		a->key_fd = audit_keyfile_open(cfg->key_path, &key_epoch,
		    a->sec->seed, err);
		if (a->key_fd < 0)
			return -1;
	}
	if (open_log(a, &t, err) != 0)
		return -1;
	if (a->sec != NULL && sync_ratchet(a, key_epoch, &t, err) != 0)
		return -1;
	if (write_header(a, &t) != 0)
		return cg_error_set(err, "out of memory");
	if (a->sec != NULL && strcmp(t.resume, "unclean") == 0 && audit_seal(a, 0) != 0)
		return cg_error_set(err, "%s: cannot seal: %s", a->path, strerror(errno));
	/* The open record is synced now with sync "every", with a signing key
	 * (the key file's ratchet moved), for a new log (with its directory)
	 * and after a crash was cut off. Otherwise it waits for the mode's next
	 * sync, under the same bound as every other record (docs/AUDIT.md,
	 * section 3): nothing depends on it being on disk before the clients
	 * run, and an fdatasync is 0.1 ms at every start on this machine. */
	if (a->sync == CG_AUDIT_SYNC_EVERY || a->sec != NULL ||
	    strcmp(t.resume, "clean") != 0 || t.dropped != 0)
		a->force_sync = 1;
	if (audit_commit(a) != 0 || (t.resume[0] == 'n' && audit_sync_dir(a->path) != 0))
		return cg_error_set(err, "%s: %s", a->path, strerror(errno));
	return 0;
}

int
audit_set_policy(struct cg_audit *a, const char *policy_hash,
    struct cg_error *err)
{
	if (a == NULL || !a->enabled)
		return 0;
	if (audit_policy_field(a->policy_field, policy_hash,
	    &a->policy_field_len) != 0)
		return cg_error_set(err, "policy hash is not hex of at most 64 "
		    "characters");
	return 0;
}

struct cg_audit *
audit_open(const struct cg_audit_config *cfg, const char *policy_hash,
    struct cg_error *err)
{
	struct cg_audit *a = calloc(1, sizeof(*a));

	if (a == NULL) {
		cg_error_set(err, "out of memory");
		return NULL;
	}
	a->fd = -1;
	a->key_fd = -1;
	if (cfg->path == NULL)
		return a;
	a->enabled = 1;
	audit_apply_defaults(a, cfg);
	if (sodium_init() < 0) {
		cg_error_set(err, "libsodium failed to initialise");
		goto fail;
	}
	a->path = strdup(cfg->path);
	if (a->path == NULL) {
		cg_error_set(err, "out of memory");
		goto fail;
	}
	if (audit_set_policy(a, policy_hash, err) != 0 || open_sealed(a, cfg, err) != 0)
		goto fail;
	/* The sync thread starts with the first sync it is asked for
	 * (writer.c, sync_later): a short run, whose records the close
	 * syncs, never needs it. */
	a->syncer_wanted = a->sync != CG_AUDIT_SYNC_EVERY;
	return a;
fail:
	audit_free(a);
	return NULL;
}
