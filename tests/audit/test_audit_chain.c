/* The writer and the verifier on untampered logs: what a good log is. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/internal.h"
#include "audit/writer_priv.h"
#include "common/util.h"
#include "helpers.h"

TestSuite(audit_chain, .fini = th_cleanup);

Test(audit_chain, fresh_log_verifies)
{
	struct cg_audit_verify_result res;
	struct th_env e;
	struct th_lines l;

	th_setup(&e);
	th_write_log(&e, 25, 10);
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_INTACT, "%s:%llu: %s",
	    res.file, (unsigned long long)res.line, res.msg);
	th_read_lines(e.log, &l);
	/* header, 25 records, seals after 10 and 20, final seal */
	cr_assert_eq(l.n, 1 + 25 + 3);
	cr_assert_eq(res.seals, 3);
	cr_assert_eq(res.segments, 1);
	cr_assert(strstr(l.line[0], "\"ev\":\"open\"") != NULL);
	cr_assert(strstr(l.line[l.n - 1], "\"final\":true") != NULL);
	th_free_lines(&l);
}

Test(audit_chain, decision_record_shape)
{
	struct th_env e;
	struct th_lines l;
	json_t *r;

	th_setup(&e);
	th_write_log(&e, 3, 100);
	th_read_lines(e.log, &l);
	r = json_loads(l.line[2], JSON_REJECT_DUPLICATES, NULL);
	cr_assert_not_null(r, "%s", l.line[2]);
	cr_assert_str_eq(json_string_value(json_object_get(r, "ev")), "decision");
	cr_assert_eq(json_integer_value(json_object_get(r, "n")), 2);
	cr_assert_str_eq(json_string_value(json_object_get(r, "client")), "main");
	cr_assert_eq(json_integer_value(json_object_get(r, "pid")), 4242);
	cr_assert_str_eq(json_string_value(json_object_get(r, "channel")), "notes:list");
	cr_assert_str_eq(json_string_value(json_object_get(r, "decision")), "deny");
	cr_assert_str_eq(json_string_value(json_object_get(r, "reason")), "schema");
	cr_assert_str_eq(json_string_value(json_object_get(r, "pointer")), "/path");
	cr_assert_str_eq(json_string_value(json_object_get(r, "policy")), "00ff");
	cr_assert_eq(strlen(json_string_value(json_object_get(r, "digest"))), 64);
	cr_assert_eq(strlen(json_string_value(json_object_get(r, "prev"))), 64);
	cr_assert_float_eq(json_number_value(json_object_get(r, "us")), 1.010, 1e-9);
	cr_assert_null(json_object_get(r, "payload"));
	json_decref(r);
	th_free_lines(&l);
}

/* Bytes a client chose must not change the structure of the line. */
Test(audit_chain, hostile_strings_are_escaped)
{
	static const char chan[] = "x\",\"decision\":\"allow\"\n\033[31m\\\xff\xc0\xaf\xed\xa0\x80ok\xe2\x82\xac";
	struct cg_audit_config cfg;
	struct cg_audit_decision d;
	struct cg_audit_verify_result res;
	struct cg_error err;
	struct cg_audit *a;
	struct th_env e;
	struct th_lines l;
	json_t *r;

	th_setup(&e);
	cfg = th_config(&e, 100);
	a = audit_open(&cfg, "", &err);
	cr_assert_not_null(a);
	memset(&d, 0, sizeof(d));
	d.client = "main";
	d.channel = chan;
	d.channel_len = sizeof(chan) - 1;
	d.decision = CG_DECISION_NOTFOUND;
	d.payload = "{\"a\":\"\x01\"}";
	d.payload_len = strlen(d.payload);
	cr_assert_eq(audit_append_decision(a, &d), 0);
	cr_assert_eq(audit_close(a), 0);
	th_read_lines(e.log, &l);
	cr_assert_eq(l.n, 3);
	r = json_loads(l.line[1], JSON_REJECT_DUPLICATES, NULL);
	cr_assert_not_null(r, "%s", l.line[1]);
	cr_assert_str_eq(json_string_value(json_object_get(r, "channel")),
	    "x\",\"decision\":\"allow\"\n\033[31m\\\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdok\xe2\x82\xac");
	cr_assert_str_eq(json_string_value(json_object_get(r, "decision")), "deny");
	cr_assert_str_eq(json_string_value(json_object_get(r, "reason")), "not-found");
	cr_assert_str_eq(json_string_value(json_object_get(r, "payload")), "{\"a\":\"\x01\"}");
	json_decref(r);
	th_free_lines(&l);
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_INTACT, "%s", res.msg);
}

Test(audit_chain, events_copy_fields_and_reject_reserved_names)
{
	struct cg_audit_config cfg;
	struct cg_audit_verify_result res;
	struct cg_error err;
	struct cg_audit *a;
	struct th_env e;
	struct th_lines l;
	json_t *f;

	th_setup(&e);
	cfg = th_config(&e, 100);
	a = audit_open(&cfg, "aa", &err);
	cr_assert_not_null(a);
	f = json_pack("{s:s, s:{s:b, s:b}}", "policy_file", "p.json",
	    "attestation", "landlock", 1, "seccomp", 1);
	cr_assert_eq(audit_append_event(a, "start", f), 0);
	json_decref(f);
	f = json_pack("{s:s}", "prev", "00");
	cr_assert_eq(audit_append_event(a, "exit", f), -1);
	json_decref(f);
	cr_assert_eq(audit_append_event(a, "seal", NULL), -1);
	cr_assert_eq(audit_failed(a), 0, "a refused event is not a write failure");
	cr_assert_eq(audit_append_event(a, "exit", NULL), 0);
	cr_assert_eq(audit_close(a), 0);
	th_read_lines(e.log, &l);
	cr_assert(strstr(l.line[1], "\"ev\":\"start\",\"policy_file\":\"p.json\","
	    "\"attestation\":{\"landlock\":true,\"seccomp\":true}") != NULL, "%s",
	    l.line[1]);
	cr_assert_eq(l.n, 4);
	th_free_lines(&l);
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_INTACT, "%s", res.msg);
}

Test(audit_chain, reopen_continues_the_chain)
{
	struct cg_audit_verify_result res;
	struct th_env e;
	struct th_lines l;
	size_t second;

	th_setup(&e);
	th_write_log(&e, 12, 5);
	th_write_log(&e, 7, 5);
	th_write_log(&e, 1, 5);
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_INTACT, "%s:%llu: %s",
	    res.file, (unsigned long long)res.line, res.msg);
	cr_assert_eq(res.segments, 3);
	th_read_lines(e.log, &l);
	second = th_find(&l, "\"ev\":\"open\"", 1);
	cr_assert_neq(second, (size_t)-1);
	cr_assert(strstr(l.line[second], "\"resume\":\"clean\"") != NULL);
	th_free_lines(&l);
}

Test(audit_chain, empty_epochs_are_sealed_on_the_timer)
{
	struct cg_audit_config cfg;
	struct cg_audit_verify_result res;
	struct cg_error err;
	struct cg_audit *a;
	struct th_env e;
	struct th_lines l;
	int t;

	th_setup(&e);
	cfg = th_config(&e, 100);
	cfg.checkpoint_interval_ms = 20;
	a = audit_open(&cfg, "aa", &err);
	cr_assert_not_null(a);
	t = audit_next_timeout_ms(a);
	cr_assert(t >= 0 && t <= 20, "timeout %d", t);
	usleep(30000);
	cr_assert_eq(audit_next_timeout_ms(a), 0);
	cr_assert_eq(audit_tick(a), 0);
	usleep(30000);
	cr_assert_eq(audit_tick(a), 0);
	cr_assert_eq(audit_close(a), 0);
	th_read_lines(e.log, &l);
	cr_assert_eq(l.n, 4, "header, two empty seals, final seal");
	cr_assert(strstr(l.line[1], "\"epoch\":0,\"records\":0,\"final\":false") != NULL);
	cr_assert(strstr(l.line[2], "\"epoch\":1,\"records\":0,\"final\":false") != NULL);
	th_free_lines(&l);
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_INTACT, "%s", res.msg);
	cr_assert_eq(res.seals, 3);
}

/* Hundreds of epochs, each seal certifying the next epoch's key. */
Test(audit_chain, many_epochs)
{
	struct cg_audit_verify_result res;
	struct th_env e;

	th_setup(&e);
	th_write_log(&e, 600, 1);
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_INTACT, "%s:%llu: %s",
	    res.file, (unsigned long long)res.line, res.msg);
	cr_assert_eq(res.seals, 601);
}

/* The key file is the ratchet's state: it moves on with every seal and the
 * old seed is overwritten in place. */
Test(audit_chain, key_file_evolves)
{
	char *before, *after, seedhex[65];
	unsigned char seed[AUDIT_SEED_LEN];
	struct cg_error err;
	struct th_env e;
	uint64_t epoch;
	int fd;

	th_setup(&e);
	cr_assert_eq(cg_read_file(e.key, 4096, &before, NULL), 0);
	th_write_log(&e, 30, 10);
	cr_assert_eq(cg_read_file(e.key, 4096, &after, NULL), 0);
	cr_assert_eq(strlen(before), strlen(after), "rewritten in place");
	cr_assert(strstr(before, "slot 00000000000000000000 ") != NULL);
	/* epoch 0's seed is gone from the file */
	cr_assert(strncmp(before + 28 + 26, after + 28 + 26, 64) != 0);
	memcpy(seedhex, before + 28 + 26, 64);
	seedhex[64] = '\0';
	cr_assert_null(strstr(after, seedhex));
	fd = audit_keyfile_open(e.key, &epoch, seed, &err);
	cr_assert_geq(fd, 0, "%s", err.msg);
	cr_assert_eq(epoch, 4, "3 seals and the final one");
	close(fd);
	free(before);
	free(after);
}

Test(audit_chain, key_is_bound_to_one_log)
{
	struct cg_audit_config cfg;
	struct cg_error err;
	struct th_env e;
	char other[320];

	th_setup(&e);
	th_write_log(&e, 3, 10);
	cfg = th_config(&e, 10);
	snprintf(other, sizeof(other), "%s/other.log", e.dir);
	cfg.path = other;
	cg_error_clear(&err);
	cr_assert_null(audit_open(&cfg, "aa", &err));
	cr_assert(strstr(err.msg, "another log") != NULL, "%s", err.msg);
}

/*
 * The other way round: a key that never sealed this log, ratcheted to the
 * log's epoch, is not the key the log's last seal certified, and an
 * altered last seal certifies some other key: in both cases the writer
 * refuses to sign after records no seal of its key vouches for.
 */
Test(audit_chain, another_key_cannot_continue_a_log)
{
	struct cg_audit_config cfg;
	struct cg_error err;
	struct th_env e;
	struct th_lines l;
	char base[320], key[330], *next;

	th_setup(&e);
	th_write_log(&e, 25, 10);
	snprintf(base, sizeof(base), "%s/fresh", e.dir);
	snprintf(key, sizeof(key), "%s.key", base);
	cg_error_clear(&err);
	cr_assert_eq(audit_keygen(base, &err), 0, "%s", err.msg);
	cfg = th_config(&e, 10);
	cfg.key_path = key;
	cg_error_clear(&err);
	cr_assert_null(audit_open(&cfg, "aa", &err), "a fresh key continued the log");
	cr_assert(strstr(err.msg, "not this key's") != NULL, "%s", err.msg);

	/* the log's own key, after its last seal's "next" was changed */
	th_read_lines(e.log, &l);
	next = strstr(l.line[l.n - 1], "\"next\":\"");
	cr_assert_not_null(next, "%s", l.line[l.n - 1]);
	next[8] = next[8] == '0' ? '1' : '0';
	th_write_lines(e.log, &l);
	th_free_lines(&l);
	cfg.key_path = e.key;
	cg_error_clear(&err);
	cr_assert_null(audit_open(&cfg, "aa", &err), "continued after an altered seal");
	cr_assert(strstr(err.msg, "not this key's") != NULL, "%s", err.msg);
}

/* A log cut back past a seal cannot be continued: its key has moved on. */
Test(audit_chain, truncated_log_cannot_be_continued)
{
	struct cg_audit_config cfg;
	struct cg_error err;
	struct th_env e;
	struct th_lines l;

	th_setup(&e);
	th_write_log(&e, 25, 10);
	th_read_lines(e.log, &l);
	l.n -= 8;
	th_write_lines(e.log, &l);
	l.n += 8;
	th_free_lines(&l);
	cfg = th_config(&e, 10);
	cg_error_clear(&err);
	cr_assert_null(audit_open(&cfg, "aa", &err));
	cr_assert(strstr(err.msg, "truncated") != NULL, "%s", err.msg);
}

/* A crash between writing a seal and storing the next state leaves the key
 * file one seal behind: the next run catches up from the log. */
Test(audit_chain, key_file_one_seal_behind_catches_up)
{
	struct cg_audit_verify_result res;
	char *saved;
	struct th_env e;
	FILE *f;

	th_setup(&e);
	th_write_log(&e, 5, 10);
	cr_assert_eq(cg_read_file(e.key, 4096, &saved, NULL), 0);
	th_write_log(&e, 5, 10);
	f = fopen(e.key, "w");
	fputs(saved, f);
	fclose(f);
	free(saved);
	th_write_log(&e, 5, 10);
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_INTACT, "%s:%llu: %s",
	    res.file, (unsigned long long)res.line, res.msg);
	cr_assert_eq(res.segments, 3);
}

/* A crash while the new slot is written leaves it torn and the old slot
 * intact (it is wiped only after the new one is complete). */
Test(audit_chain, torn_key_slot_falls_back_to_the_other)
{
	unsigned char seed[AUDIT_SEED_LEN], seed1[AUDIT_SEED_LEN];
	char before[256];
	struct cg_error err;
	struct th_env e;
	uint64_t epoch;
	int fd;

	th_setup(&e);
	th_write_log(&e, 5, 10);     /* one final seal: state at epoch 1, slot 1 */
	fd = audit_keyfile_open(e.key, &epoch, seed1, &err);
	cr_assert_geq(fd, 0, "%s", err.msg);
	cr_assert_eq(epoch, 1);
	cr_assert_eq(pread(fd, before, sizeof(before), 0), 244);
	memcpy(seed, seed1, sizeof(seed));
	audit_ratchet_next(seed);
	cr_assert_eq(audit_keyfile_store(fd, 2, seed), 0);
	/* undo the wipe of slot 1, tear slot 0 (epoch 2) */
	cr_assert_eq(pwrite(fd, before + 28 + 108, 108, 28 + 108), 108);
	cr_assert_eq(pwrite(fd, "XX", 2, 28 + 40), 2);
	close(fd);
	fd = audit_keyfile_open(e.key, &epoch, seed, &err);
	cr_assert_geq(fd, 0, "%s", err.msg);
	cr_assert_eq(epoch, 1);
	cr_assert_arr_eq(seed, seed1, sizeof(seed));
	close(fd);
}

Test(audit_chain, rotation_keeps_the_chain_across_files)
{
	struct cg_audit_config cfg;
	struct cg_audit_verify_result res;
	struct cg_error err;
	struct cg_audit *a;
	struct th_env e;
	char names[8][320];
	const char *files[8], *swapped[2];
	int i, k = 0;

	th_setup(&e);
	cfg = th_config(&e, 5);
	cfg.rotate_bytes = 4096;
	a = audit_open(&cfg, "aa", &err);
	cr_assert_not_null(a);
	th_decisions(a, 30, 1);
	cr_assert_eq(audit_close(a), 0);
	/* a second run continues in the newest file */
	a = audit_open(&cfg, "aa", &err);
	cr_assert_not_null(a, "%s", err.msg);
	th_decisions(a, 3, 100);
	cr_assert_eq(audit_close(a), 0);
	for (i = 7; i >= 1; i--) {
		snprintf(names[i], sizeof(names[i]), "%s.%d", e.log, i);
		if (access(names[i], F_OK) == 0)
			files[k++] = names[i];
	}
	files[k++] = e.log;
	cr_assert_geq(k, 3, "expected at least two rotations, got %d files", k);
	cr_assert_eq(audit_verify_files(files, (size_t)k, e.pk, &res),
	    CG_AUDIT_INTACT, "%s:%llu: %s", res.file, (unsigned long long)res.line,
	    res.msg);
	cr_assert_eq(res.segments, 2);
	/* the newest file alone does not start at the beginning */
	cr_assert_eq(audit_verify_files(&files[k - 1], 1, e.pk, &res), CG_AUDIT_BAD);
	cr_assert(strstr(res.msg, "does not start") != NULL, "%s", res.msg);
	/* files out of order */
	swapped[0] = files[1];
	swapped[1] = files[0];
	cr_assert_eq(audit_verify_files(swapped, 2, e.pk, &res), CG_AUDIT_BAD);
}

Test(audit_chain, unsealed_log_is_not_a_pass)
{
	struct cg_audit_config cfg;
	struct cg_audit_verify_result res;
	struct cg_error err;
	struct cg_audit *a;
	struct th_env e;

	th_setup(&e);
	cfg = th_config(&e, 5);
	cfg.key_path = NULL;
	a = audit_open(&cfg, "aa", &err);
	cr_assert_not_null(a);
	th_decisions(a, 12, 1);
	cr_assert_eq(audit_close(a), 0);
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_BAD);
	cr_assert_eq(res.line, 1);
	cr_assert(strstr(res.msg, "unsealed") != NULL, "%s", res.msg);
}

Test(audit_chain, disabled_writer_records_nothing)
{
	struct cg_audit_config cfg;
	struct cg_error err;
	struct cg_audit *a;
	struct cg_audit_decision d;

	memset(&cfg, 0, sizeof(cfg));
	memset(&d, 0, sizeof(d));
	a = audit_open(&cfg, "aa", &err);
	cr_assert_not_null(a);
	cr_assert_eq(audit_append_decision(a, &d), 0);
	cr_assert_eq(audit_append_event(a, "start", NULL), 0);
	cr_assert_eq(audit_commit(a), 0);
	cr_assert_eq(audit_next_timeout_ms(a), -1);
	cr_assert_eq(audit_failed(a), 0);
	cr_assert_eq(audit_close(a), 0);
	cr_assert_eq(audit_close(NULL), 0);
}

Test(audit_chain, sync_modes_write_on_commit)
{
	static const enum cg_audit_sync modes[] = { CG_AUDIT_SYNC_EVERY,
	    CG_AUDIT_SYNC_BATCH, CG_AUDIT_SYNC_INTERVAL };
	struct cg_audit_config cfg;
	struct cg_audit_verify_result res;
	struct cg_error err;
	struct cg_audit *a;
	struct th_env e;
	struct th_lines l;
	size_t m;
	int t;

	for (m = 0; m < 3; m++) {
		th_setup(&e);
		cfg = th_config(&e, 1000);
		cfg.sync = modes[m];
		cfg.sync_interval_ms = 50;
		cfg.sync_batch = 1000;
		a = audit_open(&cfg, "aa", &err);
		cr_assert_not_null(a);
		th_decisions(a, 5, 1);
		/* committed records are in the file whatever the mode */
		th_read_lines(e.log, &l);
		cr_assert_eq(l.n, 6);
		th_free_lines(&l);
		t = audit_next_timeout_ms(a);
		if (modes[m] == CG_AUDIT_SYNC_EVERY)
			cr_assert_gt(t, 1000, "only the seal timer runs: %d", t);
		else
			cr_assert(t >= 0 && t <= 50, "sync timer: %d", t);
		cr_assert_eq(audit_close(a), 0);
		cr_assert_eq(th_verify(&e, &res), CG_AUDIT_INTACT, "%s", res.msg);
	}
}

Test(audit_chain, two_writers_cannot_share_a_log)
{
	struct cg_audit_config cfg;
	struct cg_error err;
	struct cg_audit *a, *b;
	struct th_env e;

	th_setup(&e);
	cfg = th_config(&e, 10);
	a = audit_open(&cfg, "aa", &err);
	cr_assert_not_null(a);
	cg_error_clear(&err);
	b = audit_open(&cfg, "aa", &err);
	cr_assert_null(b);
	cr_assert(strstr(err.msg, "in use") != NULL, "%s", err.msg);
	cr_assert_eq(audit_close(a), 0);
}

/* A FIFO would block the writer (or swallow its records), a device would
 * swallow them: the log, and the rotated file it resumes from, must be
 * regular files. The timeout turns a writer blocked on the FIFO into a
 * failure. */
Test(audit_chain, the_log_must_be_a_regular_file, .timeout = 60)
{
	struct cg_audit_config cfg;
	struct cg_error err;
	char older[320];
	struct th_env e;

	th_setup(&e);
	cr_assert_eq(mkfifo(e.log, 0600), 0);
	cfg = th_config(&e, 10);
	cg_error_clear(&err);
	cr_assert_null(audit_open(&cfg, "aa", &err), "a FIFO was taken as the log");
	cr_assert(strstr(err.msg, "not a regular file") != NULL, "%s", err.msg);
	cr_assert_eq(unlink(e.log), 0);

	cfg.path = "/dev/null";
	cg_error_clear(&err);
	cr_assert_null(audit_open(&cfg, "aa", &err), "/dev/null was taken as the log");
	cr_assert(strstr(err.msg, "not a regular file") != NULL, "%s", err.msg);

	/* no log yet, and a FIFO where the rotated file would be */
	snprintf(older, sizeof(older), "%s.1", e.log);
	cr_assert_eq(mkfifo(older, 0600), 0);
	cfg.path = e.log;
	cg_error_clear(&err);
	cr_assert_null(audit_open(&cfg, "aa", &err));
	cr_assert(strstr(err.msg, "not a regular file") != NULL, "%s", err.msg);
}

Test(audit_chain, policy_reload_changes_the_recorded_hash)
{
	struct cg_audit_config cfg;
	struct cg_audit_verify_result res;
	struct cg_error err;
	struct cg_audit *a;
	struct th_env e;
	struct th_lines l;

	th_setup(&e);
	cfg = th_config(&e, 100);
	a = audit_open(&cfg, "aa", &err);
	cr_assert_not_null(a);
	th_decisions(a, 1, 1);
	cr_assert_eq(audit_set_policy(a, "not hex!", &err), -1);
	cr_assert_eq(audit_set_policy(a, "bb", &err), 0);
	cr_assert_eq(audit_append_event(a, "reload", NULL), 0);
	th_decisions(a, 1, 2);
	cr_assert_eq(audit_close(a), 0);
	th_read_lines(e.log, &l);
	cr_assert(strstr(l.line[1], "\"policy\":\"aa\"") != NULL);
	cr_assert(strstr(l.line[2], "\"ev\":\"reload\",\"policy\":\"bb\"") != NULL, "%s", l.line[2]);
	cr_assert(strstr(l.line[3], "\"policy\":\"bb\"") != NULL);
	th_free_lines(&l);
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_INTACT, "%s", res.msg);
}

/* The sync thread's two kinds of request made while a sync runs: a batch
 * commit's (queue 0) is dropped, because the loop asks again and its inline
 * sync keeps the bound; the interval tick's (queue 1) waits and is served
 * after the running sync. Dropped, the records written since that sync
 * began would wait for the next interval (up to twice sync_interval_ms). */
Test(audit_chain, syncer_keeps_the_interval_request)
{
	char path[] = "/tmp/capgate-syncer-XXXXXX";
	int fd = mkstemp(path);
	struct audit_syncer *s;

	cr_assert_geq(fd, 0);
	unlink(path);
	s = audit_syncer_start(fd, 0);
	cr_assert_not_null(s);

	audit_syncer_hold(s, 1);
	audit_syncer_kick(s, 10, 0);
	audit_syncer_await(s, 1);           /* the sync of 10 records runs */
	audit_syncer_kick(s, 20, 0);        /* a commit's request: dropped */
	audit_syncer_hold(s, 0);
	audit_syncer_await(s, 0);
	cr_assert_eq(audit_syncer_durable(s), 10);
	cr_assert_eq(audit_syncer_count(s), 1);

	audit_syncer_hold(s, 1);
	audit_syncer_kick(s, 30, 0);
	audit_syncer_await(s, 1);           /* the sync of 30 runs */
	audit_syncer_kick(s, 40, 1);        /* the interval's: it waits */
	audit_syncer_hold(s, 0);
	audit_syncer_await(s, 0);
	cr_assert_eq(audit_syncer_durable(s), 40, "the interval's request "
	    "was dropped: %llu records durable",
	    (unsigned long long)audit_syncer_durable(s));
	cr_assert_eq(audit_syncer_count(s), 3);
	cr_assert_eq(audit_syncer_error(s), 0);
	audit_syncer_stop(s);
	close(fd);
}

static off_t
file_size(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0);
	return st.st_size;
}

/* Opens e's log in mode m (with or without the key) and returns how many
 * fdatasyncs the opening made; the open record must be written (in the
 * page cache) either way. */
static uint64_t
syncs_at_open(const struct th_env *e, enum cg_audit_sync m, bool key)
{
	struct cg_audit_config cfg = th_config(e, 1000);
	struct cg_error err;
	struct cg_audit *a;
	off_t before = access(e->log, F_OK) == 0 ? file_size(e->log) : 0;
	uint64_t n;

	cfg.sync = m;
	cfg.sync_interval_ms = 60000;
	if (!key)
		cfg.key_path = NULL;
	cg_error_clear(&err);
	a = audit_open(&cfg, "aa", &err);
	cr_assert_not_null(a, "%s", err.msg);
	n = audit_debug_syncs(a);
	cr_assert_gt(file_size(e->log), before, "the open record was not written");
	cr_assert_eq(audit_close(a), 0);
	return n;
}

/* The open record is synced at once only where something depends on it:
 * sync "every", a new log (its directory entry), a key file whose ratchet
 * moved, a log whose crashed tail was cut off. A clean reopen in "batch"
 * or "interval" leaves it to the mode's next sync (or the close). */
Test(audit_chain, open_syncs_only_where_it_must)
{
	struct th_env e;
	int fd;

	th_setup(&e);
	cr_assert_eq(syncs_at_open(&e, CG_AUDIT_SYNC_BATCH, false), 1, "new log");
	cr_assert_eq(syncs_at_open(&e, CG_AUDIT_SYNC_BATCH, false), 0, "batch");
	cr_assert_eq(syncs_at_open(&e, CG_AUDIT_SYNC_INTERVAL, false), 0, "interval");
	cr_assert_eq(syncs_at_open(&e, CG_AUDIT_SYNC_EVERY, false), 1, "every");
	/* a writer that died mid-record */
	fd = open(e.log, O_WRONLY | O_APPEND);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "{\"n\":", 5), 5);
	close(fd);
	cr_assert_eq(syncs_at_open(&e, CG_AUDIT_SYNC_BATCH, false), 1, "unclean");
	cr_assert_eq(syncs_at_open(&e, CG_AUDIT_SYNC_BATCH, false), 0, "batch again");

	th_setup(&e);
	cr_assert_eq(syncs_at_open(&e, CG_AUDIT_SYNC_BATCH, true), 1, "new, key");
	cr_assert_eq(syncs_at_open(&e, CG_AUDIT_SYNC_BATCH, true), 1, "key");
}

/* Group commit: with sync "every" each commit syncs once, however many
 * records it carries; "batch" syncs per sync_batch records; "interval" on
 * the timer only. */
Test(audit_chain, sync_points_per_mode)
{
	struct cg_audit_config cfg;
	struct cg_audit_decision d;
	struct cg_error err;
	struct cg_audit *a;
	struct th_env e;
	uint64_t base;
	int i;

	memset(&d, 0, sizeof(d));
	d.client = "main";
	d.decision = CG_DECISION_ALLOW;

	th_setup(&e);
	cfg = th_config(&e, 1000);
	cfg.sync = CG_AUDIT_SYNC_EVERY;
	a = audit_open(&cfg, "aa", &err);
	cr_assert_not_null(a);
	base = audit_debug_syncs(a);
	for (i = 0; i < 32; i++)
		cr_assert_eq(audit_append_decision(a, &d), 0);
	cr_assert_eq(audit_debug_syncs(a), base, "no sync before the commit");
	cr_assert_eq(audit_commit(a), 0);
	cr_assert_eq(audit_debug_syncs(a), base + 1, "one sync for 32 records");
	cr_assert_eq(audit_commit(a), 0);
	cr_assert_eq(audit_debug_syncs(a), base + 1, "nothing new, no sync");
	cr_assert_eq(audit_append_decision(a, &d), 0);
	cr_assert_eq(audit_commit(a), 0);
	cr_assert_eq(audit_debug_syncs(a), base + 2);
	cr_assert_eq(audit_close(a), 0);

	th_setup(&e);
	cfg = th_config(&e, 1000);
	cfg.sync = CG_AUDIT_SYNC_BATCH;
	cfg.sync_batch = 8;         /* the thread is asked at 6 */
	cfg.sync_interval_ms = 60000;
	a = audit_open(&cfg, "aa", &err);
	cr_assert_not_null(a);
	base = audit_debug_syncs(a);
	/* The thread starts when it is first asked for, not at open: a run
	 * shorter than that (its records synced by the close) never has it. */
	for (i = 0; i < 5; i++)
		cr_assert_eq(audit_append_decision(a, &d), 0);
	cr_assert_eq(audit_commit(a), 0);
	cr_assert_null(a->syncer, "the sync thread started before it was needed");
	/* The bound holds after every commit whatever the sync thread is
	 * doing: never 8 or more written records without a finished sync. */
	for (i = 0; i < 300; i++) {
		cr_assert_eq(audit_append_decision(a, &d), 0);
		if (i % 7 == 0)
			cr_assert_eq(audit_append_decision(a, &d), 0);
		cr_assert_eq(audit_commit(a), 0);
		cr_assert_lt(audit_debug_unsynced(a), 8, "commit %d left %llu "
		    "records unsynced", i,
		    (unsigned long long)audit_debug_unsynced(a));
	}
	cr_assert_gt(audit_debug_syncs(a), base, "batch mode never synced");
	cr_assert_not_null(a->syncer, "batch mode never started its sync thread");
	/* A sync thread stuck on a slow disk does not loosen the bound: the
	 * loop syncs inline when it has to. */
	cr_assert_eq(audit_debug_pause_syncer(a, 1), 0);
	base = audit_debug_syncs(a);
	for (i = 0; i < 80; i++) {
		cr_assert_eq(audit_append_decision(a, &d), 0);
		cr_assert_eq(audit_commit(a), 0);
		cr_assert_lt(audit_debug_unsynced(a), 8, "stalled thread: commit "
		    "%d left %llu records unsynced", i,
		    (unsigned long long)audit_debug_unsynced(a));
	}
	cr_assert_geq(audit_debug_syncs(a), base + 10, "inline syncs while stalled");
	/* leave a request waiting on the stalled thread (6 or 7 behind) */
	while (audit_debug_unsynced(a) < 6) {
		cr_assert_eq(audit_append_decision(a, &d), 0);
		cr_assert_eq(audit_commit(a), 0);
	}
	base = audit_debug_syncs(a);
	cr_assert_eq(audit_debug_pause_syncer(a, 0), 0);
	/* released, the thread serves it */
	for (i = 0; i < 5000 && audit_debug_unsynced(a) != 0; i++)
		usleep(1000);
	cr_assert_eq(audit_debug_unsynced(a), 0, "the sync thread did not serve "
	    "the request it had");
	cr_assert_eq(audit_debug_syncs(a), base + 1);
	cr_assert_eq(audit_close(a), 0);

	th_setup(&e);
	cfg = th_config(&e, 1000);
	cfg.sync = CG_AUDIT_SYNC_INTERVAL;
	cfg.sync_interval_ms = 20;
	a = audit_open(&cfg, "aa", &err);
	cr_assert_not_null(a);
	base = audit_debug_syncs(a);
	for (i = 0; i < 100; i++) {
		cr_assert_eq(audit_append_decision(a, &d), 0);
		cr_assert_eq(audit_commit(a), 0);
	}
	cr_assert_eq(audit_debug_syncs(a), base);
	cr_assert_eq(audit_tick(a), 0);
	cr_assert_eq(audit_debug_syncs(a), base, "not due yet");
	cr_assert_gt(audit_debug_unsynced(a), 0);
	usleep(30000);
	cr_assert_eq(audit_next_timeout_ms(a), 0);
	cr_assert_eq(audit_tick(a), 0);
	/* the timer asks the sync thread, which syncs once */
	for (i = 0; i < 5000 && audit_debug_syncs(a) == base; i++)
		usleep(1000);
	cr_assert_eq(audit_debug_syncs(a), base + 1, "the timer syncs");
	cr_assert_eq(audit_debug_unsynced(a), 0);
	cr_assert_eq(audit_close(a), 0);
}

/* Oversized fields are cut (and flagged) so that no record outgrows what
 * the verifier reads; a line longer than that is rejected, not allocated. */
Test(audit_chain, oversized_fields_are_cut_and_long_lines_rejected)
{
	struct cg_audit_config cfg;
	struct cg_audit_decision d;
	struct cg_audit_verify_result res;
	struct cg_error err;
	struct cg_audit *a;
	struct th_env e;
	struct th_lines l;
	char *big;
	json_t *r;
	FILE *f;

	th_setup(&e);
	big = malloc(300000);
	memset(big, '\x01', 299999);     /* worst case for escaping: 6 bytes each */
	big[299999] = '\0';
	cfg = th_config(&e, 100);
	a = audit_open(&cfg, "aa", &err);
	cr_assert_not_null(a);
	memset(&d, 0, sizeof(d));
	d.client = "main";
	d.channel = big;
	d.detail = big;
	d.payload = big;
	d.payload_len = 299999;
	cr_assert_eq(audit_append_decision(a, &d), 0);
	/* every field at once at its longest: the record is formatted into
	 * room reserved once, which must hold all of them (ASan build) */
	unsigned char digest[AUDIT_DIGEST_LEN];
	memset(digest, 0xab, sizeof(digest));
	d.client = d.kind = d.reason = d.pointer = big;
	d.decision = CG_DECISION_DENY;
	d.pid = 2147483647;
	d.request_id = 4294967295u;
	d.latency_ns = UINT64_MAX;
	d.digest = digest;
	d.policy_hash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	cr_assert_eq(audit_append_decision(a, &d), 0);
	cr_assert_eq(audit_close(a), 0);
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_INTACT, "%s", res.msg);
	th_read_lines(e.log, &l);
	r = json_loads(l.line[1], JSON_REJECT_DUPLICATES, NULL);
	cr_assert_not_null(r);
	cr_assert_eq(json_string_length(json_object_get(r, "payload")), 65536);
	cr_assert_eq(json_string_length(json_object_get(r, "channel")), 1024);
	cr_assert(json_is_true(json_object_get(r, "payload_truncated")));
	cr_assert(json_is_true(json_object_get(r, "channel_truncated")));
	cr_assert(json_is_true(json_object_get(r, "detail_truncated")));
	json_decref(r);
	r = json_loads(l.line[2], JSON_REJECT_DUPLICATES, NULL);
	cr_assert_not_null(r);
	{
		static const char *const cut[] = { "client", "channel", "kind",
		    "reason", "pointer", "detail" };
		for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
			char flag[32];
			cr_assert_eq(json_string_length(json_object_get(r, cut[i])),
			    1024, "%s", cut[i]);
			snprintf(flag, sizeof(flag), "%s_truncated", cut[i]);
			cr_assert(json_is_true(json_object_get(r, flag)), "%s", flag);
		}
	}
	cr_assert_eq(json_string_length(json_object_get(r, "payload")), 65536);
	cr_assert_eq(json_integer_value(json_object_get(r, "req")), 4294967295ll);
	cr_assert_str_eq(json_string_value(json_object_get(r, "digest")),
	    "abababababababababababababababababababababababababababababababab");
	cr_assert_str_eq(json_string_value(json_object_get(r, "policy")),
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	json_decref(r);
	th_free_lines(&l);
	/* a 2 MB line in the middle */
	f = fopen(e.log, "a");
	for (int i = 0; i < 7; i++)
		fwrite(big, 1, 299999, f);
	fclose(f);
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_BAD);
	cr_assert(strstr(res.msg, "longer than") != NULL, "%s", res.msg);
	free(big);
}

/* The record writers against their references: integers against printf,
 * hex against libsodium, times against gmtime. */
Test(audit_chain, record_writers_match_their_references)
{
	static const uint64_t nums[] = { 0, 1, 9, 10, 11, 99, 100, 101, 999,
	    1000, 65535, 4294967295ull, 9999999999999999999ull,
	    10000000000000000000ull, UINT64_MAX };
	unsigned char bin[40];
	char out[256], want[256], *end;

	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		end = audit_w_u64(out, nums[i]);
		*end = '\0';
		snprintf(want, sizeof(want), "%llu", (unsigned long long)nums[i]);
		cr_assert_str_eq(out, want);
	}
	for (int i = 0; i < 2000; i++) {
		uint64_t v = ((uint64_t)randombytes_random() << 32 |
		    randombytes_random()) >> (randombytes_random() % 64);
		end = audit_w_u64(out, v);
		*end = '\0';
		snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
		cr_assert_str_eq(out, want);
	}
	for (size_t len = 0; len <= sizeof(bin); len++)
		for (int r = 0; r < 50; r++) {
			randombytes_buf(bin, len);
			if (r == 0)
				memset(bin, 0xff, len);
			if (r == 1)
				memset(bin, 0, len);
			end = audit_w_hex(out, bin, len);
			*end = '\0';
			sodium_bin2hex(want, sizeof(want), bin, len);
			cr_assert_str_eq(out, want);
		}
	for (int i = 0; i < 2000; i++) {
		uint64_t ns = (uint64_t)(randombytes_uniform(2000000000u)) *
		    1000000000ull + randombytes_uniform(1000000000u);
		time_t secs = (time_t)(ns / 1000000000u);
		struct tm tm;

		if (i == 0)
			ns = 0;
		secs = (time_t)(ns / 1000000000u);
		gmtime_r(&secs, &tm);
		snprintf(want, sizeof(want), ",\"t\":\"%04d-%02d-%02dT%02d:%02d:%02d.%06uZ\"",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, (unsigned)(ns % 1000000000u / 1000u));
		end = audit_w_time(out, ns);
		cr_assert_eq((size_t)(end - out), (size_t)AUDIT_TIME_ROOM);
		*end = '\0';
		cr_assert_str_eq(out, want);
	}
}

/* The calendar behind the record's time against gmtime, to year 9999:
 * leap days, the century rule (2100 is not a leap year, 2000 and 2400
 * are) and the last second of each month and year. */
Test(audit_chain, utc_calendar_matches_gmtime)
{
	static const uint64_t fixed[] = { 0, 59, 86399, 86400, 951782399,
	    951782400, 951868799, 951868800, 978307199, 4107542399ull,
	    4107542400ull, 4107628800ull, 13569465599ull, 13569465600ull,
	    253402300799ull };

	for (int i = 0; i < 200000 + (int)(sizeof(fixed) / sizeof(fixed[0])); i++) {
		uint64_t secs = i < (int)(sizeof(fixed) / sizeof(fixed[0])) ? fixed[i] :
		    ((uint64_t)randombytes_random() << 32 | randombytes_random()) %
		    253402300800ull;
		time_t t = (time_t)secs;
		struct cg_utc u;
		struct tm tm;

		cr_assert_not_null(gmtime_r(&t, &tm));
		cg_utc(secs, &u);
		cr_assert(u.year == tm.tm_year + 1900LL && u.month == (unsigned)tm.tm_mon + 1 &&
		    u.day == (unsigned)tm.tm_mday && u.hour == (unsigned)tm.tm_hour &&
		    u.min == (unsigned)tm.tm_min && u.sec == (unsigned)tm.tm_sec,
		    "%llu: %lld-%u-%u %u:%u:%u, gmtime %d-%d-%d %d:%d:%d",
		    (unsigned long long)secs, u.year, u.month, u.day, u.hour, u.min, u.sec,
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec);
	}
}

/* Opens a new log as a version before 3 made it: BLAKE2b chain hashes. */
static struct cg_audit *
open_blake2b_log(const struct cg_audit_config *cfg)
{
	struct cg_error err;
	struct cg_audit *a;

	audit_debug_new_log_hash = AUDIT_HASH_BLAKE2B;
	a = audit_open(cfg, "aa", &err);
	audit_debug_new_log_hash = AUDIT_HASH_CURRENT;
	cr_assert_not_null(a, "%s", err.msg);
	return a;
}

/* Version 2 logs chain with BLAKE2b-256; version 3 (current) with SHA-256.
 * An old log still verifies, a later run continues it with its own hash
 * (also when rotation left one record in the newest file), and an "open"
 * record claiming the other version is caught. */
Test(audit_chain, version_2_logs_keep_their_hash)
{
	struct cg_audit_config cfg;
	struct cg_audit_verify_result res;
	unsigned char h[AUDIT_DIGEST_LEN];
	char hex[2 * AUDIT_DIGEST_LEN + 1];
	struct cg_error err;
	struct cg_audit *a;
	struct th_lines l;
	struct th_env e;
	size_t i, second;

	th_setup(&e);
	cfg = th_config(&e, 5);
	a = open_blake2b_log(&cfg);
	th_decisions(a, 12, 1);
	cr_assert_eq(audit_close(a), 0);
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_INTACT, "%s", res.msg);
	/* a run of this version continues it with BLAKE2b */
	a = audit_open(&cfg, "aa", &err);
	cr_assert_not_null(a, "%s", err.msg);
	th_decisions(a, 12, 100);
	cr_assert_eq(audit_close(a), 0);
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_INTACT, "%s", res.msg);
	th_read_lines(e.log, &l);
	cr_assert(strstr(l.line[0], "\"version\":2") != NULL, "%s", l.line[0]);
	second = th_find(&l, "\"ev\":\"open\"", 1);
	cr_assert_neq(second, (size_t)-1);
	cr_assert(strstr(l.line[second], "\"version\":2") != NULL);
	for (i = 1; i < l.n; i++) {
		audit_line_hash(AUDIT_HASH_BLAKE2B, l.line[i - 1],
		    strlen(l.line[i - 1]), h);
		sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
		cr_assert(strstr(l.line[i], hex) != NULL, "line %zu: not chained "
		    "with BLAKE2b", i);
	}
	/* the second run's "open" claiming version 3 does not verify */
	{
		char *p = strstr(l.line[second], "\"version\":2");
		p[10] = '3';
		th_write_lines(e.log, &l);
		cr_assert_eq(th_verify(&e, &res), CG_AUDIT_BAD);
	}
	th_free_lines(&l);

	/* a new log is version 3, chained with SHA-256 */
	th_setup(&e);
	cfg = th_config(&e, 5);
	a = audit_open(&cfg, "aa", &err);
	cr_assert_not_null(a, "%s", err.msg);
	th_decisions(a, 3, 1);
	cr_assert_eq(audit_close(a), 0);
	th_read_lines(e.log, &l);
	cr_assert(strstr(l.line[0], "\"version\":3") != NULL, "%s", l.line[0]);
	audit_line_hash(AUDIT_HASH_SHA256, l.line[0], strlen(l.line[0]), h);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	cr_assert(strstr(l.line[1], hex) != NULL, "not chained with SHA-256");
	th_free_lines(&l);
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_INTACT, "%s", res.msg);
}

Test(audit_chain, version_2_log_continued_across_rotation)
{
	struct cg_audit_config cfg;
	struct cg_audit_verify_result res;
	struct cg_error err;
	struct cg_audit *a;
	struct th_env e;
	char names[40][320];
	const char *files[40];
	int i, k = 0, runs;

	th_setup(&e);
	cfg = th_config(&e, 2);
	cfg.rotate_bytes = 1500;
	a = open_blake2b_log(&cfg);
	th_decisions(a, 10, 1);
	cr_assert_eq(audit_close(a), 0);
	/* runs that continue it, each starting from whatever the newest file
	 * holds (a single record after some rotations) */
	for (runs = 0; runs < 6; runs++) {
		a = audit_open(&cfg, "aa", &err);
		cr_assert_not_null(a, "run %d: %s", runs, err.msg);
		th_decisions(a, 1 + runs, 100 * (runs + 1));
		cr_assert_eq(audit_close(a), 0);
	}
	for (i = 39; i >= 1; i--) {
		snprintf(names[i], sizeof(names[i]), "%s.%d", e.log, i);
		if (access(names[i], F_OK) == 0)
			files[k++] = names[i];
	}
	snprintf(names[0], sizeof(names[0]), "%s", e.log);
	files[k++] = names[0];
	cr_assert_geq(k, 3);
	cr_assert_eq(audit_verify_files(files, (size_t)k, e.pk, &res),
	    CG_AUDIT_INTACT, "%s:%llu: %s", res.file, (unsigned long long)res.line,
	    res.msg);
}
