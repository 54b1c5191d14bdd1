/*
 * The policy's "audit" section and a channel's "audit" option, and the
 * payload redaction helper. Unknown keys are errors: a misspelt "fail_open"
 * must not silently leave the gateway failing closed (or the reverse).
 */
#include "audit/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

struct int_key {
	const char *name;
	uint64_t min, max;
};

static const struct int_key int_keys[] = {
	{ "sync_interval_ms", 1, 3600000 },
	{ "sync_batch", 1, 1000000 },
	{ "checkpoint_every", 1, 1000000 },
	{ "checkpoint_interval_ms", 10, 86400000 },
	{ "rotate_bytes", 4096, UINT64_C(1) << 50 },
};

/* Points err at the member `key` of the section. */
static void
at(struct cg_error *err, const char *key)
{
	char ptr[128];

	snprintf(ptr, sizeof(ptr), "/%s", key);
	cg_error_set_pointer(err, ptr);
}

static char *
resolve(const char *dir, const char *path)
{
	char *out;

	if (path[0] == '/' || dir == NULL || dir[0] == '\0')
		return strdup(path);
	if (asprintf(&out, "%s/%s", dir, path) < 0)
		return NULL;
	return out;
}

static int
parse_int(struct cg_audit_config *out, const char *key, json_t *val,
    struct cg_error *err)
{
	const struct int_key *k = NULL;
	json_int_t v;
	size_t i;

	for (i = 0; i < CG_ARRAY_LEN(int_keys); i++)
		if (strcmp(int_keys[i].name, key) == 0)
			k = &int_keys[i];
	if (k == NULL)
		return at(err, key), cg_error_set(err, "unknown key \"%s\" in the audit section "
		    "(expected path, sign_key, sync, sync_interval_ms, sync_batch, "
		    "checkpoint_every, checkpoint_interval_ms, rotate_bytes, fail_open)",
		    key);
	v = json_integer_value(val);
	if (!json_is_integer(val) || v < 0 || (uint64_t)v < k->min ||
	    (uint64_t)v > k->max)
		return at(err, key), cg_error_set(err, "expected an integer from "
		    "%llu to %llu for \"%s\"", (unsigned long long)k->min,
		    (unsigned long long)k->max, key);
	if (strcmp(key, "sync_interval_ms") == 0)
		out->sync_interval_ms = (uint32_t)v;
	else if (strcmp(key, "sync_batch") == 0)
		out->sync_batch = (uint32_t)v;
	else if (strcmp(key, "checkpoint_every") == 0)
		out->checkpoint_every = (uint32_t)v;
	else if (strcmp(key, "checkpoint_interval_ms") == 0)
		out->checkpoint_interval_ms = (uint32_t)v;
	else
		out->rotate_bytes = (uint64_t)v;
	return 0;
}

static int
parse_sync(struct cg_audit_config *out, json_t *val, struct cg_error *err)
{
	const char *s = json_string_value(val);

	if (s != NULL && strcmp(s, "every") == 0)
		out->sync = CG_AUDIT_SYNC_EVERY;
	else if (s != NULL && strcmp(s, "batch") == 0)
		out->sync = CG_AUDIT_SYNC_BATCH;
	else if (s != NULL && strcmp(s, "interval") == 0)
		out->sync = CG_AUDIT_SYNC_INTERVAL;
	else
		return at(err, "sync"), cg_error_set(err, "%s", "expected \"every\", \"batch\" or "
		    "\"interval\"");
	return 0;
}

static int
parse_path(char **dst, const char *dir, const char *key, json_t *val,
    struct cg_error *err)
{
	const char *s = json_string_value(val);

	if (s == NULL || s[0] == '\0')
		return at(err, key), cg_error_set(err, "expected a non-empty path "
		    "for \"%s\"", key);
	*dst = resolve(dir, s);
	return *dst == NULL ? cg_error_set(err, "out of memory") : 0;
}

static int
parse_member(struct cg_audit_config *out, const char *dir, const char *key,
    json_t *val, struct cg_error *err)
{
	if (strcmp(key, "path") == 0)
		return parse_path(&out->owned_path, dir, key, val, err);
	if (strcmp(key, "sign_key") == 0)
		return parse_path(&out->owned_key_path, dir, key, val, err);
	if (strcmp(key, "sync") == 0)
		return parse_sync(out, val, err);
	if (strcmp(key, "fail_open") == 0) {
		if (!json_is_boolean(val))
			return at(err, key), cg_error_set(err, "expected true or false");
		out->fail_open = json_is_true(val);
		return 0;
	}
	return parse_int(out, key, val, err);
}

int
audit_config_parse(const json_t *section, const char *policy_dir,
    struct cg_audit_config *out, struct cg_error *err)
{
	const char *key;
	json_t *val;

	memset(out, 0, sizeof(*out));
	if (section == NULL)
		return 0;
	if (!json_is_object(section)) {
		cg_error_set_pointer(err, "");
		return cg_error_set(err, "the audit section must be an object");
	}
	/* jansson's iteration macro takes a non-const object */
	json_object_foreach((json_t *)(uintptr_t)section, key, val)
		if (parse_member(out, policy_dir, key, val, err) != 0)
			return -1;
	if (out->owned_path == NULL) {
		cg_error_set_pointer(err, "");
		return cg_error_set(err, "the audit section needs a \"path\"");
	}
	out->path = out->owned_path;
	out->key_path = out->owned_key_path;
	return 0;
}

void
audit_config_free(struct cg_audit_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->owned_path);
	free(cfg->owned_key_path);
	cfg->owned_path = cfg->owned_key_path = NULL;
	cfg->path = cfg->key_path = NULL;
}

static int
parse_redact(const json_t *v, struct cg_audit_channel *out, struct cg_error *err)
{
	json_t *list = json_object_get(v, "redact"), *item;
	char ptr[64];
	size_t i;

	if (json_object_size(v) != 1 || !json_is_array(list)) {
		cg_error_set_pointer(err, "");
		return cg_error_set(err, "expected {\"redact\": [\"field\", ...]}");
	}
	out->redact = calloc(json_array_size(list) + 1, sizeof(char *));
	if (out->redact == NULL)
		return cg_error_set(err, "out of memory");
	json_array_foreach(list, i, item) {
		if (!json_is_string(item)) {
			snprintf(ptr, sizeof(ptr), "/redact/%zu", i);
			cg_error_set_pointer(err, ptr);
			return cg_error_set(err, "expected a member name");
		}
		out->redact[i] = strdup(json_string_value(item));
		if (out->redact[i] == NULL)
			return cg_error_set(err, "out of memory");
	}
	out->mode = CG_AUDIT_PAYLOAD_REDACT;
	return 0;
}

int
audit_channel_parse(const json_t *v, struct cg_audit_channel *out,
    struct cg_error *err)
{
	const char *s = json_string_value(v);

	memset(out, 0, sizeof(*out));
	if (v == NULL)
		return 0;
	if (json_is_object(v))
		return parse_redact(v, out, err);
	if (s != NULL && strcmp(s, "digest") == 0)
		out->mode = CG_AUDIT_PAYLOAD_DIGEST;
	else if (s != NULL && strcmp(s, "payload") == 0)
		out->mode = CG_AUDIT_PAYLOAD_FULL;
	else if (s != NULL && strcmp(s, "none") == 0)
		out->mode = CG_AUDIT_PAYLOAD_NONE;
	else {
		cg_error_set_pointer(err, "");
		return cg_error_set(err, "expected \"digest\", \"payload\", "
		    "\"none\" or {\"redact\": [...]}");
	}
	return 0;
}

void
audit_channel_free(struct cg_audit_channel *ch)
{
	size_t i;

	if (ch == NULL || ch->redact == NULL)
		return;
	for (i = 0; ch->redact[i] != NULL; i++)
		free(ch->redact[i]);
	free(ch->redact);
	ch->redact = NULL;
}

int
audit_redact(json_t *payload, const char *const *fields)
{
	int count = 0;
	size_t i;

	if (!json_is_object(payload) || fields == NULL)
		return 0;
	for (i = 0; fields[i] != NULL; i++)
		if (json_object_get(payload, fields[i]) != NULL &&
		    json_object_set_new(payload, fields[i],
		    json_string("[redacted]")) == 0)
			count++;
	return count;
}
