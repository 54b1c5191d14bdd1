/*
 * The writer's state, shared by writer.c (the record path) and open.c
 * (opening, tail recovery, the "open" record).
 */
#ifndef CG_AUDIT_WRITER_PRIV_H
#define CG_AUDIT_WRITER_PRIV_H

#include "audit/internal.h"

/* Secrets live in sodium_malloc'd memory (guard pages, no core dumps of
 * swapped pages) and are overwritten on every ratchet step. */
struct audit_secret {
	unsigned char seed[AUDIT_SEED_LEN];  /* ratchet seed of this epoch */
	unsigned char sk[AUDIT_SECKEY_LEN];  /* this epoch's signing key */
	unsigned char pk[AUDIT_PUBKEY_LEN];
	unsigned char nseed[AUDIT_SEED_LEN]; /* the next epoch's, while sealing */
	unsigned char nsk[AUDIT_SECKEY_LEN];
	unsigned char npk[AUDIT_PUBKEY_LEN];
};

/* ,"policy":"" around at most 64 hex characters, and the NUL */
#define AUDIT_POLICY_FIELD_MAX 96

struct cg_audit {
	int enabled;                 /* 0: cfg->path was NULL, record nothing */
	int failed;                  /* sticky */
	char *path;
	int fd;
	enum cg_audit_sync sync;
	uint32_t sync_interval_ms;
	uint32_t sync_batch;
	uint32_t checkpoint_every;
	uint32_t checkpoint_interval_ms;
	uint64_t rotate_bytes;

	char policy_field[AUDIT_POLICY_FIELD_MAX]; /* ,"policy":"<hex>" */
	size_t policy_field_len;

	enum audit_hash hash;        /* the chain's (and digests') hash */
	uint64_t n;                  /* number of the next record */
	unsigned char prev[AUDIT_DIGEST_LEN]; /* hash of the last line */
	struct audit_buf buf;        /* [0, buf_written) written, the rest not */
	size_t buf_written;
	size_t rec_start;            /* where the record being formatted begins */
	/* The last line's hash is computed when it is first needed (the next
	 * record's "prev") or when the loop is idle (audit_idle), so it is off
	 * the path between a request and its reply. Until then the line stays
	 * in buf at [hash_off, hash_off + hash_len). */
	int hash_pending;
	size_t hash_off;
	size_t hash_len;
	uint64_t file_size;          /* bytes written to the current file */
	uint32_t pending;            /* records in buf */
	uint64_t written;            /* records write() has taken */
	uint64_t synced;             /* records an inline fdatasync covers */
	int force_sync;              /* a seal asks for a sync */
	uint64_t sync_due_ns;        /* 0: no sync timer running */
	uint64_t syncs;              /* inline fdatasyncs of the log, for tests */
	struct audit_syncer *syncer; /* background sync (sync.c); NULL with
	                                sync "every" and until first needed */
	int syncer_wanted;           /* batch/interval: start it when first
	                                needed (sync_later) */

	struct audit_secret *sec;    /* NULL: unsealed log (no key) */
	int key_fd;                  /* the key file, locked; -1 without key */
	int key_pending;             /* a seal is in buf; store the state
	                                once it is written */
	int key_dirty;               /* key file written, not yet synced */
	uint64_t epoch;              /* current epoch (global to the log) */
	uint32_t epoch_records;      /* records of this run in this epoch */
	uint64_t seal_due_ns;
};

void audit_apply_defaults(struct cg_audit *a, const struct cg_audit_config *cfg);
int audit_record_begin(struct cg_audit *a, const char *ev);
int audit_record_end(struct cg_audit *a, const unsigned char *sk);
/* ,"policy":"<hash>" for hex hash of at most 64 characters, or -1. */
int audit_policy_field(char out[AUDIT_POLICY_FIELD_MAX], const char *hash,
    size_t *len);
int audit_seal(struct cg_audit *a, int final);
int audit_sync_dir(const char *path);
void audit_free(struct cg_audit *a);

/* --- the background sync thread (sync.c) --- */
struct audit_syncer;
/* Starts the thread for the log fd, whose first `durable` records are on
 * disk. NULL if it cannot: the writer then syncs inline. */
struct audit_syncer *audit_syncer_start(int fd, uint64_t durable);
/* Asks for an fdatasync covering the first `written` records. */
void audit_syncer_kick(struct audit_syncer *s, uint64_t written, int queue);
/* Records a finished fdatasync covers (the thread's or noted inline ones). */
uint64_t audit_syncer_durable(struct audit_syncer *s);
void audit_syncer_note(struct audit_syncer *s, uint64_t durable);
/* errno of a failed background fdatasync, or 0. */
int audit_syncer_error(struct audit_syncer *s);
uint64_t audit_syncer_count(struct audit_syncer *s);
/* Waits until the thread is idle, then has it sync fd from now on. */
void audit_syncer_set_fd(struct audit_syncer *s, int fd);
#ifdef CG_AUDIT_TEST_HOOKS
void audit_syncer_pause(struct audit_syncer *s, int paused);
void audit_syncer_hold(struct audit_syncer *s, int hold);
void audit_syncer_await(struct audit_syncer *s, int busy);
#endif
/* Joins the thread (after its pending fdatasync) and frees s. NULL is ok. */
void audit_syncer_stop(struct audit_syncer *s);

#endif
