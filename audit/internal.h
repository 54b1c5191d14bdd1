/*
 * Pieces shared by the audit writer, the verifier and the tests. Not part
 * of the gateway's interface.
 */
#ifndef CG_AUDIT_INTERNAL_H
#define CG_AUDIT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "audit/audit.h"

#define AUDIT_SEED_LEN 32
#define AUDIT_SECKEY_LEN 64          /* libsodium's Ed25519 secret key */
#define AUDIT_SIG_LEN 64
#define AUDIT_HASH_HEX (2 * AUDIT_DIGEST_LEN + 1)
#define AUDIT_LINE_MAX (1024u * 1024u) /* longest line the readers accept */

/* The tail every signed line ends with: ,"sig":"<128 hex>"} */
#define AUDIT_SIG_FIELD ",\"sig\":\""
#define AUDIT_SIG_TAIL_LEN (sizeof(AUDIT_SIG_FIELD) - 1 + 2 * AUDIT_SIG_LEN + 2)

/* --- the ratchet and the key file (seal.c) --- */

/* s <- H(s): one way, so the seed of epoch n+1 says nothing of epoch n's. */
void audit_ratchet_next(unsigned char s[AUDIT_SEED_LEN]);
/* The Ed25519 key pair of the epoch whose ratchet seed is s. */
void audit_epoch_keypair(const unsigned char s[AUDIT_SEED_LEN],
    unsigned char pk[AUDIT_PUBKEY_LEN], unsigned char sk[AUDIT_SECKEY_LEN]);

/*
 * The chain's hash, a property of each log, named by its "open" records'
 * "version": 3 (written since) SHA-256, 2 BLAKE2b-256. A log keeps the
 * hash it was started with when later runs continue it.
 */
enum audit_hash {
	AUDIT_HASH_BLAKE2B = 2,
	AUDIT_HASH_SHA256 = 3,
};
#define AUDIT_HASH_CURRENT AUDIT_HASH_SHA256

/* Hash of one line (without its newline), the "prev" of the next line. */
void audit_line_hash(enum audit_hash h, const char *line, size_t len,
    unsigned char out[AUDIT_DIGEST_LEN]);
/* The hash a log's "version" names; 0 for an unknown version. */
enum audit_hash audit_hash_of_version(long long version);
/* The hash of the log a writer appends to. */
enum audit_hash audit_log_hash(const struct cg_audit *a);

/*
 * The secret key file holds the ratchet state (epoch, seed) in two
 * fixed-size slots that are overwritten in place. Opening locks it (one
 * writer per key) and refuses a file readable by group or others; the seed
 * goes into `seed` (caller's secure memory). Returns the fd or -1.
 */
int audit_keyfile_open(const char *path, uint64_t *epoch,
    unsigned char seed[AUDIT_SEED_LEN], struct cg_error *err);
/* Writes (epoch, seed) to one slot, then overwrites the other, so the
 * previous seed is gone from the file. No sync. 0 or -1. */
int audit_keyfile_store(int fd, uint64_t epoch,
    const unsigned char seed[AUDIT_SEED_LEN]);

#ifdef CG_AUDIT_TEST_HOOKS
/* Test hook: copies the writer's current ratchet seed and epoch number, as
 * an attacker who takes over the running gateway would read them. */
int audit_debug_state(const struct cg_audit *a,
    unsigned char s[AUDIT_SEED_LEN], uint64_t *epoch);

/* Test hook: how many times the writer has fdatasync'd the log. */
uint64_t audit_debug_syncs(const struct cg_audit *a);

/* Test hook: records written to the log that no finished fdatasync covers. */
uint64_t audit_debug_unsynced(struct cg_audit *a);

/* Test hook: the hash a new log is begun with (an older version's). */
extern enum audit_hash audit_debug_new_log_hash;

/* Test hook: stalls (1) or releases (0) the sync thread; -1 without one. */
int audit_debug_pause_syncer(struct cg_audit *a, int paused);
#endif

/* --- record formatting (record.c) --- */

struct audit_buf {
	char *p;
	size_t len;
	size_t cap;
};

int audit_buf_reserve(struct audit_buf *b, size_t more);
/*
 * Unchecked writers: each writes at o, which has room, and returns the end.
 * audit_w_str writes a JSON string (quotes, escapes, invalid UTF-8 as
 * U+FFFD) of at most AUDIT_STR_ROOM(len) bytes; audit_w_key key_len + 4;
 * audit_w_u64 at most 20 digits; audit_w_hex 2 * len; audit_w_time
 * ,"t":"...Z" of AUDIT_TIME_ROOM.
 */
#define AUDIT_STR_ROOM(len) (6 * (len) + 2)
#define AUDIT_TIME_ROOM 34
/* ,"key": (inline: it runs for most fields of every record) */
static inline char *
audit_w_key(char *o, const char *key, size_t key_len)
{
	*o++ = ',';
	*o++ = '"';
	memcpy(o, key, key_len);
	o += key_len;
	*o++ = '"';
	*o++ = ':';
	return o;
}
char *audit_w_str(char *o, const char *s, size_t len);
char *audit_w_u64(char *o, uint64_t v);
char *audit_w_hex(char *o, const unsigned char *bin, size_t len);
char *audit_w_time(char *o, uint64_t wall_ns);
void audit_buf_free(struct audit_buf *b);
/* Each appends to b; the caller reserved room with audit_buf_reserve() for
 * the fixed-size ones. The string appenders reserve for themselves. */
int audit_put_raw(struct audit_buf *b, const char *s, size_t len);
int audit_put_str(struct audit_buf *b, const char *s, size_t len);
int audit_put_key_str_n(struct audit_buf *b, const char *key, size_t key_len,
    const char *s, size_t len);
int audit_put_key_u64_n(struct audit_buf *b, const char *key, size_t key_len,
    uint64_t v);
int audit_put_key_hex_n(struct audit_buf *b, const char *key, size_t key_len,
    const unsigned char *bin, size_t len);
/* ,"key":value. The keys are nearly always string literals, whose strlen
 * the compiler folds: these run for every field of every record. */
#define audit_put_key_str(b, key, s, len) \
	audit_put_key_str_n((b), (key), strlen(key), (s), (len))
#define audit_put_key_u64(b, key, v) \
	audit_put_key_u64_n((b), (key), strlen(key), (v))
#define audit_put_key_hex(b, key, bin, len) \
	audit_put_key_hex_n((b), (key), strlen(key), (bin), (len))
/*
 * Reads one line of at most AUDIT_LINE_MAX bytes from f into b (without
 * the newline, NUL-terminated; *complete = 0 when the file ended first).
 * Returns 1, 0 at the end of the file, or -1 for a longer line (the log is
 * attacker-writable: no unbounded allocation) or a read error.
 */
int audit_read_line(FILE *f, struct audit_buf *b, int *complete);

/*
 * Opens a log for reading without blocking on it: a FIFO with no writer
 * would hold open() forever. Regular files are accepted, and pipes and
 * FIFOs when streams is set (a log piped in from a decompressor); a
 * directory or a device is refused (a device can be an endless stream).
 * Returns a blocking descriptor, or -1 with the reason in why.
 */
int audit_open_log(const char *path, int streams, char *why, size_t whylen);

/* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ", caching the part that changes once a
 * second (gmtime is the slowest step of a decision record otherwise). */
int audit_put_time(struct audit_buf *b, uint64_t wall_ns);

#endif
