/* TEMPORARY minimal writer until the audit branch lands. */
#include "audit/audit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

struct cg_audit { FILE *f; char policy[65]; int failed; };

struct cg_audit *
audit_open(const struct cg_audit_config *cfg, const char *policy_hash, struct cg_error *err)
{
	struct cg_audit *a = calloc(1, sizeof(*a));
	if (a == NULL) { cg_error_set(err, "out of memory"); return NULL; }
	snprintf(a->policy, sizeof(a->policy), "%s", policy_hash);
	if (cfg->path != NULL) {
		a->f = fopen(cfg->path, "ae");
		if (a->f == NULL) { cg_error_set(err, "cannot open audit log %s", cfg->path); free(a); return NULL; }
	}
	return a;
}

static const char *dname(enum cg_decision d) { return d == CG_DECISION_ALLOW ? "allow" : d == CG_DECISION_ERROR ? "error" : "deny"; }

int
audit_append_decision(struct cg_audit *a, const struct cg_audit_decision *d)
{
	json_t *r; char t[40];
	if (a->f == NULL) return 0;
	cg_format_time(cg_wall_ns(), t, sizeof(t));
	r = json_pack("{s:s,s:s,s:s,s:i,s:s%,s:s,s:i,s:s,s:s,s:I}", "t", t, "ev", "decision", "client", d->client,
	    "pid", (int)d->pid, "channel", d->channel ? d->channel : "", d->channel ? d->channel_len : 0, "kind", d->kind,
	    "req", (int)d->request_id, "decision", dname(d->decision), "reason", d->reason, "us", (json_int_t)(d->latency_ns / 1000));
	if (r && d->pointer) json_object_set_new(r, "pointer", json_string(d->pointer));
	if (r && d->detail) json_object_set_new(r, "detail", json_string(d->detail));
	if (r == NULL) return -1;
	json_dumpf(r, a->f, JSON_COMPACT); fputc('\n', a->f); json_decref(r);
	return 0;
}

int
audit_append_event(struct cg_audit *a, const char *event, json_t *fields)
{
	json_t *r; char t[40];
	if (a->f == NULL) return 0;
	cg_format_time(cg_wall_ns(), t, sizeof(t));
	r = json_pack("{s:s,s:s,s:s}", "t", t, "ev", event, "policy", a->policy);
	if (r == NULL) return -1;
	if (fields) json_object_update(r, fields);
	json_dumpf(r, a->f, JSON_COMPACT); fputc('\n', a->f); json_decref(r);
	return 0;
}

int audit_commit(struct cg_audit *a) { if (a->f && fflush(a->f) != 0) { a->failed = 1; return -1; } return 0; }
int audit_next_timeout_ms(const struct cg_audit *a) { (void)a; return -1; }
int audit_tick(struct cg_audit *a) { (void)a; return 0; }
int audit_failed(const struct cg_audit *a) { return a->failed; }
int audit_close(struct cg_audit *a) { if (a == NULL) return 0; if (a->f) fclose(a->f); free(a); return 0; }
