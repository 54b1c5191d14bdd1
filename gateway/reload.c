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
 * What a reload does not change: the audit log's file and key, the
 * sandbox of clients already running, and the set of backends (their
 * processes are started once: a policy that adds, removes or reorders
 * backends is refused, and the running one stays). fs scope roots are
 * opened afresh, since they are indexed by channel.
 *
 * An invoke forwarded to a backend before the reload finishes under the
 * policy it was decided under (its channel's response schema, its fds);
 * only its grant slot is renumbered, so its use count lands on the channel
 * of the same name, if the new policy still grants it. The old policy is
 * therefore retired, not freed: it is freed once no client has an invoke
 * in flight (c->inflight).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "gateway/backend.h"
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

int32_t
gateway_reload_slot(const struct cg_pending *p, const struct cg_policy *new)
{
	const char *name = p->policy->channels[p->channel].name;
	const struct cg_client_policy *cp = new_grants(p->client, new);
	int idx = policy_channel_index(new, name, strlen(name));

	return cp != NULL && idx >= 0 ? cp->slot[idx] : -1;
}

/* Backends are started once: the new policy must declare the same ones,
 * in the same order (their indices are in every backend channel). */
static int
same_backends(const struct cg_policy *old, const struct cg_policy *new,
    struct cg_error *err)
{
	bool same = old->nbackends == new->nbackends;

	for (size_t i = 0; same && i < old->nbackends; i++)
		same = strcmp(old->backends[i].name, new->backends[i].name) == 0;
	if (!same) {
		cg_error_clear(err);
		snprintf(err->file, sizeof(err->file), "%s", new->path);
		return cg_error_set(err, "the backends changed: a reload cannot "
		    "start or stop backends (restart capgate to change them)");
	}
	return 0;
}

/* fs scope roots of new, opened into *fds with gw left as it was. */
static int
open_scopes(struct cg_gateway *gw, struct cg_policy *new, int **fds,
    struct cg_error *err)
{
	struct cg_policy *old = gw->policy;
	int *old_fds = gw->scope_fds, rc;

	gw->policy = new;
	gw->scope_fds = NULL;
	rc = fs_open_scopes(gw, err);
	if (rc != 0)
		fs_close_scopes(gw);
	*fds = gw->scope_fds;
	gw->policy = old;
	gw->scope_fds = old_fds;
	return rc;
}

static void
close_scopes(struct cg_gateway *gw, struct cg_policy *p, int *fds)
{
	struct cg_policy *cur = gw->policy;
	int *cur_fds = gw->scope_fds;

	gw->policy = p;
	gw->scope_fds = fds;
	fs_close_scopes(gw);
	gw->policy = cur;
	gw->scope_fds = cur_fds;
}

/* Each client's state under new, by channel name; NULL entries for
 * clients that have no grants in it. */
static struct cg_chan_state **
remap_all(struct cg_gateway *gw, const struct cg_policy *new)
{
	struct cg_chan_state **states = calloc(gw->nclients + 1, sizeof(*states));

	for (size_t i = 0; states != NULL && i < gw->nclients; i++) {
		struct cg_client *c = gw->clients[i];
		const struct cg_client_policy *cp = new_grants(c, new);
		if (cp != NULL &&
		    (states[i] = remap_state(c, gw->policy, new, cp)) == NULL) {
			for (size_t j = 0; j < i; j++)
				free(states[j]);
			free(states);
			return NULL;
		}
	}
	return states;
}

/* The swap itself: nothing here can fail. */
static void
commit(struct cg_gateway *gw, struct cg_policy *new, struct cg_chan_state **states,
    int *scope_fds, unsigned *remapped, unsigned *ended)
{
	/* pending slots and backend entries first: they look up the clients'
	 * current (old) grants by name */
	backend_reload(gw, new);
	for (size_t i = 0; i < gw->nclients; i++) {
		struct cg_client *c = gw->clients[i];
		const struct cg_client_policy *cp = new_grants(c, new);
		if (cp == NULL) {
			if (c->state != CG_CLIENT_CLOSED) {
				(*ended)++;
				client_kill(c, "reload-client-removed");
			}
			c->pol = NULL;
			continue;
		}
		free(c->chan);
		c->chan = states[i];
		c->pol = cp;
		(*remapped)++;
	}
	fs_close_scopes(gw);
	gw->scope_fds = scope_fds;
	gw->policy = new;
	(void)audit_set_policy(gw->audit, new->hash, NULL);  /* hex by construction */
}

int
gateway_reload(struct cg_gateway *gw)
{
	struct cg_policy *old = gw->policy, *new;
	struct cg_chan_state **states = NULL;
	unsigned remapped = 0, ended = 0;
	int *scope_fds = NULL;
	struct cg_error err;

	new = policy_load(old->path, handler_check, &err);
	if (new == NULL || same_backends(old, new, &err) != 0 ||
	    open_scopes(gw, new, &scope_fds, &err) != 0) {
		report_failure(gw, &err);
		policy_free(new);
		return -1;
	}
	/* Everything that can fail is done before the swap. */
	states = remap_all(gw, new);
	if (states == NULL || retire(gw, old) != 0) {
		if (states != NULL)
			for (size_t i = 0; i < gw->nclients; i++)
				free(states[i]);
		free(states);
		close_scopes(gw, new, scope_fds);
		policy_free(new);
		cg_error_clear(&err);
		cg_error_set(&err, "out of memory while swapping the policy");
		report_failure(gw, &err);
		return -1;
	}
	commit(gw, new, states, scope_fds, &remapped, &ended);
	free(states);
	audit_reload(gw, old->hash, remapped, ended);
	log_debug("policy reloaded from %s (%s)", new->path, new->hash);
	return 0;
}
