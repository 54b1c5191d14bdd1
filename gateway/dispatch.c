/*
 * The order of checks for one frame, after the client module has checked
 * its size, its sender and its MAC/sequence number:
 *
 *   handshake -> channel exists and is granted to this client -> kind ->
 *   per-channel size -> phase -> use count -> rate -> in-flight ->
 *   JSON limits and parse -> request schema -> handler -> response schema ->
 *   reply -> one audit record
 *
 * The channel name travels outside the JSON body, so a frame for a channel
 * the client was not granted is refused before its body is parsed: the
 * parser is attack surface only for traffic the policy allows.
 *
 * Every request gets exactly one audit record and, for an invoke, exactly
 * one reply. The client sees an opaque status; the reason is audited.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "gateway/backend.h"
#include "gateway/gateway.h"
#include "gateway/handlers.h"
#include "policy/schema.h"

struct decision {
	enum cg_decision decision;
	enum cg_status status;
	const char *reason;
	const char *detail;
	char pointer[256];
	bool has_pointer;        /* a schema failed at pointer ("" = the root) */
	char keyword[32];        /* the schema keyword that failed */
};

/* A schema failure: where in the payload and which keyword, for the audit
 * record only (the client sees the opaque status). */
static void
deny_schema(struct decision *d, enum cg_decision dec, enum cg_status st,
    const char *reason, const struct cg_error *err)
{
	d->decision = dec;
	d->status = st;
	d->reason = reason;
	d->has_pointer = true;
	snprintf(d->pointer, sizeof(d->pointer), "%s", err->pointer);
	snprintf(d->keyword, sizeof(d->keyword), "%s", err->keyword);
	if (d->keyword[0] != '\0')
		d->detail = d->keyword;
}

static void
deny(struct decision *d, enum cg_decision dec, enum cg_status st,
    const char *reason)
{
	d->decision = dec;
	d->status = st;
	d->reason = reason;
}

/* What the record keeps of the payload: by default only its digest. */
static char *
record_payload(const struct cg_audit *a, const struct cg_channel *ch,
    const struct cg_frame *f, json_t *args, struct cg_audit_decision *rec,
    unsigned char *digest)
{
	char *text = NULL;

	switch (ch != NULL ? ch->audit.mode : CG_AUDIT_PAYLOAD_DIGEST) {
	case CG_AUDIT_PAYLOAD_FULL:
		rec->payload = f->body;
		rec->payload_len = f->body_len;
		break;
	case CG_AUDIT_PAYLOAD_REDACT:
		if (args != NULL) {
			json_t *copy = json_deep_copy(args);
			audit_redact(copy, (const char *const *)ch->audit.redact);
			text = json_dumps(copy, JSON_COMPACT | JSON_ENCODE_ANY);
			json_decref(copy);
			rec->payload = text;
			rec->payload_len = text ? strlen(text) : 0;
			break;
		}
		/* not parsed (denied before the body was read): digest only */
		/* FALLTHROUGH */
	case CG_AUDIT_PAYLOAD_DIGEST:
		if (f->body_len > 0) {
			audit_digest(a, f->body, f->body_len, digest);
			rec->digest = digest;
		}
		break;
	case CG_AUDIT_PAYLOAD_NONE:
		break;
	}
	return text;
}

/*
 * Counts a denial against the client's budget (a token bucket of
 * CG_DENIALS_BURST, refilled at CG_DENIALS_PER_S); false once it is spent.
 * The bucket starts full: denials_at_ns 0 means never denied.
 */
static bool
denial_allowed(struct cg_client *c, uint64_t now)
{
	uint64_t refill;

	if (c->denials_at_ns == 0) {
		c->denials_left = CG_DENIALS_BURST;
		c->denials_at_ns = now;
	}
	refill = (now - c->denials_at_ns) * CG_DENIALS_PER_S / 1000000000u;
	if (refill > 0) {
		c->denials_left = refill >= CG_DENIALS_BURST - c->denials_left ?
		    CG_DENIALS_BURST : c->denials_left + (uint32_t)refill;
		c->denials_at_ns += refill * 1000000000u / CG_DENIALS_PER_S;
	}
	if (c->denials_left == 0)
		return false;
	c->denials_left--;
	return true;
}

static void
audit_decision(struct cg_client *c, const struct cg_frame *f,
    const struct cg_channel *ch, json_t *args, const struct decision *d,
    uint64_t start_ns, uint64_t end_ns, const struct cg_policy *under)
{
	struct cg_audit_decision rec = { 0 };
	unsigned char digest[AUDIT_DIGEST_LEN];
	char *text;

	rec.client = c->name;
	rec.pid = c->pid;
	rec.channel = f->channel_len ? f->channel : NULL;
	rec.channel_len = f->channel_len;
	rec.kind = frame_type_name(f->type);
	rec.request_id = f->request_id;
	rec.decision = d->decision;
	rec.reason = d->reason;
	rec.pointer = d->has_pointer || d->pointer[0] ? d->pointer : NULL;
	rec.detail = d->detail;
	if (end_ns == 0)
		end_ns = cg_now_ns();
	rec.latency_ns = end_ns > start_ns ? end_ns - start_ns : 0;
	if (under != NULL && under != c->gw->policy)
		rec.policy_hash = under->hash;
	/* No log, no digest: the hash pass is the record's largest cost. */
	text = c->gw->policy->audit.path != NULL || c->gw->audit_path_set ?
	    record_payload(c->gw->audit, ch, f, args, &rec, digest) : NULL;
	if (audit_append_decision(c->gw->audit, &rec) != 0 &&
	    !c->gw->audit_warned) {
		c->gw->audit_warned = true;
		log_warn("the audit log cannot be written: %s",
		    c->gw->policy->audit.fail_open ? "continuing (policy "
		    "says on_failure: allow)" : "denying every request");
	}
	free(text);
	/* c is a client (a backend's frames go to backend_dispatch); its
	 * backends' errors are decision "error" and do not count */
	if ((d->decision == CG_DECISION_DENY || d->decision == CG_DECISION_NOTFOUND) &&
	    !audit_failed(c->gw->audit) && !denial_allowed(c, end_ns))
		client_kill(c, "too-many-denials");
}

static void
reply_error(struct cg_client *c, const struct cg_frame *req, enum cg_status st)
{
	struct cg_frame f = { 0 };

	if (req->type != CG_MSG_INVOKE && req->type != CG_MSG_HELLO)
		return;
	f.type = CG_MSG_ERROR;
	f.request_id = req->request_id;
	f.status = (uint16_t)st;
	client_queue(c, &f, NULL, 0);
}

/* A frame that failed the transport checks, or came from the wrong
 * process. Recorded with the offending pid; ends the client if the policy
 * says so (the default, as Chromium kills a renderer on a bad IPC). */
void
dispatch_violation(struct cg_client *c, const char *reason, const char *detail,
    pid_t sender)
{
	struct cg_audit_decision rec = { 0 };
	char buf[64];

	c->violations++;
	rec.client = c->name;
	rec.pid = sender != 0 ? sender : c->pid;
	rec.kind = "frame";
	rec.decision = CG_DECISION_DENY;
	rec.reason = reason;
	if (detail == NULL && sender != 0 && sender != c->pid) {
		snprintf(buf, sizeof(buf), "sender pid %d is not client pid %d",
		    (int)sender, (int)c->pid);
		detail = buf;
	}
	rec.detail = detail;
	audit_append_decision(c->gw->audit, &rec);
	/* With on_violation "deny" the client carries on, but not forever: a
	 * process that keeps forging frames (a forked child flooding the
	 * inherited socket, say) would otherwise grow the audit log at socket
	 * speed. Past CG_VIOLATIONS_MAX the client is ended all the same. */
	if (c->gw->policy->limits.kill_on_violation)
		client_kill(c, reason);
	else if (c->violations > CG_VIOLATIONS_MAX)
		client_kill(c, "too-many-violations");
}

static void
handle_hello(struct cg_client *c, const struct cg_frame *f)
{
	struct cg_frame w = { 0 };
	char body[256];
	json_t *hello = NULL;
	json_int_t version = 0;

	if (frame_parse_body(f->body, f->body_len, NULL, &hello) == CG_BODY_OK &&
	    json_is_object(hello))
		version = json_integer_value(json_object_get(hello, "version"));
	json_decref(hello);
	if (version != CG_PROTO_VERSION) {
		reply_error(c, f, CG_STATUS_PROTOCOL);
		dispatch_violation(c, "unsupported-version", NULL, 0);
		return;
	}
	snprintf(body, sizeof(body), "{\"version\":%d,\"client\":\"%s\","
	    "\"frame_max\":%u}", CG_PROTO_VERSION, c->name,
	    (unsigned)c->gw->policy->limits.frame_max);
	w.type = CG_MSG_WELCOME;
	w.request_id = f->request_id;
	w.body = body;
	w.body_len = strlen(body);
	c->state = CG_CLIENT_READY;
	client_queue(c, &w, NULL, 0);
}

/* Token bucket: refills at rate.per_sec up to rate.burst. */
static bool
rate_take(const struct cg_channel *ch, struct cg_chan_state *st, uint64_t now)
{
	if (ch->rate.per_sec <= 0)
		return true;
	if (st->refill_ns == 0) {
		st->tokens = ch->rate.burst;
	} else {
		st->tokens += (double)(now - st->refill_ns) / 1e9 * ch->rate.per_sec;
		if (st->tokens > ch->rate.burst)
			st->tokens = ch->rate.burst;
	}
	st->refill_ns = now;
	if (st->tokens < 1.0)
		return false;
	st->tokens -= 1.0;
	return true;
}

static bool
channel_succeeded(const struct cg_client *c, int index)
{
	int32_t slot = c->pol->slot[index];

	return slot >= 0 && c->chan[slot].succeeded;
}

/* Phases (policy "after"/"until", lists allowed): open once every "after"
 * channel has succeeded for this client, closed once any "until" one has. */
static const char *
phase_denial(const struct cg_client *c, const struct cg_channel *ch)
{
	for (uint32_t i = 0; i < ch->nafter; i++)
		if (!channel_succeeded(c, ch->after_all[i]))
			return "phase-not-yet";
	for (uint32_t i = 0; i < ch->nuntil; i++)
		if (channel_succeeded(c, ch->until_any[i]))
			return "phase-over";
	return NULL;
}

/* Steps 4: everything about the channel that needs no body. */
static const struct cg_channel *
check_channel(struct cg_client *c, const struct cg_frame *f,
    struct cg_chan_state **stp, struct decision *d, uint64_t now)
{
	const struct cg_policy *p = c->gw->policy;
	const struct cg_channel *ch;
	struct cg_chan_state *st;
	int idx = policy_channel_index(p, f->channel, f->channel_len);
	const char *phase;
	int32_t slot;

	if (idx < 0) {
		deny(d, CG_DECISION_NOTFOUND, CG_STATUS_DENIED, "not-found");
		return NULL;
	}
	ch = &p->channels[idx];
	slot = c->pol->slot[idx];
	if (slot < 0) {
		deny(d, CG_DECISION_DENY, CG_STATUS_DENIED, "not-granted");
		return ch;
	}
	st = *stp = &c->chan[slot];
	if ((f->type == CG_MSG_INVOKE) != (ch->kind == CG_CHAN_INVOKE) ||
	    (f->type == CG_MSG_SEND) != (ch->kind == CG_CHAN_SEND))
		deny(d, CG_DECISION_DENY, CG_STATUS_DENIED, "wrong-kind");
	else if (CG_FRAME_HEADER_LEN + f->channel_len + f->body_len > ch->max_bytes)
		deny(d, CG_DECISION_DENY, CG_STATUS_DENIED, "too-big");
	else if ((phase = phase_denial(c, ch)) != NULL)
		deny(d, CG_DECISION_DENY, CG_STATUS_DENIED, phase);
	/* a use still pending at a backend counts until it fails: requests
	 * sent back to back must not each pass the check before the first
	 * one's answer */
	else if (ch->uses > 0 && st->uses + st->inflight >= ch->uses)
		deny(d, CG_DECISION_DENY, CG_STATUS_DENIED, "uses-exhausted");
	else if (f->type == CG_MSG_INVOKE && (c->inflight >= p->limits.inflight ||
	    (ch->max_inflight > 0 && st->inflight >= ch->max_inflight)))
		deny(d, CG_DECISION_DENY, CG_STATUS_LIMITED, "inflight");
	else if (!rate_take(ch, st, now))
		deny(d, CG_DECISION_DENY, CG_STATUS_LIMITED, "rate");
	return ch;
}

/* Steps 3 and 5: the body within limits, then the request schema. */
static json_t *
check_body(struct cg_client *c, const struct cg_frame *f,
    const struct cg_channel *ch, struct decision *d)
{
	const struct cg_limits *l = &c->gw->policy->limits;
	struct cg_json_limits lim = { l->json_depth, l->json_members, CG_FRAME_MAX };
	enum cg_body_result br;
	struct cg_error err;
	json_t *args = NULL;

	br = frame_parse_body(f->body, f->body_len, &lim, &args);
	if (br != CG_BODY_OK) {
		deny(d, CG_DECISION_DENY, CG_STATUS_INVALID,
		    frame_body_result_name(br));
		return NULL;
	}
	if (ch->request != NULL && schema_validate(ch->request, args, &err) != 0) {
		deny_schema(d, CG_DECISION_DENY, CG_STATUS_INVALID,
		    "request-schema", &err);
		json_decref(args);
		return NULL;
	}
	return args;
}

/* Step 6 and 7: run the handler, check what it produced, reply. */
static void
run_handler(struct cg_client *c, const struct cg_frame *f,
    const struct cg_channel *ch, json_t *args, struct decision *d)
{
	const struct cg_handler *h = handler_find(ch->handler);
	struct cg_call call = { c->gw, c->name, c->pid, ch, args, f->body,
	    f->body_len };
	struct cg_result res = { 0 };
	struct cg_frame r = { 0 };
	struct cg_error err;
	char *text = NULL;

	if (h == NULL) {
		deny(d, CG_DECISION_ERROR, CG_STATUS_UNAVAILABLE, "no-handler");
		return;
	}
	h->run(&call, &res);
	if (res.status != CG_STATUS_OK) {
		deny(d, CG_DECISION_ERROR, res.status,
		    res.reason ? res.reason : "handler-failed");
		goto out;
	}
	if (ch->response != NULL && schema_validate(ch->response,
	    res.data ? res.data : res.raw_json, &err) != 0) {
		/* A handler bug must not leak what the policy did not promise. */
		deny_schema(d, CG_DECISION_ERROR, CG_STATUS_FAILED,
		    "response-schema", &err);
		goto out;
	}
	if (f->type != CG_MSG_INVOKE)
		goto out;
	r.type = CG_MSG_REPLY;
	r.request_id = f->request_id;
	r.nfds = (uint8_t)res.nfds;     /* declared in the header, as sent */
	if (res.data != NULL) {
		text = json_dumps(res.data, JSON_COMPACT | JSON_ENCODE_ANY);
		r.body = text;
		r.body_len = text ? strlen(text) : 0;
	} else {
		r.body = res.raw;
		r.body_len = res.raw_len;
	}
	if (r.body == NULL || client_queue(c, &r, res.fds, res.nfds) != 0) {
		deny(d, CG_DECISION_ERROR, CG_STATUS_FAILED, "reply-failed");
		res.nfds = 0;
	} else {
		res.nfds = 0;    /* now owned by the queue */
	}
out:
	for (unsigned i = 0; i < res.nfds; i++)
		close(res.fds[i]);
	free(text);
	json_decref(res.data);
}

/*
 * Step 6 for a backend channel: the request goes out under the gateway's
 * own id and is answered later (dispatch_finish), so for an invoke the
 * decision, the reply and the audit record wait until then. Returns true
 * when the request is now pending.
 */
static bool
forward(struct cg_client *c, const struct cg_frame *f,
    const struct cg_channel *ch, struct cg_chan_state *st, const int *fds,
    unsigned nfds, uint64_t start_ns, struct decision *d)
{
	int idx = (int)(ch - c->gw->policy->channels);
	const char *reason = NULL;
	enum cg_status s;
	bool pending;

	if (ch->route == CG_ROUTE_CLIENT) {
		s = events_relay(c, f, ch, &reason);
		if (s != CG_STATUS_OK)
			deny(d, CG_DECISION_DENY, s, reason);
		return false;
	}
	s = backend_forward(c, f, idx, (int32_t)(st - c->chan), fds, nfds,
	    start_ns, &pending, &reason);
	if (s != CG_STATUS_OK) {
		deny(d, CG_DECISION_ERROR, s, reason);
		return false;
	}
	if (pending) {
		c->inflight++;
		st->inflight++;
	}
	return pending;
}

/*
 * Step 5 for fds a client attached: only to a backend channel that declares
 * them ("fds"), and only sealed memfds (regular, and sealed against write,
 * shrink and grow): the trusted backend then reads bytes that cannot change
 * under it, never a FIFO, socket or device that could block or trick it.
 */
static void
check_fds(const struct cg_channel *ch, const int *fds, unsigned nfds,
    struct decision *d)
{
	const int need = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW;
	struct stat st;

	if (ch->route != CG_ROUTE_BACKEND || nfds > ch->max_fds) {
		deny(d, CG_DECISION_DENY, CG_STATUS_DENIED, "undeclared-fds");
		return;
	}
	for (unsigned i = 0; i < nfds; i++) {
		int seals = fcntl(fds[i], F_GET_SEALS);
		if (fstat(fds[i], &st) != 0 || !S_ISREG(st.st_mode) || seals < 0 ||
		    (seals & need) != need) {
			deny(d, CG_DECISION_DENY, CG_STATUS_DENIED, "unsealed-fd");
			return;
		}
	}
}

static void
handle_request(struct cg_client *c, const struct cg_frame *f, const int *fds,
    unsigned nfds)
{
	struct decision d = { CG_DECISION_ALLOW, CG_STATUS_OK, "ok", NULL, "",
	    false, "" };
	const struct cg_channel *ch = NULL;
	struct cg_chan_state *st = NULL;
	uint64_t start = gateway_now(c->gw);
	json_t *args = NULL;

	if (audit_failed(c->gw->audit) && !c->gw->policy->audit.fail_open)
		deny(&d, CG_DECISION_DENY, CG_STATUS_UNAVAILABLE,
		    "audit-unavailable");
	else
		ch = check_channel(c, f, &st, &d, start);
	if (d.decision == CG_DECISION_ALLOW)
		args = check_body(c, f, ch, &d);
	if (d.decision == CG_DECISION_ALLOW && nfds > 0)
		check_fds(ch, fds, nfds, &d);
	if (d.decision == CG_DECISION_ALLOW && ch->route == CG_ROUTE_BACKEND) {
		/* the fds go with the request (or are closed) from here */
		bool pending = forward(c, f, ch, st, fds, nfds, start, &d);
		nfds = 0;
		if (pending) {
			json_decref(args);
			return;
		}
	} else if (d.decision == CG_DECISION_ALLOW &&
	    ch->route == CG_ROUTE_CLIENT) {
		forward(c, f, ch, st, NULL, 0, start, &d);
	} else if (d.decision == CG_DECISION_ALLOW) {
		run_handler(c, f, ch, args, &d);
	}
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
	if (d.decision == CG_DECISION_ALLOW) {
		st->uses++;
		st->succeeded = true;
	} else {
		reply_error(c, f, d.status);
	}
	audit_decision(c, f, ch, args, &d, start, 0, NULL);
	json_decref(args);
}

/* A backend's status is passed on, except "protocol", which only the
 * gateway's own frame checks may produce. */
static enum cg_status
backend_status(uint16_t status)
{
	if (status == CG_STATUS_OK || status >= CG_STATUS_PROTOCOL)
		return CG_STATUS_FAILED;
	return (enum cg_status)status;
}

/* Steps 6 and 7 for a backend's REPLY: the body within limits, then the
 * response schema, then the reply under the client's own request id. */
static void
check_answer(struct cg_client *c, const struct cg_channel *ch,
    const struct cg_pending *p, const struct cg_frame *answer,
    const int *fds, unsigned nfds, struct decision *d)
{
	const struct cg_limits *l = &c->gw->policy->limits;
	struct cg_json_limits lim = { l->json_depth, l->json_members, CG_FRAME_MAX };
	struct cg_frame r = { 0 };
	enum cg_body_result br;
	struct cg_error err;
	json_t *data = NULL;

	if (nfds > ch->max_fds) {
		/* Bulk data travels as fds only where the policy says so. */
		deny(d, CG_DECISION_ERROR, CG_STATUS_FAILED, "undeclared-fds");
		goto drop;
	}
	br = frame_parse_body(answer->body, answer->body_len, &lim, &data);
	if (br != CG_BODY_OK) {
		deny(d, CG_DECISION_ERROR, CG_STATUS_FAILED, "backend-bad-json");
		d->detail = frame_body_result_name(br);
		goto drop;
	}
	if (ch->response != NULL && schema_validate(ch->response, data, &err) != 0) {
		deny_schema(d, CG_DECISION_ERROR, CG_STATUS_FAILED,
		    "response-schema", &err);
		json_decref(data);
		goto drop;
	}
	json_decref(data);
	r.type = CG_MSG_REPLY;
	r.request_id = p->client_id;
	r.nfds = (uint8_t)nfds;
	r.body = answer->body_len > 0 ? answer->body : "null";
	r.body_len = answer->body_len > 0 ? answer->body_len : 4;
	/* client_queue owns the fds from here, also when it fails */
	if (client_queue(c, &r, fds, nfds) != 0)
		deny(d, CG_DECISION_ERROR, CG_STATUS_FAILED, "reply-failed");
	return;
drop:
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
}

/*
 * The end of a pending invoke: an answer from the backend, or (answer
 * NULL) a timeout or the backend's end with status st. Exactly one reply
 * and one audit record, as for a built-in; the in-flight counts drop.
 * Frees p.
 */
void
dispatch_finish(struct cg_pending *p, const struct cg_frame *answer,
    const int *fds, unsigned nfds, enum cg_status st, const char *reason)
{
	struct decision d = { CG_DECISION_ALLOW, CG_STATUS_OK, "ok", NULL, "",
	    false, "" };
	struct cg_client *c = p->client;
	/* under the policy it was decided under, even after a reload */
	const struct cg_channel *ch = &p->policy->channels[p->channel];
	struct cg_chan_state *cs = p->slot >= 0 ? &c->chan[p->slot] : NULL;
	struct cg_frame req = { 0 };
	json_t *args = NULL;

	req.type = CG_MSG_INVOKE;
	req.request_id = p->client_id;
	req.channel = ch->name;
	req.channel_len = strlen(ch->name);
	req.body = p->body;
	req.body_len = p->body_len;
	c->inflight--;
	if (cs != NULL)
		cs->inflight--;
	if (answer == NULL)
		deny(&d, CG_DECISION_ERROR, st, reason);
	else if (answer->type == CG_MSG_ERROR)
		deny(&d, CG_DECISION_ERROR, backend_status(answer->status),
		    "backend-error");
	else
		check_answer(c, ch, p, answer, fds, nfds, &d);
	if (d.decision == CG_DECISION_ALLOW && cs != NULL) {
		cs->uses++;
		cs->succeeded = true;
	} else if (d.decision != CG_DECISION_ALLOW) {
		reply_error(c, &req, d.status);
	}
	if (ch->audit.mode == CG_AUDIT_PAYLOAD_REDACT &&
	    frame_parse_body(p->body, p->body_len, NULL, &args) != CG_BODY_OK)
		args = NULL;
	/* the answer (or its deadline) was met in this turn: its time is
	 * the turn's */
	audit_decision(c, &req, ch, args, &d, p->start_ns,
	    gateway_now(c->gw), p->policy);
	json_decref(args);
	backend_pending_release(c->gw, p);
}

/* A decision about a frame that came from a backend (an event, a late
 * reply): recorded under the backend's name. */
void
dispatch_audit_event(struct cg_gateway *gw, const char *source,
    const struct cg_frame *f, enum cg_decision dec, const char *reason,
    const char *pointer, const char *detail)
{
	struct cg_audit_decision rec = { 0 };
	unsigned char digest[AUDIT_DIGEST_LEN];

	rec.client = source;
	rec.channel = f->channel_len ? f->channel : NULL;
	rec.channel_len = f->channel_len;
	rec.kind = frame_type_name(f->type);
	rec.request_id = f->request_id;
	rec.decision = dec;
	rec.reason = reason;
	rec.pointer = pointer != NULL && pointer[0] ? pointer : NULL;
	rec.detail = detail;
	if (f->body_len > 0) {
		audit_digest(gw->audit, f->body, f->body_len, digest);
		rec.digest = digest;
	}
	audit_append_decision(gw->audit, &rec);
}

/*
 * SUBSCRIBE / UNSUBSCRIBE: a client may listen to an event channel it is
 * granted, or to a client-to-client channel addressed to it. Anything else
 * is denied and audited like a request; there is no answer either way (the
 * client cannot tell a denied subscription from a quiet channel).
 */
static void
handle_subscribe(struct cg_client *c, const struct cg_frame *f)
{
	struct decision d = { CG_DECISION_ALLOW, CG_STATUS_OK, "ok", NULL, "",
	    false, "" };
	const struct cg_policy *p = c->gw->policy;
	const struct cg_channel *ch = NULL;
	int idx = policy_channel_index(p, f->channel, f->channel_len);
	int self = (int)(c->pol - p->clients);
	uint64_t start = gateway_now(c->gw);

	if (idx < 0) {
		deny(&d, CG_DECISION_NOTFOUND, CG_STATUS_DENIED, "not-found");
	} else if (ch = &p->channels[idx], c->pol->slot[idx] < 0) {
		deny(&d, CG_DECISION_DENY, CG_STATUS_DENIED, "not-granted");
	} else if (ch->kind != CG_CHAN_EVENT && !(ch->route == CG_ROUTE_CLIENT &&
	    ch->target == self)) {
		deny(&d, CG_DECISION_DENY, CG_STATUS_DENIED, "not-subscribable");
	} else {
		c->chan[c->pol->slot[idx]].subscribed = f->type == CG_MSG_SUBSCRIBE;
	}
	audit_decision(c, f, ch, NULL, &d, start, 0, NULL);
}

void
dispatch_frame(struct cg_client *c, const struct cg_frame *f, const int *fds,
    unsigned nfds)
{
	if (c->backend != NULL) {
		backend_dispatch(c, f, fds, nfds);
		return;
	}
	/* Only a request may carry fds (checked against its channel in
	 * handle_request); any others are closed, never kept. */
	if ((f->type != CG_MSG_INVOKE && f->type != CG_MSG_SEND) ||
	    c->state != CG_CLIENT_READY) {
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		nfds = 0;
	}
	if (c->state == CG_CLIENT_HANDSHAKE) {
		if (f->type == CG_MSG_HELLO)
			handle_hello(c, f);
		else
			dispatch_violation(c, "no-handshake", NULL, 0);
		return;
	}
	switch ((enum cg_msg_type)f->type) {
	case CG_MSG_INVOKE:
	case CG_MSG_SEND:
		handle_request(c, f, fds, nfds);
		return;
	case CG_MSG_SUBSCRIBE:
	case CG_MSG_UNSUBSCRIBE:
		handle_subscribe(c, f);
		return;
	case CG_MSG_HELLO:
	case CG_MSG_WELCOME:
	case CG_MSG_REPLY:
	case CG_MSG_ERROR:
	case CG_MSG_EVENT:
		break;
	}
	dispatch_violation(c, "unexpected-type", frame_type_name(f->type), 0);
}
