/*
 * Push traffic: events from backends, and client-to-client messages.
 *
 * Why this is safe for an untrusted receiver: an event reaches a client
 * only if the policy declares the channel as coming from the backend that
 * sent it, its payload matches the channel's schema, the client is granted
 * the channel and asked for it (SUBSCRIBE, itself checked and audited). A
 * client that stops reading loses events past the output queue's bound
 * (dropped and audited) rather than growing the gateway without limit.
 *
 * Why it is safe for an untrusted sender (client-to-client): the message
 * went through every check a request goes through (grant, kind, size, rate,
 * request schema) before it gets here; it is delivered only to the client
 * the channel names, only if that client subscribed, and never back to the
 * sender. The receiver cannot answer through it: a client-to-client channel
 * is one-way ("send"), like a MessagePort message.
 */
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "gateway/backend.h"
#include "policy/schema.h"

/* Queues an EVENT to c; returns 1 if queued, 0 if dropped (queue full). */
static int
push(struct cg_client *c, const struct cg_frame *f)
{
	struct cg_frame e = { 0 };

	if (!client_queue_has_room(c, f->body_len, 0))
		return 0;
	e.type = CG_MSG_EVENT;
	e.channel = f->channel;
	e.channel_len = f->channel_len;
	e.body = f->body_len > 0 ? f->body : "null";
	e.body_len = f->body_len > 0 ? f->body_len : 4;
	return client_queue(c, &e, NULL, 0) == 0;
}

/* Checks an event's payload against the channel's limits and schema. */
static const char *
check_payload(struct cg_gateway *gw, const struct cg_channel *ch,
    const struct cg_frame *f, char *pointer, size_t plen)
{
	const struct cg_limits *l = &gw->policy->limits;
	struct cg_json_limits lim = { l->json_depth, l->json_members, CG_FRAME_MAX };
	struct cg_error err;
	json_t *v = NULL;
	enum cg_body_result br;

	if (CG_FRAME_HEADER_LEN + f->channel_len + f->body_len > ch->max_bytes)
		return "too-big";
	br = frame_parse_body(f->body, f->body_len, &lim, &v);
	if (br != CG_BODY_OK)
		return frame_body_result_name(br);
	if (ch->request != NULL && schema_validate(ch->request, v, &err) != 0) {
		snprintf(pointer, plen, "%s", err.pointer);
		json_decref(v);
		return "event-schema";
	}
	json_decref(v);
	return NULL;
}

void
events_from_backend(struct cg_gateway *gw, int index, const struct cg_frame *f)
{
	const char *source = gw->policy->backends[index].name;
	int idx = policy_channel_index(gw->policy, f->channel, f->channel_len);
	const struct cg_channel *ch;
	unsigned delivered = 0, dropped = 0;
	char pointer[256] = "", detail[96];
	const char *bad;

	if (idx < 0) {
		dispatch_audit_event(gw, source, f, CG_DECISION_NOTFOUND,
		    "not-found", NULL, NULL);
		return;
	}
	ch = &gw->policy->channels[idx];
	if (ch->kind != CG_CHAN_EVENT || ch->route != CG_ROUTE_BACKEND ||
	    ch->target != index) {
		dispatch_audit_event(gw, source, f, CG_DECISION_DENY,
		    "not-event-source", NULL, NULL);
		return;
	}
	if ((bad = check_payload(gw, ch, f, pointer, sizeof(pointer))) != NULL) {
		dispatch_audit_event(gw, source, f, CG_DECISION_DENY, bad,
		    pointer, NULL);
		return;
	}
	for (size_t i = 0; i < gw->nclients; i++) {
		struct cg_client *c = gw->clients[i];
		int32_t slot;
		/* a closed client keeps no grants across a policy reload */
		if (c->state != CG_CLIENT_READY)
			continue;
		slot = c->pol->slot[idx];
		if (slot < 0 || !c->chan[slot].subscribed)
			continue;
		if (push(c, f))
			delivered++;
		else
			dropped++;
	}
	snprintf(detail, sizeof(detail), "delivered %u, dropped %u", delivered,
	    dropped);
	dispatch_audit_event(gw, source, f, CG_DECISION_ALLOW,
	    dropped ? "queue-full-dropped" : "delivered", NULL, detail);
}

enum cg_status
events_relay(struct cg_client *from, const struct cg_frame *f,
    const struct cg_channel *ch, const char **reason)
{
	struct cg_gateway *gw = from->gw;
	const struct cg_client_policy *target = &gw->policy->clients[ch->target];
	int idx = (int)(ch - gw->policy->channels);
	struct cg_client *to = NULL;

	if (from->pol == target) {
		*reason = "wrong-direction";
		return CG_STATUS_DENIED;
	}
	for (size_t i = 0; i < gw->nclients && to == NULL; i++)
		if (gw->clients[i]->pol == target)
			to = gw->clients[i];
	if (to == NULL || to->state != CG_CLIENT_READY) {
		*reason = "target-not-running";
		return CG_STATUS_UNAVAILABLE;
	}
	if (target->slot[idx] < 0 || !to->chan[target->slot[idx]].subscribed) {
		*reason = "target-not-subscribed";
		return CG_STATUS_UNAVAILABLE;
	}
	if (!push(to, f)) {
		*reason = "target-queue-full";
		return CG_STATUS_LIMITED;
	}
	return CG_STATUS_OK;
}
