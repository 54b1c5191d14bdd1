/*
 * The audit log writer (JSON Lines, one record per decision and per
 * lifecycle event). The gateway calls audit_append_*() while it handles a
 * batch of messages and audit_commit() once per event-loop iteration,
 * before it releases the replies of that batch: with sync "every" the
 * records are on disk before any client sees its reply (group commit).
 *
 * Integrity (docs/AUDIT.md has the argument): every record carries the
 * hash of the line before it (SHA-256; BLAKE2b-256 in logs begun before
 * log version 3); records are grouped in epochs, and
 * each epoch ends with a seal (an Ed25519-signed checkpoint) made with that
 * epoch's key, which names the next epoch's public key. Epoch keys come
 * from a one-way ratchet whose state is the secret key file of
 * `capgate keygen`; it moves on (in memory and in the file) at every seal,
 * so a later compromise of the gateway or of the key file cannot sign for
 * an earlier epoch. BASENAME.pub is epoch 0's public key.
 *
 * audit/ is pure: it writes its own files and nothing else.
 */
#ifndef CG_AUDIT_AUDIT_H
#define CG_AUDIT_AUDIT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

#define AUDIT_DIGEST_LEN 32          /* SHA-256, or BLAKE2b-256 (version 2) */
#define AUDIT_PUBKEY_LEN 32          /* Ed25519 public key */

enum cg_audit_sync {
	CG_AUDIT_SYNC_EVERY = 0,     /* fdatasync before replies are released */
	CG_AUDIT_SYNC_BATCH = 1,     /* write per loop iteration, sync in batches */
	CG_AUDIT_SYNC_INTERVAL = 2,  /* sync on a timer */
};

/*
 * A zero field means its default (docs/AUDIT.md): sync every,
 * sync_interval_ms 1000, sync_batch 64, checkpoint_every 1000 records,
 * checkpoint_interval_ms 30000, no rotation, fail closed.
 */
struct cg_audit_config {
	const char *path;            /* the log file; NULL means no audit log */
	const char *key_path;        /* Ed25519 secret key (capgate keygen), or NULL */
	enum cg_audit_sync sync;
	uint32_t sync_interval_ms;
	uint32_t checkpoint_every;   /* records between signed checkpoints */
	uint64_t rotate_bytes;       /* 0 = never rotate */
	int fail_open;               /* 0 (default): a write failure denies requests */
	uint32_t checkpoint_interval_ms; /* seal at least this often, even empty */
	uint32_t sync_batch;         /* batch mode: records per fdatasync */
	/* Set by audit_config_parse() (path and key_path point at them);
	 * released by audit_config_free(). */
	char *owned_path;
	char *owned_key_path;
};

enum cg_decision {
	CG_DECISION_ALLOW = 0,
	CG_DECISION_DENY = 1,
	CG_DECISION_NOTFOUND = 2,    /* reported as a deny */
	CG_DECISION_ERROR = 3,
};

/* One decision, as the gateway knows it. Strings are borrowed for the call;
 * any of them may hold arbitrary bytes (they are escaped, and invalid UTF-8
 * becomes U+FFFD). */
struct cg_audit_decision {
	const char *client;
	pid_t pid;
	const char *channel;         /* may be NULL for frame-level denials */
	size_t channel_len;          /* 0: channel is NUL-terminated */
	const char *kind;            /* "invoke", "send", "event", ... */
	uint32_t request_id;
	enum cg_decision decision;
	const char *reason;          /* short reason code, e.g. "not-granted" */
	const char *pointer;         /* JSON pointer for schema denials, or NULL */
	const char *detail;          /* free text for the reviewer, or NULL */
	uint64_t latency_ns;
	const unsigned char *digest; /* payload digest (the log's hash), or NULL */
	const char *payload;         /* payload to record verbatim, or NULL */
	size_t payload_len;
	/* hex hash of the policy the decision was taken under, when that is
	 * no longer the current one (a backend answered after a reload), or
	 * NULL for the current policy */
	const char *policy_hash;
};

struct cg_audit;

/*
 * Opens (creating or appending to) the log. policy_hash is the hex digest
 * of the policy file, recorded in every record. Returns NULL and fills err
 * on failure. cfg->path == NULL gives a writer that records nothing.
 * Appending to an existing log reads its tail, checks that the last records
 * chain, drops a torn last line (a crash mid-write), brings the key's
 * ratchet to the log's epoch and writes a signed "open" record that
 * continues the chain. One key seals one log (and its rotated files): a
 * key that has moved past the log, or that sealed another log, is refused.
 * Without cfg->key_path the log is hash-chained but unsealed, and
 * `audit verify` rejects it.
 */
struct cg_audit *audit_open(const struct cg_audit_config *cfg,
    const char *policy_hash, struct cg_error *err);

/* Appends a decision record. Returns 0, or -1 if the log cannot be written. */
int audit_append_decision(struct cg_audit *a, const struct cg_audit_decision *d);

/*
 * Appends a lifecycle record ("start", "attestation", "spawn", "exit",
 * "backend-start", "backend-exit", "reload", "violation", ...). fields is
 * borrowed (may be NULL); its members are copied into the record beside the
 * common ones. Returns -1 if a member uses a reserved name (n, t, ev, policy,
 * prev, sig) or the log cannot be written.
 */
int audit_append_event(struct cg_audit *a, const char *event, json_t *fields);

/* After a policy reload: records from now on carry the new policy hash
 * (hex, at most 64 characters). Append a "reload" event too. 0 or -1. */
int audit_set_policy(struct cg_audit *a, const char *policy_hash,
    struct cg_error *err);

/* Writes out (and, per the sync mode, syncs) what was appended. 0 or -1. */
int audit_commit(struct cg_audit *a);

/* Milliseconds until the writer needs audit_tick(), or -1 for never. */
int audit_next_timeout_ms(const struct cg_audit *a);
/* The same as a CLOCK_MONOTONIC time (cg_now_ns), UINT64_MAX for none:
 * for a caller that has read the clock already. */
uint64_t audit_next_due_ns(const struct cg_audit *a);

/* Finishes work the records' path put off (the last line's chain hash):
 * call when the replies of a turn are out. Optional; accepts NULL. */
void audit_idle(struct cg_audit *a);

/* Seals an epoch whose interval has passed (even an empty one) and syncs
 * on the interval timer. 0 or -1. */
int audit_tick(struct cg_audit *a);

/* 1 once a write has failed (the gateway then fails closed unless
 * cfg->fail_open), else 0. A failure is sticky: later appends return -1. */
int audit_failed(const struct cg_audit *a);

/* Final checkpoint, sync and close. Accepts NULL. Returns 0 or -1. */
int audit_close(struct cg_audit *a);

/* --- helpers for the gateway --- */

/* The digest of a payload for cg_audit_decision.digest, with the hash of
 * a's log (SHA-256; BLAKE2b-256 in a log begun before version 3, or a NULL
 * a: SHA-256). */
void audit_digest(const struct cg_audit *a, const void *buf, size_t len,
    unsigned char out[AUDIT_DIGEST_LEN]);

/* Replaces the values of the named top-level members of an object payload
 * with the string "[redacted]". fields is NULL-terminated. Returns how many
 * members were redacted (0 for a non-object). */
int audit_redact(json_t *payload, const char *const *fields);

/*
 * Parses the policy's "audit" section into out (zeroed first). Relative
 * paths are resolved against policy_dir (may be NULL). On error fills err
 * with err->pointer relative to the section (e.g. "/sync") and returns -1.
 * Free with audit_config_free() in either case.
 */
int audit_config_parse(const json_t *section, const char *policy_dir,
    struct cg_audit_config *out, struct cg_error *err);
void audit_config_free(struct cg_audit_config *cfg);

/* A channel's "audit" option: what a decision record keeps of the payload. */
enum cg_audit_payload {
	CG_AUDIT_PAYLOAD_DIGEST = 0, /* default: the digest only */
	CG_AUDIT_PAYLOAD_FULL = 1,   /* the payload text */
	CG_AUDIT_PAYLOAD_REDACT = 2, /* the payload with named members redacted */
	CG_AUDIT_PAYLOAD_NONE = 3,   /* neither */
};

struct cg_audit_channel {
	enum cg_audit_payload mode;
	char **redact;               /* NULL-terminated, for audit_redact() */
};

/* Parses a channel's "audit" value: "digest", "payload", "none" or
 * {"redact": ["field", ...]}. err->pointer is relative to the value. */
int audit_channel_parse(const json_t *v, struct cg_audit_channel *out,
    struct cg_error *err);
void audit_channel_free(struct cg_audit_channel *ch);

/* --- keys (capgate keygen) --- */

/* Writes BASENAME.key (the ratchet's initial state, mode 0600) and
 * BASENAME.pub (epoch 0's public key); refuses to overwrite either. */
int audit_keygen(const char *basename, struct cg_error *err);
int audit_key_load_public(const char *path,
    unsigned char pk[AUDIT_PUBKEY_LEN], struct cg_error *err);

/* --- verification --- */

enum cg_audit_verdict {
	CG_AUDIT_INTACT = 0,   /* every record intact, sealed, closed cleanly */
	CG_AUDIT_BAD = 1,      /* altered, forged, unsealed, wrong key, ... */
	CG_AUDIT_UNCLEAN = 2,  /* nothing altered, but a run ended without
	                          its clean-shutdown seal (crash or truncation) */
};

struct cg_audit_verify_result {
	enum cg_audit_verdict verdict;
	char file[256];        /* where the problem is */
	uint64_t line;         /* 1-based line in that file */
	char msg[512];         /* what is wrong with it */
	uint64_t records;      /* lines read */
	uint64_t seals;
	uint64_t segments;     /* runs of the writer ("open" records) */
	char sealed_file[256]; /* the last line covered by a signature */
	uint64_t sealed_line;
};

/* An incremental verifier, fed one line at a time (audit follow). With
 * pk == NULL the first epoch's key is taken from the log's first record,
 * everything else is checked as with a key, and the result is never
 * CG_AUDIT_INTACT unless audit_verifier_trust_first_key() was called (the
 * verdict then says the key was taken on trust). */
struct cg_audit_verifier;
struct cg_audit_verifier *audit_verifier_new(const unsigned char *pk);
void audit_verifier_trust_first_key(struct cg_audit_verifier *v);
void audit_verifier_free(struct cg_audit_verifier *v);
/* Names the file the next lines come from (line numbers restart at 1). */
void audit_verifier_file(struct cg_audit_verifier *v, const char *name);
/* line excludes the newline; complete is 0 for a last line with no newline.
 * Returns 0, or -1 once the log is bad (see audit_verifier_result). If rec
 * is non-NULL it receives the parsed record (caller decrefs) on success. */
int audit_verifier_line(struct cg_audit_verifier *v, const char *line,
    size_t len, int complete, json_t **rec);
/* The verdict so far, treating the input as ended. 1 if the clean-shutdown
 * seal of the run being read has been seen. */
enum cg_audit_verdict audit_verifier_result(const struct cg_audit_verifier *v,
    struct cg_audit_verify_result *res);
int audit_verifier_closed(const struct cg_audit_verifier *v);

/* Verifies files given oldest first (log.2 log.1 log). Returns the verdict
 * and fills res; I/O errors are CG_AUDIT_BAD with the reason in res->msg. */
enum cg_audit_verdict audit_verify_files(const char *const *paths, size_t n,
    const unsigned char pk[AUDIT_PUBKEY_LEN],
    struct cg_audit_verify_result *res);

#endif
