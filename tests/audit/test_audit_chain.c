/* The writer and the verifier on untampered logs: what a good log is. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit/internal.h"
#include "helpers.h"

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

/* More epochs than one batch of committed keys: the last seal of a batch
 * hands on the next batch's commitment. */
Test(audit_chain, epoch_batches_roll_over)
{
	struct cg_audit_verify_result res;
	struct th_env e;

	th_setup(&e);
	th_write_log(&e, 2 * AUDIT_BATCH + 5, 1);
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_INTACT, "%s:%llu: %s",
	    res.file, (unsigned long long)res.line, res.msg);
	cr_assert_eq(res.seals, 2 * AUDIT_BATCH + 5 + 1);
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
