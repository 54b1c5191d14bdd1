/*
 * The "audit" section: where decisions are recorded and how durably.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_internal.h"

static char *
resolve_path(const char *dir, const char *path)
{
	char *out;

	if (path[0] == '/')
		return strdup(path);
	if (asprintf(&out, "%s/%s", dir, path) < 0)
		return NULL;
	return out;
}

int
policy_parse_audit(struct pol_ctx *c, json_t *audit)
{
	static const char *const keys[] = { "path", "sign_key", "sync",
	    "sync_interval_ms", "checkpoint_every", "rotate_bytes", "on_failure",
	    NULL };
	struct cg_audit_config *a = &c->p->audit;
	const char *s;

	a->sync = CG_AUDIT_SYNC_BATCH;
	a->sync_interval_ms = 1000;
	a->checkpoint_every = 1000;
	if (audit == NULL)
		return 0;
	if (!json_is_object(audit))
		return pol_fail(c, "/audit", "\"audit\" must be an object");
	if (pol_check_keys(c, audit, "/audit", keys) != 0 ||
	    pol_get_uint(c, audit, "/audit", "sync_interval_ms", 1, 3600000,
	    &a->sync_interval_ms) != 0 ||
	    pol_get_uint(c, audit, "/audit", "checkpoint_every", 1, 1u << 30,
	    &a->checkpoint_every) != 0)
		return -1;
	if ((s = json_string_value(json_object_get(audit, "path"))) != NULL &&
	    (a->path = resolve_path(c->p->dir, s)) == NULL)
		return pol_fail(c, "/audit/path", "out of memory");
	if (json_object_get(audit, "path") != NULL && s == NULL)
		return pol_fail(c, "/audit/path", "\"path\" must be a string");
	if ((s = json_string_value(json_object_get(audit, "sign_key"))) != NULL &&
	    (a->key_path = resolve_path(c->p->dir, s)) == NULL)
		return pol_fail(c, "/audit/sign_key", "out of memory");
	if ((s = json_string_value(json_object_get(audit, "sync"))) != NULL) {
		if (strcmp(s, "every") == 0)
			a->sync = CG_AUDIT_SYNC_EVERY;
		else if (strcmp(s, "batch") == 0)
			a->sync = CG_AUDIT_SYNC_BATCH;
		else if (strcmp(s, "interval") == 0)
			a->sync = CG_AUDIT_SYNC_INTERVAL;
		else
			return pol_fail(c, "/audit/sync", "expected \"every\", "
			    "\"batch\" or \"interval\"");
	}
	if ((s = json_string_value(json_object_get(audit, "on_failure"))) != NULL) {
		if (strcmp(s, "deny") != 0 && strcmp(s, "allow") != 0)
			return pol_fail(c, "/audit/on_failure",
			    "expected \"deny\" (the default) or \"allow\"");
		a->fail_open = strcmp(s, "allow") == 0;
	}
	return 0;
}

void
policy_free_audit(struct cg_policy *p)
{
	free((char *)(uintptr_t)p->audit.path);
	free((char *)(uintptr_t)p->audit.key_path);
}
