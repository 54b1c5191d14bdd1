/*
 * The audit log writer. Records are formatted straight into an in-memory
 * batch (record.c), chained by hash as they are appended, and written with
 * one write() per audit_commit(); the sync mode decides when fdatasync()
 * runs, inline or (sync "batch" and "interval") on the thread of sync.c.
 * A line's chain hash waits until the next record or audit_idle(). Epochs
 * end with a seal signed by the epoch's ratchet key, after which that key
 * is wiped (seal.c explains the ratchet).
 *
 * Invariant: the file always ends at a complete line, except after a crash
 * mid-write; a failed write is cut back to the last complete line and the
 * writer is marked failed for good, so the log never grows a torn record in
 * its middle.
 */
#include "audit/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/writer_priv.h"
#include "common/util.h"

#define FLUSH_AT (256u * 1024u)  /* write out an uncommitted batch this big */
/* Longest string field and payload a decision record keeps: escaped (at
 * most 6 bytes per input byte) they stay far below AUDIT_LINE_MAX, the
 * longest line the verifier reads. */
#define FIELD_MAX 1024u
#define PAYLOAD_MAX (64u * 1024u)

void
audit_apply_defaults(struct cg_audit *a, const struct cg_audit_config *cfg)
{
	a->hash = AUDIT_HASH_CURRENT;    /* until an existing log says */
#ifdef CG_AUDIT_TEST_HOOKS
	a->hash = audit_debug_new_log_hash;
#endif
	a->sync = cfg->sync;
	a->sync_interval_ms = cfg->sync_interval_ms ? cfg->sync_interval_ms : 1000;
	a->sync_batch = cfg->sync_batch ? cfg->sync_batch : 64;
	a->checkpoint_every = cfg->checkpoint_every ? cfg->checkpoint_every : 1000;
	a->checkpoint_interval_ms = cfg->checkpoint_interval_ms ?
	    cfg->checkpoint_interval_ms : 30000;
	a->rotate_bytes = cfg->rotate_bytes;
}

/* Computes the hash of the last line, if that is still to do. */
static void
settle_hash(struct cg_audit *a)
{
	if (!a->hash_pending)
		return;
	audit_line_hash(a->hash, a->buf.p + a->hash_off, a->hash_len, a->prev);
	a->hash_pending = 0;
}

enum audit_hash
audit_log_hash(const struct cg_audit *a)
{
	return a->hash;
}

#define W_LIT(o, lit) (memcpy((o), (lit), sizeof(lit) - 1), (o) + sizeof(lit) - 1)

/* Room for w_begin's output with an event name of el bytes. */
#define BEGIN_ROOM(el) (sizeof("{\"n\":") + 20 + AUDIT_TIME_ROOM + \
	sizeof(",\"ev\":") + AUDIT_STR_ROOM(el))

/* {"n":N,"t":"...","ev":"EV" at o, which has BEGIN_ROOM(el) (the caller
 * has set a->rec_start to o's offset, for record_abort). */
static inline char *
w_begin(const struct cg_audit *a, char *o, const char *ev, size_t el)
{
	o = W_LIT(o, "{\"n\":");
	o = audit_w_u64(o, a->n);
	o = audit_w_time(o, cg_wall_ns());
	return audit_w_str(W_LIT(o, ",\"ev\":"), ev, el);
}

/* Starts a record: {"n":N,"t":"...","ev":"EV" */
int
audit_record_begin(struct cg_audit *a, const char *ev)
{
	size_t el = strlen(ev);

	a->rec_start = a->buf.len;
	if (el > SIZE_MAX / 8 || audit_buf_reserve(&a->buf, BEGIN_ROOM(el)) != 0)
		return -1;
	a->buf.len = (size_t)(w_begin(a, a->buf.p + a->buf.len, ev, el) - a->buf.p);
	return 0;
}

/* The record's "policy" field, ready to copy: ,"policy":"<hash>" with hash
 * hex of at most 64 characters; -1 for anything else. */
int
audit_policy_field(char out[AUDIT_POLICY_FIELD_MAX], const char *hash,
    size_t *len)
{
	size_t n = hash != NULL ? strnlen(hash, 65) : 0;

	if (n > 64 || strspn(hash != NULL ? hash : "", "0123456789abcdefABCDEF") != n)
		return -1;
	*len = (size_t)snprintf(out, AUDIT_POLICY_FIELD_MAX, ",\"policy\":\"%.*s\"",
	    (int)n, n > 0 ? hash : "");
	return 0;
}

/*
 * Ends the record begun last: field (len bytes, the "policy" field) and the
 * previous line's hash, then (sk != NULL) an Ed25519 signature over every
 * byte of the line so far. The line's own hash becomes the next record's
 * "prev".
 */
static int
record_end_under(struct cg_audit *a, const unsigned char *sk,
    const char *field, size_t len)
{
	unsigned char sig[AUDIT_SIG_LEN];

	settle_hash(a);
	if (audit_put_raw(&a->buf, field, len) != 0 ||
	    audit_put_key_hex(&a->buf, "prev", a->prev, AUDIT_DIGEST_LEN) != 0)
		return -1;
	if (sk != NULL) {
		crypto_sign_detached(sig, NULL,
		    (const unsigned char *)a->buf.p + a->rec_start,
		    a->buf.len - a->rec_start, sk);
		if (audit_put_key_hex(&a->buf, "sig", sig, sizeof(sig)) != 0)
			return -1;
	}
	if (audit_buf_reserve(&a->buf, 2) != 0)
		return -1;
	a->buf.p[a->buf.len++] = '}';
	a->hash_pending = 1;
	a->hash_off = a->rec_start;
	a->hash_len = a->buf.len - a->rec_start;
	a->buf.p[a->buf.len++] = '\n';
	a->n++;
	a->pending++;
	return 0;
}

int
audit_record_end(struct cg_audit *a, const unsigned char *sk)
{
	return record_end_under(a, sk, a->policy_field, a->policy_field_len);
}

/* Drops a half-formatted record (allocation failure). */
static int
record_abort(struct cg_audit *a)
{
	a->buf.len = a->rec_start;
	return -1;
}

static int
mark_failed(struct cg_audit *a)
{
	a->failed = 1;
	a->buf.len = 0;
	a->buf_written = 0;
	a->hash_pending = 0;
	/* Cut a torn write back to the last complete line (best effort: the
	 * disk may refuse this too; the verifier then reports a torn tail). */
	if (a->fd >= 0 && ftruncate(a->fd, (off_t)a->file_size) != 0)
		(void)0;
	return -1;
}

/* Bytes appended and not yet written. */
static size_t
unwritten(const struct cg_audit *a)
{
	return a->buf.len - a->buf_written;
}

/* write() the batch; no sync. A line whose hash is still to be computed
 * moves to the start of buf and stays there; the rest of buf is reused. */
static int
flush_buf(struct cg_audit *a)
{
	size_t n = unwritten(a);

	if (n == 0)
		return 0;
	if (cg_write_full(a->fd, a->buf.p + a->buf_written, n) != (ssize_t)n)
		return mark_failed(a);
	a->file_size += n;
	if (a->hash_pending) {
		if (a->hash_off != 0)
			memmove(a->buf.p, a->buf.p + a->hash_off, a->hash_len);
		a->hash_off = 0;
		a->buf.len = a->buf_written = a->hash_len;
	} else {
		a->buf.len = a->buf_written = 0;
	}
	a->written += a->pending;
	a->pending = 0;
	if (a->key_pending) {
		if (audit_keyfile_store(a->key_fd, a->epoch, a->sec->seed) != 0)
			return mark_failed(a);
		a->key_pending = 0;
		a->key_dirty = 1;
	}
	return 0;
}

/* Records written to the log that no finished fdatasync covers yet. */
static uint64_t
unsynced(struct cg_audit *a)
{
	uint64_t d = a->synced;

	if (a->syncer != NULL && audit_syncer_durable(a->syncer) > d)
		d = audit_syncer_durable(a->syncer);
	return a->written > d ? a->written - d : 0;
}

/* fdatasync in the loop's own thread (and the key file after a seal). */
static int
sync_now(struct cg_audit *a)
{
	uint64_t target = a->written;

	if (unsynced(a) == 0 && !a->key_dirty)
		return 0;
	if (fdatasync(a->fd) != 0)
		return mark_failed(a);
	a->syncs++;
	a->synced = target;
	if (a->syncer != NULL)
		audit_syncer_note(a->syncer, target);
	if (a->key_dirty && fdatasync(a->key_fd) != 0)
		return mark_failed(a);
	a->key_dirty = 0;
	a->sync_due_ns = 0;
	a->force_sync = 0;
	return 0;
}

/* The sync thread, the first time one is wanted. It starts knowing only
 * what the inline syncs covered. Without it (it could not be started)
 * the writer syncs inline, which keeps every guarantee and only costs
 * latency; it is tried once. */
static void
start_syncer(struct cg_audit *a)
{
	if (a->syncer != NULL || !a->syncer_wanted)
		return;
	a->syncer_wanted = 0;
	a->syncer = audit_syncer_start(a->fd, a->synced);
}

/* fdatasync off the loop's thread, if it has one. A request that must not
 * be dropped (queue) waits for a sync that is running to finish; otherwise
 * such a sync is taken to cover it (audit_syncer_kick). */
static int
sync_later(struct cg_audit *a, int queue)
{
	start_syncer(a);
	if (a->syncer == NULL)
		return sync_now(a);
	audit_syncer_kick(a->syncer, a->written, queue);
	return 0;
}

static int
rotate(struct cg_audit *a)
{
	char from[4200], to[4200];
	unsigned k = 1;
	int fd;

	if (flush_buf(a) != 0 || sync_now(a) != 0)
		return -1;
	snprintf(from, sizeof(from), "%s.%u", a->path, k);
	while (access(from, F_OK) == 0 && k < 100000)
		snprintf(from, sizeof(from), "%s.%u", a->path, ++k);
	for (; k > 1; k--) {
		snprintf(from, sizeof(from), "%s.%u", a->path, k - 1);
		snprintf(to, sizeof(to), "%s.%u", a->path, k);
		if (rename(from, to) != 0)
			return mark_failed(a);
	}
	snprintf(to, sizeof(to), "%s.1", a->path);
	if (rename(a->path, to) != 0)
		return mark_failed(a);
	fd = open(a->path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (fd >= 0)
			close(fd);
		return mark_failed(a);
	}
	if (a->syncer != NULL)
		audit_syncer_set_fd(a->syncer, fd);
	close(a->fd);
	a->fd = fd;
	a->file_size = 0;
	return audit_sync_dir(a->path);
}

/* Moves to the next epoch: its seed, key and public key replace the
 * current ones, which are overwritten. */
static void
ratchet(struct audit_secret *sec)
{
	memcpy(sec->seed, sec->nseed, sizeof(sec->seed));
	memcpy(sec->sk, sec->nsk, sizeof(sec->sk));
	memcpy(sec->pk, sec->npk, sizeof(sec->pk));
	sodium_memzero(sec->nseed, sizeof(sec->nseed));
	sodium_memzero(sec->nsk, sizeof(sec->nsk));
}

/*
 * Ends the current epoch with a seal signed by its key that names the next
 * epoch's public key, then ratchets: the sealed epoch's seed and key are
 * overwritten before this returns, so nothing in this process can sign for
 * it again. The key file follows once the seal is written (flush_buf):
 * never before, or a crash in between would leave an epoch nobody can seal.
 */
int
audit_seal(struct cg_audit *a, int final)
{
	struct audit_secret *sec = a->sec;

	memcpy(sec->nseed, sec->seed, sizeof(sec->nseed));
	audit_ratchet_next(sec->nseed);
	audit_epoch_keypair(sec->nseed, sec->npk, sec->nsk);
	if (audit_record_begin(a, "seal") != 0 ||
	    audit_put_key_u64(&a->buf, "epoch", a->epoch) != 0 ||
	    audit_put_key_u64(&a->buf, "records", a->epoch_records) != 0 ||
	    audit_put_raw(&a->buf, final ? ",\"final\":true" : ",\"final\":false",
	    final ? 13 : 14) != 0 ||
	    audit_put_key_hex(&a->buf, "next", sec->npk, AUDIT_PUBKEY_LEN) != 0 ||
	    audit_record_end(a, sec->sk) != 0) {
		record_abort(a);
		return mark_failed(a);
	}
	ratchet(sec);
	a->epoch++;
	a->epoch_records = 0;
	a->key_pending = 1;
	a->seal_due_ns = cg_now_ns() + (uint64_t)a->checkpoint_interval_ms * 1000000u;
	a->force_sync = 1;
	if (a->rotate_bytes != 0 && !final &&
	    a->file_size + unwritten(a) >= a->rotate_bytes)
		return rotate(a);
	return 0;
}

/* Bookkeeping after every record that belongs to an epoch. */
static int
record_done(struct cg_audit *a)
{
	a->epoch_records++;
	if (a->sec != NULL && a->epoch_records >= a->checkpoint_every &&
	    audit_seal(a, 0) != 0)
		return -1;
	if (unwritten(a) >= FLUSH_AT)
		return flush_buf(a);
	return 0;
}

/* Ends the record with "policy" naming hash instead of the current
 * policy; NULL: the current. */
static int
end_under_policy(struct cg_audit *a, const char *hash)
{
	char field[AUDIT_POLICY_FIELD_MAX];
	size_t len;

	if (hash == NULL)
		return audit_record_end(a, NULL);
	if (audit_policy_field(field, hash, &len) != 0)
		return -1;
	return record_end_under(a, NULL, field, len);
}

/* Room for w_capped's output. */
#define CAPPED_ROOM(kl, cap) (2 * (kl) + 22 + AUDIT_STR_ROOM(cap))

/* ,"key":"s" with s cut at cap bytes; after a cut, ,"key_truncated":true
 * (a cut mid-character shows as U+FFFD). */
static char *
w_capped(char *o, const char *key, size_t kl, const char *s, size_t len,
    size_t cap)
{
	o = audit_w_str(audit_w_key(o, key, kl), s, len <= cap ? len : cap);
	if (len > cap) {
		*o++ = ',';
		*o++ = '"';
		memcpy(o, key, kl);
		o += kl;
		memcpy(o, "_truncated\":true", 16);
		o += 16;
	}
	return o;
}

/* The same for a NUL-terminated s, or nothing for NULL. */
static char *
w_opt(char *o, const char *key, size_t kl, const char *s)
{
	return s == NULL ? o : w_capped(o, key, kl, s, strnlen(s, FIELD_MAX + 1),
	    FIELD_MAX);
}

#define W_OPT(o, key, s) w_opt((o), (key), sizeof(key) - 1, (s))

/*
 * The record's start, then the decision's fields up to the policy and prev
 * that audit_record_end adds, written in one pass into room reserved once
 * for the longest they can be. This runs for every request; the generic
 * appenders, reserving per field, cost twice the instructions.
 */
static int
format_decision(struct cg_audit *a, const struct cg_audit_decision *d)
{
	static const size_t opt_room = CAPPED_ROOM(sizeof("decision"), FIELD_MAX);
	struct audit_buf *b = &a->buf;
	size_t chan_len = d->channel == NULL ? 0 : d->channel_len ? d->channel_len :
	    strnlen(d->channel, FIELD_MAX + 1);
	size_t pay_len = d->payload == NULL ? 0 :
	    d->payload_len > PAYLOAD_MAX ? PAYLOAD_MAX + 1 : d->payload_len;
	unsigned frac = (unsigned)(d->latency_ns % 1000u);
	char *o;

	/* the record's start; pid, req, us, 20 digits each at most; the keys
	 * and punctuation; six optional strings; the channel, digest, payload */
	a->rec_start = b->len;
	if (audit_buf_reserve(b, BEGIN_ROOM(sizeof("decision") - 1) + 3 * 20 +
	    128 + 6 * opt_room + CAPPED_ROOM(sizeof("channel"), FIELD_MAX) +
	    2 * AUDIT_DIGEST_LEN + CAPPED_ROOM(sizeof("payload"), pay_len)) != 0)
		return -1;
	o = w_begin(a, b->p + b->len, "decision", sizeof("decision") - 1);
	o = W_OPT(o, "client", d->client);
	o = W_LIT(o, ",\"pid\":");
	o = audit_w_u64(o, (uint64_t)(d->pid < 0 ? 0 : d->pid));
	if (d->channel != NULL)
		o = w_capped(o, "channel", sizeof("channel") - 1, d->channel,
		    chan_len, FIELD_MAX);
	o = W_OPT(o, "kind", d->kind);
	o = W_LIT(o, ",\"req\":");
	o = audit_w_u64(o, d->request_id);
	/* the decision, and the reason the writer supplies, are literals */
	switch (d->decision) {
	case CG_DECISION_ALLOW:
		o = W_LIT(o, ",\"decision\":\"allow\"");
		break;
	case CG_DECISION_DENY:
	case CG_DECISION_NOTFOUND:
		o = W_LIT(o, ",\"decision\":\"deny\"");
		break;
	case CG_DECISION_ERROR:
	default:
		o = W_LIT(o, ",\"decision\":\"error\"");
		break;
	}
	if (d->reason != NULL)
		o = W_OPT(o, "reason", d->reason);
	else if (d->decision == CG_DECISION_NOTFOUND)
		o = W_LIT(o, ",\"reason\":\"not-found\"");
	else if (d->decision == CG_DECISION_ALLOW)
		o = W_LIT(o, ",\"reason\":\"ok\"");
	else
		o = W_LIT(o, ",\"reason\":\"unspecified\"");
	o = W_OPT(o, "pointer", d->pointer);
	o = W_OPT(o, "detail", d->detail);
	o = W_LIT(o, ",\"us\":");
	o = audit_w_u64(o, d->latency_ns / 1000u);
	*o++ = '.';
	*o++ = (char)('0' + frac / 100);
	*o++ = (char)('0' + frac / 10 % 10);
	*o++ = (char)('0' + frac % 10);
	if (d->digest != NULL) {
		o = W_LIT(o, ",\"digest\":\"");
		o = audit_w_hex(o, d->digest, AUDIT_DIGEST_LEN);
		*o++ = '"';
	}
	if (d->payload != NULL)
		o = w_capped(o, "payload", sizeof("payload") - 1, d->payload,
		    d->payload_len, PAYLOAD_MAX);
	b->len = (size_t)(o - b->p);
	return end_under_policy(a, d->policy_hash);
}

int
audit_append_decision(struct cg_audit *a, const struct cg_audit_decision *d)
{
	if (a == NULL || !a->enabled)
		return 0;
	if (a->failed)
		return -1;
	if (format_decision(a, d) != 0) {
		record_abort(a);
		return mark_failed(a);
	}
	return record_done(a);
}

static int
reserved_name(const char *k)
{
	static const char *const names[] = { "n", "t", "ev", "policy", "prev", "sig" };
	size_t i;

	for (i = 0; i < CG_ARRAY_LEN(names); i++)
		if (strcmp(k, names[i]) == 0)
			return 1;
	return 0;
}

/* Lifecycle events are rare: jansson serialises their member values. */
static int
format_event(struct cg_audit *a, const char *event, json_t *fields)
{
	const char *key;
	json_t *val;
	char *text;
	int rc;

	if (audit_record_begin(a, event) != 0)
		return -1;
	json_object_foreach(fields, key, val) {
		text = json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);
		if (text == NULL)
			return -1;
		rc = audit_put_raw(&a->buf, ",", 1) != 0 ||
		    audit_put_str(&a->buf, key, strlen(key)) != 0 ||
		    audit_put_raw(&a->buf, ":", 1) != 0 ||
		    audit_put_raw(&a->buf, text, strlen(text)) != 0;
		free(text);
		if (rc)
			return -1;
	}
	return audit_record_end(a, NULL);
}

int
audit_append_event(struct cg_audit *a, const char *event, json_t *fields)
{
	const char *key;
	json_t *val;

	if (a == NULL || !a->enabled)
		return 0;
	if (a->failed)
		return -1;
	if (fields != NULL && !json_is_object(fields))
		return -1;
	json_object_foreach(fields, key, val)
		if (reserved_name(key))
			return -1;
	/* names whose records the writer and the verifier interpret */
	if (strcmp(event, "seal") == 0 || strcmp(event, "open") == 0 ||
	    strcmp(event, "decision") == 0 || strcmp(event, "close") == 0)
		return -1;
	if (format_event(a, event, fields) != 0) {
		record_abort(a);
		return mark_failed(a);
	}
	return record_done(a);
}

/*
 * Sync "batch" keeps its bound inline: a commit never leaves sync_batch or
 * more written records without a finished fdatasync, so at most
 * sync_batch - 1 acknowledged records can be lost in a power failure, as
 * before the thread. The thread is asked at three quarters of the bound, so
 * in steady state its sync finishes before the loop would have to wait.
 */
int
audit_commit(struct cg_audit *a)
{
	uint64_t lag;

	if (a == NULL || !a->enabled)
		return 0;
	if (a->failed)
		return -1;
	if (flush_buf(a) != 0)
		return -1;
	if (a->syncer != NULL && audit_syncer_error(a->syncer) != 0)
		return mark_failed(a);
	lag = unsynced(a);
	if (lag == 0 && !a->key_dirty) {
		a->sync_due_ns = 0;
		return 0;
	}
	if (a->sync == CG_AUDIT_SYNC_EVERY || a->force_sync ||
	    (a->sync == CG_AUDIT_SYNC_BATCH && lag >= a->sync_batch))
		return sync_now(a);
	if (a->sync == CG_AUDIT_SYNC_BATCH &&
	    lag >= a->sync_batch - a->sync_batch / 4 &&
	    sync_later(a, 0) != 0)
		return -1;
	if (a->sync_due_ns == 0)
		a->sync_due_ns = cg_now_ns() +
		    (uint64_t)a->sync_interval_ms * 1000000u;
	return 0;
}

void
audit_idle(struct cg_audit *a)
{
	if (a == NULL || !a->enabled || a->failed)
		return;
	settle_hash(a);
	if (unwritten(a) == 0)
		a->buf.len = a->buf_written = 0;
}

uint64_t
audit_next_due_ns(const struct cg_audit *a)
{
	uint64_t due = UINT64_MAX;

	if (a == NULL || !a->enabled || a->failed)
		return UINT64_MAX;
	if (a->sec != NULL)
		due = a->seal_due_ns;
	if (a->sync_due_ns != 0 && a->sync_due_ns < due)
		due = a->sync_due_ns;
	return due;
}

int
audit_next_timeout_ms(const struct cg_audit *a)
{
	uint64_t now, due = audit_next_due_ns(a);

	if (due == UINT64_MAX)
		return -1;
	now = cg_now_ns();
	if (due <= now)
		return 0;
	due = (due - now + 999999u) / 1000000u;
	return due > INT32_MAX ? INT32_MAX : (int)due;
}

int
audit_tick(struct cg_audit *a)
{
	uint64_t now;

	if (a == NULL || !a->enabled)
		return 0;
	if (a->failed)
		return -1;
	now = cg_now_ns();
	/* Empty epochs are sealed too: the verifier then sees an unbroken
	 * run of epochs and a gap means deletion, never idleness. */
	if (a->sec != NULL && now >= a->seal_due_ns && audit_seal(a, 0) != 0)
		return -1;
	if (a->sync_due_ns != 0 && now >= a->sync_due_ns) {
		/* the timer restarts at the next commit that finds records
		 * not yet durable; this request is kept even while a sync
		 * runs, or the records it is for would wait a second
		 * interval */
		a->sync_due_ns = 0;
		if (flush_buf(a) != 0 || sync_later(a, 1) != 0)
			return -1;
	}
	return audit_commit(a);
}

int
audit_failed(const struct cg_audit *a)
{
	return a != NULL && a->failed;
}

#ifdef CG_AUDIT_TEST_HOOKS
enum audit_hash audit_debug_new_log_hash = AUDIT_HASH_CURRENT;

/* Only in the tests' build of this library (tests/audit/meson.build): the
 * gateway's copy has no way to hand out its seed. */
int
audit_debug_state(const struct cg_audit *a, unsigned char s[AUDIT_SEED_LEN],
    uint64_t *epoch)
{
	if (a == NULL || a->sec == NULL)
		return -1;
	memcpy(s, a->sec->seed, AUDIT_SEED_LEN);
	*epoch = a->epoch;
	return 0;
}

uint64_t
audit_debug_syncs(const struct cg_audit *a)
{
	if (a == NULL)
		return 0;
	return a->syncs + (a->syncer != NULL ?
	    audit_syncer_count(a->syncer) : 0);
}

uint64_t
audit_debug_unsynced(struct cg_audit *a)
{
	return a != NULL ? unsynced(a) : 0;
}

int
audit_debug_pause_syncer(struct cg_audit *a, int paused)
{
	if (a != NULL)
		start_syncer(a);
	if (a == NULL || a->syncer == NULL)
		return -1;
	audit_syncer_pause(a->syncer, paused);
	return 0;
}
#endif

void
audit_free(struct cg_audit *a)
{
	if (a == NULL)
		return;
	audit_syncer_stop(a->syncer);
	if (a->fd >= 0)
		close(a->fd);
	if (a->key_fd >= 0)
		close(a->key_fd);
	if (a->sec != NULL)
		sodium_free(a->sec);
	audit_buf_free(&a->buf);
	free(a->path);
	free(a);
}

int
audit_close(struct cg_audit *a)
{
	int rc = 0;

	if (a == NULL)
		return 0;
	if (a->enabled && !a->failed) {
		if (a->sec != NULL)
			rc = audit_seal(a, 1);
		else if (audit_record_begin(a, "close") != 0 ||
		    audit_record_end(a, NULL) != 0)
			rc = mark_failed(a);
		if (rc == 0) {
			a->force_sync = 1;
			rc = audit_commit(a);
		}
	} else if (a->enabled) {
		rc = -1;
	}
	audit_free(a);
	return rc;
}
