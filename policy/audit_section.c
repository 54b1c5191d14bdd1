/*
 * The "audit" section: where decisions are recorded and how durably. The
 * section's format belongs to audit/ (audit_config_parse); this file adapts
 * its errors to the loader's pointers.
 */
#include <stdio.h>

#include "policy/policy_internal.h"

int
policy_parse_audit(struct pol_ctx *c, json_t *audit)
{
	struct cg_error sub;
	char at[300];

	cg_error_clear(&sub);
	if (audit_config_parse(audit, c->p->dir, &c->p->audit, &sub) == 0)
		return 0;
	snprintf(at, sizeof(at), "/audit%s", sub.pointer);
	return pol_fail(c, at, "%s", sub.msg);
}

void
policy_free_audit(struct cg_policy *p)
{
	audit_config_free(&p->audit);
}
