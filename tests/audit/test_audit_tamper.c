/*
 * Tampering that `audit verify` must detect and locate. Each test writes a
 * good log, changes it the way an attacker would, and checks the verdict
 * and the line it names. The attacker is given as much as the threat model
 * allows: it can rewrite the file, recompute hashes, and (in the re-seal
 * tests) holds the ratchet state of a gateway it took over later.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/internal.h"
#include "audit/writer_priv.h"
#include "common/util.h"
#include "helpers.h"

TestSuite(audit_tamper, .fini = th_cleanup);

/* 1-based line number of lines index i */
#define LINE(i) ((uint64_t)(i) + 1)

static void
expect_bad(const struct th_env *e, uint64_t line, const char *words)
{
	struct cg_audit_verify_result res;

	cr_assert_eq(th_verify(e, &res), CG_AUDIT_BAD,
	    "tampering passed as %d: %s", res.verdict, res.msg);
	cr_assert_eq(res.line, line, "blamed line %llu, expected %llu: %s",
	    (unsigned long long)res.line, (unsigned long long)line, res.msg);
	if (words != NULL)
		cr_assert(strstr(res.msg, words) != NULL, "message: %s", res.msg);
}

/* Sets line i's "prev" to the hash of line i-1, as an attacker who
 * recomputes the chain would. */
static void
fix_prev(struct th_lines *l, size_t i)
{
	unsigned char h[AUDIT_DIGEST_LEN];
	char hex[2 * AUDIT_DIGEST_LEN + 1], *p;

	audit_line_hash(AUDIT_HASH_CURRENT, l->line[i - 1],
	    strlen(l->line[i - 1]), h);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	p = strstr(l->line[i], "\"prev\":\"");
	cr_assert_not_null(p);
	memcpy(p + 8, hex, 64);
}

/* Renumbers line i to follow line i-1. */
static void
fix_n(struct th_lines *l, size_t i)
{
	unsigned long long prev_n;
	char *rest, buf[8192];

	cr_assert_eq(sscanf(l->line[i - 1], "{\"n\":%llu,", &prev_n), 1);
	rest = strchr(l->line[i], ',');
	snprintf(buf, sizeof(buf), "{\"n\":%llu%s", prev_n + 1, rest);
	th_set_line(l, i, buf);
}

static void
rechain(struct th_lines *l, size_t from)
{
	size_t i;

	for (i = from; i < l->n; i++) {
		fix_n(l, i);
		fix_prev(l, i);
	}
}

/* Re-signs a signed line with sk (after its body was changed). */
static void
resign(struct th_lines *l, size_t i, const unsigned char *sk)
{
	unsigned char sig[AUDIT_SIG_LEN];
	char hex[2 * AUDIT_SIG_LEN + 1], buf[8192];
	size_t body = strlen(l->line[i]) - AUDIT_SIG_TAIL_LEN;

	crypto_sign_detached(sig, NULL, (const unsigned char *)l->line[i], body, sk);
	sodium_bin2hex(hex, sizeof(hex), sig, sizeof(sig));
	snprintf(buf, sizeof(buf), "%.*s,\"sig\":\"%s\"}", (int)body, l->line[i], hex);
	th_set_line(l, i, buf);
}

/* Replaces the 64-hex value of "key" in line i. */
static void
set_hex_field(struct th_lines *l, size_t i, const char *key,
    const unsigned char *bin, size_t len)
{
	char pat[64], hex[200], *p;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	p = strstr(l->line[i], pat);
	cr_assert_not_null(p);
	sodium_bin2hex(hex, sizeof(hex), bin, len);
	memcpy(p + strlen(pat), hex, 2 * len);
}

/* 40 decisions, a seal after every 10: lines 0 header, 1-10 records, 11 seal,
 * 12-21, 22 seal, 23-32, 33 seal, 34-43, 44 seal, 45 final seal. */
static void
good_log(struct th_env *e, struct th_lines *l)
{
	th_setup(e);
	th_write_log(e, 40, 10);
	th_read_lines(e->log, l);
	cr_assert_eq(l->n, 46);
	cr_assert(strstr(l->line[11], "\"ev\":\"seal\"") != NULL);
}

Test(audit_tamper, one_byte_changed_in_a_middle_record)
{
	struct th_env e;
	struct th_lines l;
	char *p;

	good_log(&e, &l);
	p = strstr(l.line[17], "\"req\":");
	cr_assert_not_null(p);
	p[6] = p[6] == '9' ? '8' : (char)(p[6] + 1);
	th_write_lines(e.log, &l);
	expect_bad(&e, LINE(17), "altered");
	th_free_lines(&l);
}

Test(audit_tamper, byte_changed_in_a_record_prev_field)
{
	struct th_env e;
	struct th_lines l;
	char *p;

	good_log(&e, &l);
	p = strstr(l.line[17], "\"prev\":\"");
	p[10] = p[10] == 'a' ? 'b' : 'a';
	th_write_lines(e.log, &l);
	expect_bad(&e, LINE(17), "altered");
	th_free_lines(&l);
}

Test(audit_tamper, byte_changed_breaks_json)
{
	struct th_env e;
	struct th_lines l;

	good_log(&e, &l);
	l.line[30][0] = '[';
	th_write_lines(e.log, &l);
	expect_bad(&e, LINE(30), "not a JSON record");
	th_free_lines(&l);
}

Test(audit_tamper, record_deleted)
{
	struct th_env e;
	struct th_lines l;

	good_log(&e, &l);
	free(l.line[15]);
	memmove(&l.line[15], &l.line[16], (l.n - 16) * sizeof(char *));
	l.n--;
	th_write_lines(e.log, &l);
	expect_bad(&e, LINE(15), "removed");
	th_free_lines(&l);
}

/* Deleting and renumbering, with the chain recomputed: the epoch's seal
 * (signed over the old chain) gives it away. */
Test(audit_tamper, record_deleted_and_chain_recomputed)
{
	struct th_env e;
	struct th_lines l;

	good_log(&e, &l);
	free(l.line[15]);
	memmove(&l.line[15], &l.line[16], (l.n - 16) * sizeof(char *));
	l.n--;
	rechain(&l, 15);
	th_write_lines(e.log, &l);
	expect_bad(&e, LINE(21), "epoch 1");   /* the seal, now one line up */
	th_free_lines(&l);
}

Test(audit_tamper, two_records_swapped)
{
	struct th_env e;
	struct th_lines l;
	char *t;

	good_log(&e, &l);
	t = l.line[25];
	l.line[25] = l.line[26];
	l.line[26] = t;
	th_write_lines(e.log, &l);
	expect_bad(&e, LINE(25), "n=");
	th_free_lines(&l);
}

Test(audit_tamper, forged_record_inserted)
{
	struct th_env e;
	struct th_lines l;

	good_log(&e, &l);
	l.line = realloc(l.line, (l.n + 1) * sizeof(char *));
	memmove(&l.line[6], &l.line[5], (l.n - 5) * sizeof(char *));
	l.n++;
	l.line[5] = strdup(l.line[4]);
	rechain(&l, 5);
	th_write_lines(e.log, &l);
	/* the chain was recomputed, so the first record the log cannot hold
	 * is the one past the epoch's limit */
	expect_bad(&e, LINE(11), "inserted");
	th_free_lines(&l);
}

Test(audit_tamper, tail_truncated_at_a_record_boundary)
{
	struct cg_audit_verify_result res;
	struct th_env e;
	struct th_lines l;

	good_log(&e, &l);
	l.n -= 3;                     /* drop the final seal and more */
	th_write_lines(e.log, &l);
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_UNCLEAN, "%d %s", res.verdict, res.msg);
	cr_assert_eq(res.line, LINE(l.n - 1));
	cr_assert_eq(res.sealed_line, LINE(33), "%s", res.msg);
	cr_assert(strstr(res.msg, "uncleanly") != NULL, "%s", res.msg);
	l.n += 3;
	th_free_lines(&l);
}

Test(audit_tamper, tail_truncated_mid_record)
{
	struct cg_audit_verify_result res;
	struct th_env e;
	struct th_lines l;

	good_log(&e, &l);
	l.n -= 1;
	l.line[l.n - 1][20] = '\0';
	l.torn = 1;
	th_write_lines(e.log, &l);
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_UNCLEAN, "%d %s", res.verdict, res.msg);
	cr_assert_eq(res.line, LINE(l.n - 1));
	cr_assert(strstr(res.msg, "incomplete") != NULL, "%s", res.msg);
	l.n += 1;
	th_free_lines(&l);
}

/* Truncating and then continuing the log with records of one's own: the
 * next seal would need the key of an epoch the attacker never had. */
Test(audit_tamper, truncated_then_continued)
{
	struct th_env e;
	struct th_lines l;
	size_t i;

	good_log(&e, &l);
	/* drop records 20..22 (and the seal at 22), keep going */
	for (i = 20; i < 23; i++)
		free(l.line[i]);
	memmove(&l.line[20], &l.line[23], (l.n - 23) * sizeof(char *));
	l.n -= 3;
	rechain(&l, 20);
	th_write_lines(e.log, &l);
	expect_bad(&e, LINE(22), "seals removed");
	th_free_lines(&l);
}

Test(audit_tamper, forged_record_appended_after_shutdown)
{
	struct th_env e;
	struct th_lines l;

	good_log(&e, &l);
	l.line = realloc(l.line, (l.n + 1) * sizeof(char *));
	l.line[l.n] = strdup(l.line[20]);
	l.n++;
	rechain(&l, l.n - 1);
	th_write_lines(e.log, &l);
	expect_bad(&e, LINE(l.n - 1), "clean-shutdown");
	th_free_lines(&l);
}

Test(audit_tamper, forged_record_appended_before_final_seal)
{
	struct th_env e;
	struct th_lines l;

	good_log(&e, &l);
	l.line = realloc(l.line, (l.n + 1) * sizeof(char *));
	l.line[l.n] = l.line[l.n - 1];
	l.line[l.n - 1] = strdup(l.line[40]);
	l.n++;
	rechain(&l, l.n - 2);
	th_write_lines(e.log, &l);
	expect_bad(&e, LINE(l.n - 1), "epoch 4");
	th_free_lines(&l);
}

/*
 * The journald CVE-2023-31438 case: a gateway taken over at epoch 3 holds
 * the ratchet seed of epoch 3. It alters a record of epoch 1, recomputes
 * the chain and re-seals epoch 1 with the key it has.
 */
static void
compromised_log(struct th_env *e, struct th_lines *l, unsigned char sk3[64],
    unsigned char pk3[32])
{
	struct cg_audit_config cfg;
	struct cg_error err;
	struct cg_audit *a;
	unsigned char seed[AUDIT_SEED_LEN];
	uint64_t epoch;

	th_setup(e);
	(void)pk3;
	cfg = th_config(e, 10);
	a = audit_open(&cfg, "aa", &err);
	cr_assert_not_null(a);
	th_decisions(a, 35, 1);
	cr_assert_eq(audit_debug_state(a, seed, &epoch), 0);
	cr_assert_eq(epoch, 3);
	audit_epoch_keypair(seed, pk3, sk3);
	th_decisions(a, 5, 100);
	cr_assert_eq(audit_close(a), 0);
	th_read_lines(e->log, l);
	cr_assert(strstr(l->line[22], "\"epoch\":1,") != NULL, "%s", l->line[22]);
}

Test(audit_tamper, sealed_epoch_resealed_with_a_later_key)
{
	unsigned char sk3[64], pk3[32];
	struct th_env e;
	struct th_lines l;
	char *p;

	compromised_log(&e, &l, sk3, pk3);
	p = strstr(l.line[15], "\"decision\":\"deny\"");
	cr_assert_not_null(p, "%s", l.line[15]);
	memcpy(p + 12, "nope", 4);          /* the attacker's edit */
	rechain(&l, 16);
	resign(&l, 22, sk3);
	th_write_lines(e.log, &l);
	expect_bad(&e, LINE(22), "signature does not verify");
	th_free_lines(&l);
}

/* ... and also points the certificate in seal 0 at its own key: seal 0 was
 * signed by epoch 0's key, which is long gone. */
Test(audit_tamper, certificate_chain_redirected_to_a_later_key)
{
	unsigned char sk3[64], pk3[32];
	struct th_env e;
	struct th_lines l;
	char *p;

	compromised_log(&e, &l, sk3, pk3);
	p = strstr(l.line[14], "\"reason\":\"");
	p[10] = 'X';
	rechain(&l, 15);
	set_hex_field(&l, 11, "next", pk3, 32);
	rechain(&l, 12);
	resign(&l, 22, sk3);
	th_write_lines(e.log, &l);
	expect_bad(&e, LINE(11), "signature does not verify");
	th_free_lines(&l);
}

/* The key file read after the fact (a stolen BASENAME.key) holds the state
 * of the epoch after the last seal: it can neither re-seal old epochs nor
 * start a fabricated log. */
Test(audit_tamper, stolen_key_file_cannot_rewrite_history)
{
	unsigned char seed[AUDIT_SEED_LEN], pk[32], sk[64];
	struct cg_error err;
	struct th_env e;
	struct th_lines l;
	uint64_t epoch;
	char *p;
	int fd;

	good_log(&e, &l);
	fd = audit_keyfile_open(e.key, &epoch, seed, &err);
	cr_assert_geq(fd, 0, "%s", err.msg);
	close(fd);
	cr_assert_eq(epoch, 5);
	audit_epoch_keypair(seed, pk, sk);
	/* re-seal epoch 1 */
	p = strstr(l.line[14], "\"reason\":\"");
	p[10] = 'X';
	rechain(&l, 15);
	resign(&l, 22, sk);
	th_write_lines(e.log, &l);
	expect_bad(&e, LINE(22), "signature does not verify");
	/* a fabricated log whose first run is signed with the stolen key */
	set_hex_field(&l, 0, "pk", pk, 32);
	resign(&l, 0, sk);
	th_write_lines(e.log, &l);
	expect_bad(&e, 1, "another key");
	th_free_lines(&l);
}

/* With the epoch-3 key the attacker can re-seal epoch 3 and later; it can
 * drop epochs 1 and 2 and relabel, but the epoch numbers or the
 * commitments give it away. */
Test(audit_tamper, epochs_removed_and_later_ones_relabelled)
{
	unsigned char sk3[64], pk3[32];
	struct th_env e;
	struct th_lines l;
	size_t i;
	char *p;

	compromised_log(&e, &l, sk3, pk3);
	for (i = 12; i < 34; i++)
		free(l.line[i]);
	memmove(&l.line[12], &l.line[34], (l.n - 34) * sizeof(char *));
	l.n -= 22;
	rechain(&l, 12);
	p = strstr(l.line[22], "\"epoch\":3,");
	cr_assert_not_null(p, "%s", l.line[22]);
	p[8] = '1';
	resign(&l, 22, sk3);
	th_write_lines(e.log, &l);
	expect_bad(&e, LINE(22), "signature does not verify");
	th_free_lines(&l);
}

Test(audit_tamper, all_seals_stripped)
{
	struct th_env e;
	struct th_lines l;
	size_t i, k = 0;

	good_log(&e, &l);
	for (i = 0; i < l.n; i++) {
		if (i > 0 && strstr(l.line[i], "\"ev\":\"seal\"") != NULL)
			free(l.line[i]);
		else
			l.line[k++] = l.line[i];
	}
	l.n = k;
	rechain(&l, 1);
	th_write_lines(e.log, &l);
	expect_bad(&e, LINE(11), "seals removed");
	th_free_lines(&l);
}

Test(audit_tamper, seals_and_header_stripped)
{
	struct th_env e;
	struct th_lines l;
	size_t i, k = 0;

	good_log(&e, &l);
	free(l.line[0]);
	for (i = 1; i < l.n; i++) {
		if (strstr(l.line[i], "\"ev\":\"seal\"") != NULL)
			free(l.line[i]);
		else
			l.line[k++] = l.line[i];
	}
	l.n = k;
	th_write_lines(e.log, &l);
	expect_bad(&e, 1, "does not start");
	th_free_lines(&l);
}

Test(audit_tamper, one_seal_removed)
{
	struct th_env e;
	struct th_lines l;

	good_log(&e, &l);
	free(l.line[22]);
	memmove(&l.line[22], &l.line[23], (l.n - 23) * sizeof(char *));
	l.n--;
	rechain(&l, 22);
	th_write_lines(e.log, &l);
	expect_bad(&e, LINE(22), "seals removed");
	th_free_lines(&l);
}

Test(audit_tamper, verified_against_the_wrong_key)
{
	struct cg_audit_verify_result res;
	struct cg_error err;
	struct th_env e, other;
	const char *files[1];

	th_setup(&e);
	th_setup(&other);
	th_write_log(&e, 5, 10);
	files[0] = e.log;
	cr_assert_eq(audit_verify_files(files, 1, other.pk, &res), CG_AUDIT_BAD);
	cr_assert_eq(res.line, 1);
	cr_assert(strstr(res.msg, "another key") != NULL, "%s", res.msg);
	(void)err;
}

/* A new segment header forged without the long-term key. */
Test(audit_tamper, segment_header_forged)
{
	unsigned char pk[32], sk[64];
	struct th_env e;
	struct th_lines l;

	good_log(&e, &l);
	crypto_sign_keypair(pk, sk);
	resign(&l, 0, sk);
	th_write_lines(e.log, &l);
	expect_bad(&e, 1, "signature does not verify");
	th_free_lines(&l);
}

Test(audit_tamper, seal_moved_to_another_place)
{
	struct th_env e;
	struct th_lines l;
	char *t;

	good_log(&e, &l);
	t = l.line[11];
	memmove(&l.line[11], &l.line[12], 2 * sizeof(char *));
	l.line[13] = t;
	rechain(&l, 11);
	th_write_lines(e.log, &l);
	expect_bad(&e, LINE(11), "seals removed");
	th_free_lines(&l);
}

Test(audit_tamper, empty_file)
{
	struct cg_audit_verify_result res;
	struct th_env e;
	FILE *f;

	th_setup(&e);
	f = fopen(e.log, "w");
	fclose(f);
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_BAD);
	cr_assert(strstr(res.msg, "empty") != NULL, "%s", res.msg);
}

/* Feeds a whole log held in memory to a verifier. */
static enum cg_audit_verdict
verify_buffer(const unsigned char pk[32], const char *buf, size_t len,
    struct cg_audit_verify_result *res)
{
	struct cg_audit_verifier *v = audit_verifier_new(pk);
	const char *p = buf, *end = buf + len, *nl;
	enum cg_audit_verdict verdict;

	cr_assert_not_null(v);
	audit_verifier_file(v, "mem");
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (audit_verifier_line(v, p, (size_t)((nl ? nl : end) - p),
		    nl != NULL, NULL) != 0)
			break;
		p = nl ? nl + 1 : end;
	}
	verdict = audit_verifier_result(v, res);
	audit_verifier_free(v);
	return verdict;
}

/* Every byte of the log is covered by a hash or a signature: flipping any
 * single bit anywhere must never verify as intact. */
Test(audit_tamper, every_single_bit_flip_is_detected)
{
	struct cg_audit_verify_result res;
	struct th_env e;
	char *text;
	size_t len, i;
	int bad = 0, unclean = 0;

	th_setup(&e);
	th_write_log(&e, 9, 4);
	cr_assert_eq(cg_read_file(e.log, 1 << 20, &text, &len), 0);
	cr_assert_eq(verify_buffer(e.pk, text, len, &res), CG_AUDIT_INTACT, "%s", res.msg);
	for (i = 0; i < len; i++) {
		text[i] ^= (char)(1 << (i % 8));
		switch (verify_buffer(e.pk, text, len, &res)) {
		case CG_AUDIT_INTACT:
			cr_assert_fail("bit %zu of byte %zu flipped and the log verified", i % 8, i);
			break;
		case CG_AUDIT_BAD:
			bad++;
			break;
		case CG_AUDIT_UNCLEAN:
			unclean++;
			break;
		}
		text[i] ^= (char)(1 << (i % 8));
	}
	/* only the last newline: without it the last record looks torn */
	cr_assert_eq(unclean, 1, "%d flips read as a crash", unclean);
	cr_assert_eq((size_t)(bad + unclean), len);
	free(text);
}

/* Cutting the log at any byte never verifies as intact: inside the first
 * record it is bad, anywhere else it reads as a log that ended early. */
Test(audit_tamper, every_truncation_is_reported)
{
	struct cg_audit_verify_result res;
	enum cg_audit_verdict verdict;
	struct th_env e;
	size_t len, cut, first_nl;
	char *text;

	th_setup(&e);
	th_write_log(&e, 9, 4);
	cr_assert_eq(cg_read_file(e.log, 1 << 20, &text, &len), 0);
	first_nl = (size_t)(strchr(text, '\n') - text);
	for (cut = 0; cut < len; cut++) {
		verdict = verify_buffer(e.pk, text, cut, &res);
		cr_assert_neq(verdict, CG_AUDIT_INTACT, "cut at %zu verified", cut);
		if (cut > first_nl)
			cr_assert_eq(verdict, CG_AUDIT_UNCLEAN, "cut at %zu: %s", cut,
			    res.msg);
	}
	free(text);
}

/* Removing any one line, or swapping any two neighbours, is bad (removing
 * the last line is a truncation: unclean). */
Test(audit_tamper, every_deletion_and_swap_is_detected)
{
	struct cg_audit_verify_result res;
	struct th_env e;
	struct th_lines l;
	char buf[1 << 16], *t;
	size_t i, j, len;

	good_log(&e, &l);
	for (i = 0; i < l.n; i++) {
		for (j = 0, len = 0; j < l.n; j++)
			if (j != i)
				len += (size_t)snprintf(buf + len, sizeof(buf) - len,
				    "%s\n", l.line[j]);
		cr_assert_lt(len, sizeof(buf));
		cr_assert_eq(verify_buffer(e.pk, buf, len, &res),
		    i + 1 == l.n ? CG_AUDIT_UNCLEAN : CG_AUDIT_BAD,
		    "line %zu removed: %s", i + 1, res.msg);
	}
	for (i = 0; i + 1 < l.n; i++) {
		t = l.line[i];
		l.line[i] = l.line[i + 1];
		l.line[i + 1] = t;
		for (j = 0, len = 0; j < l.n; j++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s\n",
			    l.line[j]);
		cr_assert_eq(verify_buffer(e.pk, buf, len, &res), CG_AUDIT_BAD,
		    "lines %zu and %zu swapped: %s", i + 1, i + 2, res.msg);
		cr_assert_eq(res.line, i + 1, "swap at %zu reported at %llu", i + 1,
		    (unsigned long long)res.line);
		l.line[i + 1] = l.line[i];
		l.line[i] = t;
	}
	th_free_lines(&l);
}
