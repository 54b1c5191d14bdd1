/*
 * SIGHUP: reload the policy from the path it was first loaded from.
 *
 * The new policy is loaded and checked completely before anything changes;
 * a policy that fails to load changes nothing (the error, with its
 * file:line:column, goes to stderr and to the audit log). On success the
 * swap is one pointer: every frame decided after it is decided under the
 * new policy, every frame decided before it was decided (and answered)
 * under the old one, because the loop handles a signal between frames,
 * never inside one.
 *
 * Per-client state is keyed by grant slot, and slots are numbered afresh
 * by every load, so it is rebuilt by channel name: a channel that survives
 * keeps its use count, rate bucket and phase; a new one starts empty; one
 * that was removed is gone (a later request for it is "not-found"). A
 * client whose name the new policy no longer declares has lost every grant:
 * it is ended, as for a violation.
 *
 * What a reload does not change: the audit log's file and key, and the
 * sandbox of clients already running (both are fixed at start; the new
 * sandbox section applies to clients started later).
 *
 * The old policy is retired, not freed: it is freed once no client has an
 * invoke in flight (c->inflight), so a handler that answers later (an
 * asynchronous backend) still finds the channel it was called for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "gateway/gateway.h"
#include "gateway/handlers.h"

/* The new per-slot state of c under cp, carried over by channel name. */
static struct cg_chan_state *
remap_state(const struct cg_client *c, const struct cg_policy *old,
    const struct cg_policy *new, const struct cg_client_policy *cp)
{
	struct cg_chan_state *st = calloc(cp->nslots + 1, sizeof(*st));

	if (st == NULL)
		return NULL;
	for (uint32_t s = 0; s < cp->nslots; s++) {
		const char *name = new->channels[cp->slot_channel[s]].name;
		int idx = policy_channel_index(old, name, strlen(name));
		if (idx >= 0 && c->pol->slot[idx] >= 0)
			st[s] = c->chan[c->pol->slot[idx]];
	}
	return st;
}

static void
audit_reload(struct cg_gateway *gw, const char *old_hash, unsigned remapped,
    unsigned ended)
{
	json_t *f = json_pack("{s:b,s:s,s:s,s:s,s:i,s:i}", "ok", 1,
	    "policy_path", gw->policy->path, "policy_hash", gw->policy->hash,
	    "old_policy_hash", old_hash, "clients", (int)remapped,
	    "clients_ended", (int)ended);

	audit_append_event(gw->audit, "reload", f);
	json_decref(f);
}

static void
report_failure(struct cg_gateway *gw, const struct cg_error *err)
{
	char msg[1024];
	json_t *f;

	cg_error_format(err, msg, sizeof(msg));
	fprintf(stderr, "capgate: SIGHUP: the new policy does not load, "
	    "keeping the current one: %s\n", msg);
	f = json_pack("{s:b,s:s,s:s,s:i,s:i,s:s,s:s}", "ok", 0,
	    "policy_path", gw->policy->path, "file", err->file,
	    "line", err->line, "column", err->column, "error", msg,
	    "policy_hash", gw->policy->hash);
	audit_append_event(gw->audit, "reload", f);
	json_decref(f);
}

/* Keeps old until no invoke decided under it can still be answered. */
static int
retire(struct cg_gateway *gw, struct cg_policy *old)
{
	struct cg_policy **r = realloc(gw->retired,
	    (gw->nretired + 1) * sizeof(*r));

	if (r == NULL)
		return -1;
	gw->retired = r;
	gw->retired[gw->nretired++] = old;
	return 0;
}

void
gateway_reload_collect(struct cg_gateway *gw, bool all)
{
	if (gw->nretired == 0)
		return;
	for (size_t i = 0; !all && i < gw->nclients; i++)
		if (gw->clients[i]->inflight > 0)
			return;
	for (size_t i = 0; i < gw->nretired; i++)
		policy_free(gw->retired[i]);
	free(gw->retired);
	gw->retired = NULL;
	gw->nretired = 0;
}

/* The client policy c runs under in new, or NULL if it has none: its
 * name is gone, or its connection is (a closed client is never dispatched
 * to again, so it keeps no pointer into a policy that will be freed). */
static const struct cg_client_policy *
new_grants(const struct cg_client *c, const struct cg_policy *new)
{
	if (c->state == CG_CLIENT_CLOSED || c->pol == NULL)
		return NULL;
	return policy_client(new, c->pol->name);
}

int
gateway_reload(struct cg_gateway *gw)
{
	struct cg_policy *old = gw->policy, *new;
	struct cg_chan_state **states;
	unsigned remapped = 0, ended = 0;
	struct cg_error err;

	new = policy_load(old->path, handler_check, &err);
	if (new == NULL) {
		report_failure(gw, &err);
		return -1;
	}
	/* Everything that can fail is done before the swap. */
	states = calloc(gw->nclients + 1, sizeof(*states));
	for (size_t i = 0; states != NULL && i < gw->nclients; i++) {
		struct cg_client *c = gw->clients[i];
		const struct cg_client_policy *cp = new_grants(c, new);
		if (cp != NULL && (states[i] = remap_state(c, old, new, cp)) == NULL)
			goto oom;
	}
	if (states == NULL || retire(gw, old) != 0)
		goto oom;
	gw->policy = new;
	(void)audit_set_policy(gw->audit, new->hash, NULL);  /* hex by construction */
	for (size_t i = 0; i < gw->nclients; i++) {
		struct cg_client *c = gw->clients[i];
		const struct cg_client_policy *cp = new_grants(c, new);
		if (cp == NULL) {
			if (c->state != CG_CLIENT_CLOSED) {
				ended++;
				client_kill(c, "reload-client-removed");
			}
			c->pol = NULL;
			continue;
		}
		free(c->chan);
		c->chan = states[i];
		c->pol = cp;
		remapped++;
	}
	free(states);
	audit_reload(gw, old->hash, remapped, ended);
	log_debug("policy reloaded from %s (%s)", new->path, new->hash);
	return 0;
oom:
	for (size_t i = 0; states != NULL && i < gw->nclients; i++)
		free(states[i]);
	free(states);
	policy_free(new);
	cg_error_set(&err, "out of memory while swapping the policy");
	report_failure(gw, &err);
	return -1;
}
