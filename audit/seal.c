/*
 * The key material behind the audit log's seals.
 *
 * Ratchet: s(n+1) = BLAKE2b(key = s(n), "capgate-audit ratchet v1"); epoch
 * n signs with the Ed25519 key whose seed is BLAKE2b(key = s(n), "...epoch
 * key v1"). Both steps are one-way, so whoever holds s(n) can make the keys
 * of epochs >= n and none before.
 *
 * `capgate keygen` draws s(0) and publishes pk(0), the public key of epoch
 * 0, as BASENAME.pub. The verifier learns every later epoch's public key
 * from the seal before it: the seal of epoch n is signed by sk(n) and names
 * pk(n+1). That is a chain of certificates rooted in BASENAME.pub, and
 * every link was made by a key that has since been destroyed.
 *
 * BASENAME.key is not a fixed secret but the ratchet's current state
 * (epoch, seed), rewritten in place after every seal. Reading it later
 * gives an attacker the keys of the current and future epochs only.
 */
#include "audit/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

#define KEY_SECRET_TAG "capgate-audit-secret-key-v2\n"
#define KEY_PUBLIC_TAG "capgate-audit-public-key-v2 "
/* "slot EPOCH(20) SEED(64 hex) CHECK(16 hex)\n" */
#define SLOT_LEN (5 + 20 + 1 + 64 + 1 + 16 + 1)
#define SLOT_OFF(i) (sizeof(KEY_SECRET_TAG) - 1 + (size_t)(i) * SLOT_LEN)
#define KEYFILE_LEN SLOT_OFF(2)

static const char ratchet_label[] = "capgate-audit ratchet v1";
static const char epoch_label[] = "capgate-audit epoch key v1";

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

/*
 * SHA-256 through nettle, which uses the CPU's SHA instructions where it
 * has them: 0.25 us for a 400-byte record line here against 0.66 us for
 * libsodium's BLAKE2b, the chain's hash before version 3 (docs/AUDIT.md).
 */
static void
hash_bytes(enum audit_hash h, const void *buf, size_t len,
    unsigned char out[AUDIT_DIGEST_LEN])
{
	struct sha256_ctx c;

	if (h == AUDIT_HASH_BLAKE2B) {
		crypto_generichash(out, AUDIT_DIGEST_LEN, buf, len, NULL, 0);
		return;
	}
	sha256_init(&c);
	sha256_update(&c, len, buf);
	sha256_digest(&c, AUDIT_DIGEST_LEN, out);
}

void
audit_line_hash(enum audit_hash h, const char *line, size_t len,
    unsigned char out[AUDIT_DIGEST_LEN])
{
	hash_bytes(h, line, len, out);
}

enum audit_hash
audit_hash_of_version(long long version)
{
	switch (version) {
	case AUDIT_HASH_BLAKE2B:
		return AUDIT_HASH_BLAKE2B;
	case AUDIT_HASH_SHA256:
		return AUDIT_HASH_SHA256;
	default:
		return 0;
	}
}

void
audit_digest(const struct cg_audit *a, const void *buf, size_t len,
    unsigned char out[AUDIT_DIGEST_LEN])
{
	hash_bytes(a != NULL ? audit_log_hash(a) : AUDIT_HASH_CURRENT, buf, len,
	    out);
}

/* The checksum tells a torn slot (a crash mid-overwrite) from a good one. */
static void
slot_check(const char *slot, unsigned char out[8])
{
	crypto_generichash(out, 8, (const unsigned char *)slot, SLOT_LEN - 18,
	    NULL, 0);
}

static void
slot_format(char slot[SLOT_LEN + 1], uint64_t epoch,
    const unsigned char seed[AUDIT_SEED_LEN])
{
	unsigned char check[8];

	snprintf(slot, SLOT_LEN + 1, "slot %020llu ", (unsigned long long)epoch);
	sodium_bin2hex(slot + 26, 65, seed, AUDIT_SEED_LEN);
	slot[90] = ' ';
	slot_check(slot, check);
	sodium_bin2hex(slot + 91, 17, check, sizeof(check));
	slot[SLOT_LEN - 1] = '\n';
}

/* 0 and (epoch, seed) for a good slot, -1 for a torn or wiped one. */
static int
slot_parse(const char *slot, uint64_t *epoch, unsigned char seed[AUDIT_SEED_LEN])
{
	unsigned char check[8], want[8];
	char digits[21];

	if (memcmp(slot, "slot ", 5) != 0 || slot[25] != ' ' || slot[90] != ' ' ||
	    slot[SLOT_LEN - 1] != '\n')
		return -1;
	slot_check(slot, want);
	if (sodium_hex2bin(check, 8, slot + 91, 16, NULL, NULL, NULL) != 0 ||
	    sodium_memcmp(check, want, 8) != 0 ||
	    sodium_hex2bin(seed, AUDIT_SEED_LEN, slot + 26, 64, NULL, NULL, NULL) != 0)
		return -1;
	memcpy(digits, slot + 5, 20);
	digits[20] = '\0';
	*epoch = strtoull(digits, NULL, 10);
	return 0;
}

int
audit_keyfile_store(int fd, uint64_t epoch, const unsigned char seed[AUDIT_SEED_LEN])
{
	char slot[SLOT_LEN + 1], wiped[SLOT_LEN];
	int rc = 0;

	slot_format(slot, epoch, seed);
	memset(wiped, '-', sizeof(wiped));
	wiped[SLOT_LEN - 1] = '\n';
	/* New state first, then the old one goes: a crash in between leaves
	 * two good slots and the reader takes the later epoch. */
	if (pwrite(fd, slot, SLOT_LEN, (off_t)SLOT_OFF(epoch % 2)) != SLOT_LEN ||
	    pwrite(fd, wiped, SLOT_LEN, (off_t)SLOT_OFF((epoch + 1) % 2)) != SLOT_LEN)
		rc = -1;
	sodium_memzero(slot, sizeof(slot));
	return rc;
}

int
audit_keyfile_open(const char *path, uint64_t *epoch,
    unsigned char seed[AUDIT_SEED_LEN], struct cg_error *err)
{
	unsigned char s2[AUDIT_SEED_LEN];
	char buf[KEYFILE_LEN];
	struct stat st;
	uint64_t e1, e2;
	int fd, ok1, ok2;

	if (sodium_init() < 0)
		return cg_error_set(err, "libsodium failed to initialise");
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return cg_error_set(err, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		close(fd);
		return cg_error_set(err, "%s: not a regular file of mode 0600 "
		    "(the audit secret key must not be readable by others)", path);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return cg_error_set(err, "%s: in use by another writer (one key "
		    "seals one log)", path);
	}
	if (pread(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf) ||
	    memcmp(buf, KEY_SECRET_TAG, sizeof(KEY_SECRET_TAG) - 1) != 0) {
		close(fd);
		return cg_error_set(err, "%s: not a capgate audit secret key", path);
	}
	ok1 = slot_parse(buf + SLOT_OFF(0), &e1, seed) == 0;
	ok2 = slot_parse(buf + SLOT_OFF(1), &e2, s2) == 0;
	if (ok2 && (!ok1 || e2 > e1)) {
		memcpy(seed, s2, sizeof(s2));
		e1 = e2;
	}
	sodium_memzero(s2, sizeof(s2));
	sodium_memzero(buf, sizeof(buf));
	if (!ok1 && !ok2) {
		close(fd);
		return cg_error_set(err, "%s: no intact key slot", path);
	}
	*epoch = e1;
	return fd;
}

/* Creates path with the given bytes; never replaces an existing file. */
static int
create_file(const char *path, const char *data, size_t len, mode_t mode,
    struct cg_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);

	if (fd < 0)
		return cg_error_set(err, "%s: %s%s", path, strerror(errno),
		    errno == EEXIST ? " (refusing to overwrite a key)" : "");
	if (cg_write_full(fd, data, len) != (ssize_t)len || fsync(fd) != 0) {
		cg_error_set(err, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if (close(fd) != 0)
		return cg_error_set(err, "%s: %s", path, strerror(errno));
	return 0;
}

int
audit_keygen(const char *basename, struct cg_error *err)
{
	unsigned char seed[AUDIT_SEED_LEN], pk[AUDIT_PUBKEY_LEN], sk[AUDIT_SECKEY_LEN];
	char kpath[4096], ppath[4096], key[KEYFILE_LEN], pub[128];
	int rc;

	if (sodium_init() < 0)
		return cg_error_set(err, "libsodium failed to initialise");
	if ((size_t)snprintf(kpath, sizeof(kpath), "%s.key", basename) >= sizeof(kpath) ||
	    (size_t)snprintf(ppath, sizeof(ppath), "%s.pub", basename) >= sizeof(ppath))
		return cg_error_set(err, "%s: name too long", basename);
	if (access(ppath, F_OK) == 0)
		return cg_error_set(err, "%s: exists (refusing to overwrite a key)", ppath);
	randombytes_buf(seed, sizeof(seed));
	audit_epoch_keypair(seed, pk, sk);
	sodium_memzero(sk, sizeof(sk));
	memcpy(key, KEY_SECRET_TAG, sizeof(KEY_SECRET_TAG) - 1);
	slot_format(key + SLOT_OFF(0), 0, seed);
	memset(key + SLOT_OFF(1), '-', SLOT_LEN);
	key[KEYFILE_LEN - 1] = '\n';
	sodium_memzero(seed, sizeof(seed));
	rc = create_file(kpath, key, sizeof(key), 0600, err);
	sodium_memzero(key, sizeof(key));
	if (rc != 0)
		return -1;
	snprintf(pub, sizeof(pub), "%s", KEY_PUBLIC_TAG);
	sodium_bin2hex(pub + strlen(pub), sizeof(pub) - strlen(pub), pk, sizeof(pk));
	strcat(pub, "\n");
	if (create_file(ppath, pub, strlen(pub), 0644, err) != 0) {
		unlink(kpath);
		return -1;
	}
	return 0;
}

int
audit_key_load_public(const char *path, unsigned char pk[AUDIT_PUBKEY_LEN],
    struct cg_error *err)
{
	size_t tl = strlen(KEY_PUBLIC_TAG);
	char *text;
	int rc = 0;

	if (cg_read_file(path, 1024, &text, NULL) != 0)
		return cg_error_set(err, "%s: %s", path, strerror(errno));
	if (strncmp(text, KEY_PUBLIC_TAG, tl) != 0 ||
	    strcspn(text + tl, "\n") != 2 * AUDIT_PUBKEY_LEN ||
	    sodium_hex2bin(pk, AUDIT_PUBKEY_LEN, text + tl, 2 * AUDIT_PUBKEY_LEN,
	    NULL, NULL, NULL) != 0)
		rc = cg_error_set(err, "%s: not a capgate audit public key", path);
	free(text);
	return rc;
}
