/*
 * The key material behind the audit log's seals: the long-term Ed25519 key
 * pair of `capgate keygen`, and the per-segment ratchet of epoch keys.
 *
 * Ratchet: s(n+1) = BLAKE2b(key = s(n), "capgate-audit ratchet v1"); epoch
 * n signs with the Ed25519 key whose seed is BLAKE2b(key = s(n), "...epoch
 * key v1"). Both are one-way, so whoever holds s(n) can make the keys of
 * epochs >= n and none before. The verifier never sees a seed: it learns
 * each epoch's public key from that epoch's seal and checks it against the
 * commitment chain c(i) = H(pk(i) | c(i+1)) whose head the long-term key
 * signed in the segment header (or the last epoch of the previous batch
 * signed in its seal).
 */
#include "audit/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

#define KEY_SECRET_TAG "capgate-audit-secret-key-v1 "
#define KEY_PUBLIC_TAG "capgate-audit-public-key-v1 "

static const char ratchet_label[] = "capgate-audit ratchet v1";
static const char epoch_label[] = "capgate-audit epoch key v1";
static const char commit_label[] = "capgate-audit commit v1";

void
audit_ratchet_next(unsigned char s[AUDIT_SEED_LEN])
{
	unsigned char next[AUDIT_SEED_LEN];

	crypto_generichash(next, sizeof(next),
	    (const unsigned char *)ratchet_label, sizeof(ratchet_label) - 1,
	    s, AUDIT_SEED_LEN);
	memcpy(s, next, AUDIT_SEED_LEN);
	sodium_memzero(next, sizeof(next));
}

void
audit_epoch_keypair(const unsigned char s[AUDIT_SEED_LEN],
    unsigned char pk[AUDIT_PUBKEY_LEN], unsigned char sk[AUDIT_SECKEY_LEN])
{
	unsigned char seed[crypto_sign_SEEDBYTES];

	crypto_generichash(seed, sizeof(seed),
	    (const unsigned char *)epoch_label, sizeof(epoch_label) - 1,
	    s, AUDIT_SEED_LEN);
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
}

void
audit_commit_link(const unsigned char pk[AUDIT_PUBKEY_LEN],
    const unsigned char x[AUDIT_DIGEST_LEN], unsigned char c[AUDIT_DIGEST_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, AUDIT_DIGEST_LEN);
	crypto_generichash_update(&st, (const unsigned char *)commit_label,
	    sizeof(commit_label) - 1);
	crypto_generichash_update(&st, pk, AUDIT_PUBKEY_LEN);
	crypto_generichash_update(&st, x, AUDIT_DIGEST_LEN);
	crypto_generichash_final(&st, c, AUDIT_DIGEST_LEN);
}

int
audit_batch_commit(const unsigned char s[AUDIT_SEED_LEN], uint32_t count,
    unsigned char (*c)[AUDIT_DIGEST_LEN])
{
	unsigned char *pks, *seed, sk[AUDIT_SECKEY_LEN];
	uint32_t i;

	pks = malloc((size_t)count * AUDIT_PUBKEY_LEN);
	seed = sodium_malloc(AUDIT_SEED_LEN);
	if (pks == NULL || seed == NULL) {
		free(pks);
		sodium_free(seed);
		return -1;
	}
	memcpy(seed, s, AUDIT_SEED_LEN);
	for (i = 0; i < count; i++) {
		audit_epoch_keypair(seed, pks + (size_t)i * AUDIT_PUBKEY_LEN, sk);
		audit_ratchet_next(seed);
	}
	sodium_memzero(sk, sizeof(sk));
	sodium_free(seed);
	memset(c[count], 0, AUDIT_DIGEST_LEN);
	for (i = count; i-- > 0;)
		audit_commit_link(pks + (size_t)i * AUDIT_PUBKEY_LEN, c[i + 1], c[i]);
	free(pks);
	return 0;
}

void
audit_line_hash(const char *line, size_t len, unsigned char out[AUDIT_DIGEST_LEN])
{
	crypto_generichash(out, AUDIT_DIGEST_LEN, (const unsigned char *)line,
	    len, NULL, 0);
}

void
audit_digest(const void *buf, size_t len, unsigned char out[AUDIT_DIGEST_LEN])
{
	crypto_generichash(out, AUDIT_DIGEST_LEN, buf, len, NULL, 0);
}

/* Writes "TAG hex\n" to a new file; never replaces an existing one. */
static int
write_key_file(const char *path, const char *tag, const unsigned char *bin,
    size_t len, mode_t mode, struct cg_error *err)
{
	char line[256];
	int fd, n;

	n = snprintf(line, sizeof(line), "%s", tag);
	sodium_bin2hex(line + n, sizeof(line) - (size_t)n, bin, len);
	n = (int)strlen(line);
	line[n++] = '\n';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		sodium_memzero(line, sizeof(line));
		return cg_error_set(err, "%s: %s%s", path, strerror(errno),
		    errno == EEXIST ? " (refusing to overwrite a key)" : "");
	}
	if (cg_write_full(fd, line, (size_t)n) != n || fsync(fd) != 0) {
		sodium_memzero(line, sizeof(line));
		close(fd);
		unlink(path);
		return cg_error_set(err, "%s: %s", path, strerror(errno));
	}
	sodium_memzero(line, sizeof(line));
	if (close(fd) != 0)
		return cg_error_set(err, "%s: %s", path, strerror(errno));
	return 0;
}

int
audit_keygen(const char *basename, struct cg_error *err)
{
	unsigned char pk[AUDIT_PUBKEY_LEN], sk[AUDIT_SECKEY_LEN];
	char kpath[4096], ppath[4096];
	int rc;

	if (sodium_init() < 0)
		return cg_error_set(err, "libsodium failed to initialise");
	if ((size_t)snprintf(kpath, sizeof(kpath), "%s.key", basename) >= sizeof(kpath) ||
	    (size_t)snprintf(ppath, sizeof(ppath), "%s.pub", basename) >= sizeof(ppath))
		return cg_error_set(err, "%s: name too long", basename);
	if (access(ppath, F_OK) == 0)
		return cg_error_set(err, "%s: exists (refusing to overwrite a key)", ppath);
	crypto_sign_keypair(pk, sk);
	/* The secret file stores the 32-byte seed (the first half of sk). */
	rc = write_key_file(kpath, KEY_SECRET_TAG, sk, crypto_sign_SEEDBYTES, 0600, err);
	sodium_memzero(sk, sizeof(sk));
	if (rc != 0)
		return -1;
	if (write_key_file(ppath, KEY_PUBLIC_TAG, pk, sizeof(pk), 0644, err) != 0) {
		unlink(kpath);
		return -1;
	}
	return 0;
}

/* Reads "TAG hex" from path into bin (exactly len bytes). */
static int
read_key_file(const char *path, const char *tag, unsigned char *bin, size_t len,
    int secret, struct cg_error *err)
{
	size_t tl = strlen(tag), hl;
	const char *end;
	struct stat st;
	char *text;
	int rc = -1;

	if (cg_read_file(path, 1024, &text, NULL) != 0)
		return cg_error_set(err, "%s: %s", path, strerror(errno));
	if (secret && (stat(path, &st) != 0 || (st.st_mode & 077) != 0)) {
		cg_error_set(err, "%s: secret key is accessible by group or others "
		    "(chmod 600 it)", path);
		goto out;
	}
	if (strncmp(text, tag, tl) != 0) {
		cg_error_set(err, "%s: not a capgate audit %s key", path,
		    secret ? "secret" : "public");
		goto out;
	}
	hl = strcspn(text + tl, "\n");
	if (hl != 2 * len || sodium_hex2bin(bin, len, text + tl, hl, NULL, NULL,
	    &end) != 0) {
		cg_error_set(err, "%s: malformed key", path);
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(text, strlen(text));
	free(text);
	return rc;
}

int
audit_key_load_public(const char *path, unsigned char pk[AUDIT_PUBKEY_LEN],
    struct cg_error *err)
{
	return read_key_file(path, KEY_PUBLIC_TAG, pk, AUDIT_PUBKEY_LEN, 0, err);
}

int
audit_key_load_secret(const char *path, unsigned char sk[AUDIT_SECKEY_LEN],
    struct cg_error *err)
{
	unsigned char seed[crypto_sign_SEEDBYTES], pk[AUDIT_PUBKEY_LEN];

	if (sodium_init() < 0)
		return cg_error_set(err, "libsodium failed to initialise");
	if (read_key_file(path, KEY_SECRET_TAG, seed, sizeof(seed), 1, err) != 0)
		return -1;
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
	return 0;
}
