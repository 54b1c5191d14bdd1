/*
 * The audit log writer (JSON Lines, one record per decision and per
 * lifecycle event). The gateway calls audit_append_*() while it handles a
 * batch of messages and audit_commit() once per event-loop iteration,
 * before it releases the replies of that batch: with sync "every" the
 * records are on disk before any client sees its reply (group commit).
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

enum cg_audit_sync {
	CG_AUDIT_SYNC_EVERY = 0,     /* fdatasync before replies are released */
	CG_AUDIT_SYNC_BATCH = 1,     /* write per loop iteration, sync in batches */
	CG_AUDIT_SYNC_INTERVAL = 2,  /* sync on a timer */
};

struct cg_audit_config {
	const char *path;            /* the log file; NULL means no audit log */
	const char *key_path;        /* Ed25519 secret key (capgate keygen), or NULL */
	enum cg_audit_sync sync;
	uint32_t sync_interval_ms;
	uint32_t checkpoint_every;   /* records between signed checkpoints */
	uint64_t rotate_bytes;       /* 0 = never rotate */
	int fail_open;               /* 0 (default): a write failure denies requests */
};

enum cg_decision {
	CG_DECISION_ALLOW = 0,
	CG_DECISION_DENY = 1,
	CG_DECISION_NOTFOUND = 2,    /* reported as a deny */
	CG_DECISION_ERROR = 3,
};

/* One decision, as the gateway knows it. Strings are borrowed for the call. */
struct cg_audit_decision {
	const char *client;
	pid_t pid;
	const char *channel;         /* may be NULL for frame-level denials */
	size_t channel_len;
	const char *kind;            /* "invoke", "send", "event", ... */
	uint32_t request_id;
	enum cg_decision decision;
	const char *reason;          /* short reason code, e.g. "not-granted" */
	const char *pointer;         /* JSON pointer for schema denials, or NULL */
	const char *detail;          /* free text for the reviewer, or NULL */
	uint64_t latency_ns;
	const unsigned char *digest; /* 32-byte BLAKE2b of the payload, or NULL */
	const char *payload;         /* payload to record verbatim, or NULL */
	size_t payload_len;
};

struct cg_audit;

/*
 * Opens (creating or appending to) the log. policy_hash is the hex digest
 * of the policy file, recorded in every record. Returns NULL and fills err
 * on failure. cfg->path == NULL gives a writer that records nothing.
 */
struct cg_audit *audit_open(const struct cg_audit_config *cfg,
    const char *policy_hash, struct cg_error *err);

/* Appends a decision record. Returns 0, or -1 if the log cannot be written. */
int audit_append_decision(struct cg_audit *a, const struct cg_audit_decision *d);

/*
 * Appends a lifecycle record ("start", "attestation", "spawn", "exit",
 * "violation", ...). fields is borrowed; its members are copied into the
 * record beside the common ones.
 */
int audit_append_event(struct cg_audit *a, const char *event, json_t *fields);

/* Writes out (and, per the sync mode, syncs) what was appended. 0 or -1. */
int audit_commit(struct cg_audit *a);

/* Milliseconds until the writer needs audit_tick(), or -1 for never. */
int audit_next_timeout_ms(const struct cg_audit *a);
int audit_tick(struct cg_audit *a);

/* 1 once a write has failed (the gateway then fails closed unless
 * cfg->fail_open), else 0. */
int audit_failed(const struct cg_audit *a);

/* Final checkpoint, sync and close. Accepts NULL. Returns 0 or -1. */
int audit_close(struct cg_audit *a);

#endif
