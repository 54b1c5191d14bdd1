/* The policy's "audit" section, a channel's "audit" option, redaction. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "audit/audit.h"
#include "audit/internal.h"

static int
parse(const char *text, struct cg_audit_config *cfg, struct cg_error *err)
{
	json_t *j = json_loads(text, 0, NULL);
	int rc;

	cr_assert_not_null(j, "%s", text);
	cg_error_clear(err);
	rc = audit_config_parse(j, "/etc/capgate", cfg, err);
	json_decref(j);
	return rc;
}

Test(audit_config, full_section)
{
	struct cg_audit_config cfg;
	struct cg_error err;

	cr_assert_eq(parse("{\"path\": \"a.log\", \"sign_key\": \"/k/notes.key\","
	    "\"sync\": \"interval\", \"sync_interval_ms\": 250, \"sync_batch\": 8,"
	    "\"checkpoint_every\": 500, \"checkpoint_interval_ms\": 5000,"
	    "\"rotate_bytes\": 1048576, \"fail_open\": true}", &cfg, &err), 0,
	    "%s", err.msg);
	cr_assert_str_eq(cfg.path, "/etc/capgate/a.log");
	cr_assert_str_eq(cfg.key_path, "/k/notes.key");
	cr_assert_eq(cfg.sync, CG_AUDIT_SYNC_INTERVAL);
	cr_assert_eq(cfg.sync_interval_ms, 250);
	cr_assert_eq(cfg.sync_batch, 8);
	cr_assert_eq(cfg.checkpoint_every, 500);
	cr_assert_eq(cfg.checkpoint_interval_ms, 5000);
	cr_assert_eq(cfg.rotate_bytes, 1048576);
	cr_assert_eq(cfg.fail_open, 1);
	audit_config_free(&cfg);
	cr_assert_null(cfg.path);
}

Test(audit_config, defaults_fail_closed_and_sync_every)
{
	struct cg_audit_config cfg;
	struct cg_error err;

	cr_assert_eq(parse("{\"path\": \"/var/log/a.log\"}", &cfg, &err), 0);
	cr_assert_str_eq(cfg.path, "/var/log/a.log");
	cr_assert_null(cfg.key_path);
	cr_assert_eq(cfg.sync, CG_AUDIT_SYNC_EVERY);
	cr_assert_eq(cfg.fail_open, 0);
	audit_config_free(&cfg);
}

Test(audit_config, errors_point_into_the_section)
{
	static const struct { const char *text, *pointer, *words; } cases[] = {
		{ "{\"path\": \"a\", \"sync\": \"sometimes\"}", "/sync", "every" },
		{ "{\"path\": \"a\", \"fail_opne\": true}", "/fail_opne", "unknown key" },
		{ "{\"path\": \"a\", \"fail_open\": 1}", "/fail_open", "true or false" },
		{ "{\"path\": \"a\", \"checkpoint_every\": 0}", "/checkpoint_every", "integer" },
		{ "{\"path\": \"a\", \"rotate_bytes\": 10}", "/rotate_bytes", "integer" },
		{ "{\"path\": \"\"}", "/path", "non-empty" },
		{ "{\"sync\": \"batch\"}", "", "needs a \"path\"" },
		{ "[]", "", "object" },
	};
	struct cg_audit_config cfg;
	struct cg_error err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(parse(cases[i].text, &cfg, &err), -1, "%s", cases[i].text);
		cr_assert_str_eq(err.pointer, cases[i].pointer, "%s", cases[i].text);
		cr_assert(strstr(err.msg, cases[i].words) != NULL, "%s: %s",
		    cases[i].text, err.msg);
		audit_config_free(&cfg);
	}
}

Test(audit_config, channel_option)
{
	struct cg_audit_channel ch;
	struct cg_error err;
	json_t *j;

	j = json_string("payload");
	cr_assert_eq(audit_channel_parse(j, &ch, &err), 0);
	cr_assert_eq(ch.mode, CG_AUDIT_PAYLOAD_FULL);
	json_decref(j);
	cr_assert_eq(audit_channel_parse(NULL, &ch, &err), 0);
	cr_assert_eq(ch.mode, CG_AUDIT_PAYLOAD_DIGEST);
	j = json_loads("{\"redact\": [\"password\", \"token\"]}", 0, NULL);
	cr_assert_eq(audit_channel_parse(j, &ch, &err), 0);
	cr_assert_eq(ch.mode, CG_AUDIT_PAYLOAD_REDACT);
	cr_assert_str_eq(ch.redact[0], "password");
	cr_assert_str_eq(ch.redact[1], "token");
	cr_assert_null(ch.redact[2]);
	audit_channel_free(&ch);
	json_decref(j);
	j = json_loads("{\"redact\": [\"a\", 3]}", 0, NULL);
	cg_error_clear(&err);
	cr_assert_eq(audit_channel_parse(j, &ch, &err), -1);
	cr_assert_str_eq(err.pointer, "/redact/1");
	audit_channel_free(&ch);
	json_decref(j);
	j = json_string("everything");
	cr_assert_eq(audit_channel_parse(j, &ch, &err), -1);
	json_decref(j);
}

Test(audit_config, redact_named_top_level_members)
{
	static const char *const fields[] = { "password", "missing", NULL };
	json_t *p = json_loads("{\"user\":\"a\",\"password\":\"hunter2\","
	    "\"nested\":{\"password\":\"x\"}}", 0, NULL);
	char *text;

	cr_assert_eq(audit_redact(p, fields), 1);
	text = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
	cr_assert_str_eq(text, "{\"nested\":{\"password\":\"x\"},"
	    "\"password\":\"[redacted]\",\"user\":\"a\"}");
	free(text);
	json_decref(p);
	p = json_string("password");
	cr_assert_eq(audit_redact(p, fields), 0);
	json_decref(p);
}

Test(audit_config, digests_are_sha256_and_blake2b_256_in_old_logs)
{
	unsigned char d[AUDIT_DIGEST_LEN];
	/* SHA-256("abc"), FIPS 180-2 appendix B.1 */
	static const unsigned char sha[] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
		0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
		0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad };
	/* BLAKE2b-256("abc"), the hash of version 2 logs */
	static const unsigned char b2[] = {
		0xbd, 0xdd, 0x81, 0x3c, 0x63, 0x42, 0x39, 0x72, 0x31, 0x71, 0xef,
		0x3f, 0xee, 0x98, 0x57, 0x9b, 0x94, 0x96, 0x4e, 0x3b, 0xb1, 0xcb,
		0x3e, 0x42, 0x72, 0x62, 0xc8, 0xc0, 0x68, 0xd5, 0x23, 0x19 };

	audit_digest(NULL, "abc", 3, d);
	cr_assert_arr_eq(d, sha, sizeof(sha));
	audit_line_hash(AUDIT_HASH_SHA256, "abc", 3, d);
	cr_assert_arr_eq(d, sha, sizeof(sha));
	audit_line_hash(AUDIT_HASH_BLAKE2B, "abc", 3, d);
	cr_assert_arr_eq(d, b2, sizeof(b2));
	cr_assert_eq(audit_hash_of_version(2), AUDIT_HASH_BLAKE2B);
	cr_assert_eq(audit_hash_of_version(3), AUDIT_HASH_SHA256);
	cr_assert_eq(audit_hash_of_version(4), 0);
	cr_assert_eq(audit_hash_of_version(1), 0);
}
