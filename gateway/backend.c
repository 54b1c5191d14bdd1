/*
 * Backends: starting, feeding, answering, restarting. See backend.h.
 *
 * Why this is safe for an untrusted requester: a client never talks to a
 * backend. The gateway forwards only requests that passed the sender, grant,
 * limit and request-schema checks, under a request id of its own (a client
 * cannot guess or collide with another client's ids), with the caller's
 * identity written by the gateway, not by the client. Every answer is
 * matched to a pending request the gateway created, checked against the
 * response schema before the client sees it, and bounded in time: a backend
 * that hangs costs the client a timeout, one that dies costs it an
 * "unavailable", never a hang. A client holds at most its in-flight limit of
 * pending requests, so it cannot exhaust the gateway's memory through a
 * slow backend.
 */
#include "gateway/backend.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "sandbox/sandbox.h"

#define BACKEND_STOP_GRACE_MS 2000
#define BACKEND_BACKOFF_MAX_MS 30000

/* The empty grant table a backend connection is created with: a backend is
 * granted nothing as a client would be; what it may send is checked here. */
static const struct cg_client_policy no_grants = { 0 };

struct cg_backend {
	struct cg_gateway *gw;
	const struct cg_backend_policy *pol;
	int index;
	struct cg_client *conn;      /* the current connection, or NULL */
	struct cg_client **dead;     /* earlier connections, freed at the end */
	size_t ndead;
	/* Unanswered invokes, twice: in buckets by backend_id (an answer
	 * finds its request in constant time) and in a heap by deadline (a
	 * turn finds what is due, and the loop its next wake-up, at its top;
	 * the rare walks over all of them go through its array). Hundreds
	 * can be pending at once under pipelined or many clients, and
	 * scanning them at every answer and every turn was the gateway's
	 * largest cost. */
	struct cg_pending **by_id;
	size_t nbuckets;             /* a power of two, or 0 */
	struct cg_pending **heap;
	size_t npending;             /* in the heap, heap[0] the earliest */
	size_t heap_cap;
	uint32_t next_id;
	unsigned restarts;
	uint64_t restart_at_ns;      /* 0: no restart scheduled */
	bool given_up;
	bool kill_sent;              /* connection lost; SIGKILL sent once */
};

static void
audit_backend(struct cg_backend *b, const char *ev, json_t *f)
{
	json_object_set_new(f, "backend", json_string(b->pol->name));
	audit_append_event(b->gw->audit, ev, f);
	json_decref(f);
}

/* Starts (or restarts) one backend; its HELLO arrives through the loop. */
static int
spawn_backend(struct cg_backend *b)
{
	struct cg_child child = { .pid = 0, .pidfd = -1, .notify_fd = -1 };
	struct cg_client *conn = client_new(b->gw, &no_grants, b->pol->name);
	struct cg_error err;

	cg_error_clear(&err);
	if (conn == NULL || backend_spawn_process(conn, b->pol, &child,
	    &err) != 0) {
		if (conn == NULL)
			cg_error_set(&err, "out of memory");
		log_warn("backend %s: %s", b->pol->name, err.msg);
		audit_backend(b, "backend-failed", json_pack("{s:s}", "error",
		    err.msg));
		client_free(conn);
		return -1;
	}
	conn->backend = b;
	/* In a sandbox the backend's program runs under a small init: its
	 * messages carry the program's pid, not the init's. */
	conn->pid = child.program_pid > 0 ? child.program_pid : child.pid;
	conn->child = child;
	conn->uid = getuid();
	conn->gid = getgid();
	if (conn->plan != NULL)
		sandbox_plan_ids(conn->plan, &conn->uid, &conn->gid);
	conn->handshake_deadline_ns = cg_now_ns() +
	    (uint64_t)b->gw->policy->limits.handshake_ms * 1000000u;
	b->conn = conn;
	b->kill_sent = false;
	audit_backend(b, "backend-start", json_pack("{s:i,s:i,s:O,s:o}", "pid",
	    (int)conn->pid, "restarts", (int)b->restarts, "argv", b->pol->argv,
	    "sandbox", conn->plan != NULL ? sandbox_attestation(conn->plan) :
	    json_false()));
	return client_watch(conn);
}

int
backend_start_all(struct cg_gateway *gw)
{
	uint64_t deadline = cg_now_ns() +
	    (uint64_t)gw->policy->limits.handshake_ms * 1000000u;
	bool waiting = true;

	if (gw->policy->nbackends == 0)
		return 0;
	gw->backends = calloc(gw->policy->nbackends, sizeof(*gw->backends));
	if (gw->backends == NULL)
		return -1;
	for (size_t i = 0; i < gw->policy->nbackends; i++) {
		struct cg_backend *b = calloc(1, sizeof(*b));
		if (b == NULL)
			return -1;
		b->gw = gw;
		b->pol = &gw->policy->backends[i];
		b->index = (int)i;
		b->next_id = 1;
		gw->backends[gw->nbackends++] = b;
		if (spawn_backend(b) != 0) {
			fprintf(stderr, "capgate run: backend %s cannot be started\n",
			    b->pol->name);
			return -1;
		}
	}
	/* Clients start once every backend has said HELLO (or failed to in
	 * time, and is then restarted like a crashed one). */
	while (waiting && cg_now_ns() < deadline) {
		waiting = false;
		for (size_t i = 0; i < gw->nbackends; i++)
			if (gw->backends[i]->conn != NULL &&
			    gw->backends[i]->conn->state == CG_CLIENT_HANDSHAKE)
				waiting = true;
		if (waiting && gateway_turn(gw) != 0)
			return -1;
	}
	return 0;
}

/* Room for one more pending request in the buckets and the heap, so that
 * pending_add cannot fail once the request has been forwarded. 0 or -1. */
static int
pending_reserve(struct cg_backend *b)
{
	if (b->npending + 1 > b->heap_cap) {
		size_t cap = b->heap_cap ? b->heap_cap * 2 : 16;
		struct cg_pending **h = reallocarray(b->heap, cap, sizeof(*h));

		if (h == NULL)
			return -1;
		b->heap = h;
		b->heap_cap = cap;
	}
	if (b->npending + 1 > b->nbuckets) {
		size_t n = b->nbuckets ? b->nbuckets * 2 : 16;
		struct cg_pending **t = calloc(n, sizeof(*t));

		if (t == NULL)
			return -1;
		for (size_t i = 0; i < b->npending; i++) {
			struct cg_pending *p = b->heap[i];
			struct cg_pending **at = &t[p->backend_id & (n - 1)];
			p->id_next = *at;
			*at = p;
		}
		free(b->by_id);
		b->by_id = t;
		b->nbuckets = n;
	}
	return 0;
}

static void
heap_set(struct cg_backend *b, size_t i, struct cg_pending *p)
{
	b->heap[i] = p;
	p->heap_at = i;
}

static void
heap_up(struct cg_backend *b, size_t i)
{
	struct cg_pending *p = b->heap[i];

	while (i > 0 && b->heap[(i - 1) / 2]->deadline_ns > p->deadline_ns) {
		heap_set(b, i, b->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(b, i, p);
}

static void
heap_down(struct cg_backend *b, size_t i)
{
	struct cg_pending *p = b->heap[i];
	size_t n = b->npending;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && b->heap[c + 1]->deadline_ns < b->heap[c]->deadline_ns)
			c++;
		if (b->heap[c]->deadline_ns >= p->deadline_ns)
			break;
		heap_set(b, i, b->heap[c]);
		i = c;
	}
	heap_set(b, i, p);
}

/* After pending_reserve. */
static void
pending_add(struct cg_backend *b, struct cg_pending *p)
{
	struct cg_pending **at = &b->by_id[p->backend_id & (b->nbuckets - 1)];

	p->id_next = *at;
	*at = p;
	b->heap[b->npending] = p;
	p->heap_at = b->npending++;
	heap_up(b, p->heap_at);
}

static void
pending_remove(struct cg_backend *b, struct cg_pending *p)
{
	struct cg_pending **at = &b->by_id[p->backend_id & (b->nbuckets - 1)];
	size_t i = p->heap_at;

	while (*at != p)
		at = &(*at)->id_next;
	*at = p->id_next;
	p->id_next = NULL;
	if (i != --b->npending) {
		struct cg_pending *last = b->heap[b->npending];

		heap_set(b, i, last);
		heap_up(b, i);
		heap_down(b, last->heap_at);
	}
}

static struct cg_pending *
take_pending(struct cg_backend *b, uint32_t id)
{
	struct cg_pending *p;

	if (b->nbuckets == 0)
		return NULL;
	for (p = b->by_id[id & (b->nbuckets - 1)]; p != NULL; p = p->id_next)
		if (p->backend_id == id) {
			pending_remove(b, p);
			return p;
		}
	return NULL;
}

static void
fail_all_pending(struct cg_backend *b, enum cg_status st, const char *reason)
{
	/* the heap's last entry leaves without sifting */
	while (b->npending > 0) {
		struct cg_pending *p = b->heap[b->npending - 1];
		pending_remove(b, p);
		dispatch_finish(p, NULL, NULL, 0, st, reason);
	}
}

/* The envelope's head for client c, kept in c: its name and pid do not
 * change while it is connected. 0 or -1. */
static int
envelope_head(struct cg_client *c)
{
	json_t *js;
	char *name;
	int n;

	if (c->envelope_len > 0 && c->envelope_pid == c->pid)
		return 0;
	js = json_string(c->name);
	name = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;
	json_decref(js);
	if (name == NULL)
		return -1;
	n = snprintf(c->envelope, sizeof(c->envelope),
	    "{\"caller\":{\"client\":%s,\"pid\":%d},\"data\":", name, (int)c->pid);
	free(name);
	if (n < 0 || (size_t)n >= sizeof(c->envelope))
		return -1;
	c->envelope_len = (size_t)n;
	c->envelope_pid = c->pid;
	return 0;
}

/* {"caller":{"client":NAME,"pid":PID},"data":BODY}, BODY as the client sent
 * it (already parsed and schema-checked, so it is one JSON value). */
static size_t
envelope(struct cg_client *c, const struct cg_frame *f, char *buf, size_t cap)
{
	const char *body = f->body_len > 0 ? f->body : "null";
	size_t body_len = f->body_len > 0 ? f->body_len : 4;
	size_t n;

	if (envelope_head(c) != 0)
		return 0;
	n = c->envelope_len;
	if (n + body_len + 2 > cap)
		return 0;
	memcpy(buf, c->envelope, n);
	memcpy(buf + n, body, body_len);
	buf[n + body_len] = '}';
	return n + body_len + 1;
}

/* Spare requests kept for reuse, and the largest body one may keep: in
 * steady state a backend invoke allocates nothing. */
#define SPARE_MAX 64u
#define SPARE_BODY_MAX (16u * 1024u)

void
backend_pending_release(struct cg_gateway *gw, struct cg_pending *p)
{
	if (gw->nspare >= SPARE_MAX || p->body_cap > SPARE_BODY_MAX) {
		free(p->body);
		free(p);
		return;
	}
	p->next = gw->spare;
	gw->spare = p;
	gw->nspare++;
}

static void
free_spares(struct cg_gateway *gw)
{
	while (gw->spare != NULL) {
		struct cg_pending *p = gw->spare;
		gw->spare = p->next;
		free(p->body);
		free(p);
	}
	gw->nspare = 0;
}

static struct cg_pending *
new_pending(struct cg_backend *b, struct cg_client *c, const struct cg_frame *f,
    int channel, int32_t slot, uint64_t start_ns)
{
	struct cg_gateway *gw = b->gw;
	const struct cg_channel *ch = &gw->policy->channels[channel];
	struct cg_pending *p = gw->spare;
	char *body;
	size_t cap;

	if (p != NULL) {
		gw->spare = p->next;
		gw->nspare--;
	} else if ((p = calloc(1, sizeof(*p))) == NULL) {
		return NULL;
	}
	body = p->body;
	cap = p->body_cap;
	if (f->body_len > cap) {
		if ((body = realloc(body, f->body_len)) == NULL) {
			backend_pending_release(gw, p);
			return NULL;
		}
		cap = f->body_len;
	}
	memset(p, 0, sizeof(*p));
	p->body = body;
	p->body_cap = cap;
	if (f->body_len > 0)
		memcpy(p->body, f->body, f->body_len);
	p->body_len = f->body_len;
	p->client = c;
	p->client_id = f->request_id;
	p->backend_id = b->next_id++;
	if (b->next_id == 0)
		b->next_id = 1;
	p->policy = b->gw->policy;
	p->channel = channel;
	p->slot = slot;
	p->start_ns = start_ns;
	p->deadline_ns = p->start_ns + (uint64_t)ch->deadline_ms * 1000000u;
	return p;
}

/* The request, as the backend gets it. *taken: client_queue() now owns
 * the fds (it closes them even when it fails). */
static enum cg_status
forward_frame(struct cg_client *c, const struct cg_frame *f, int channel,
    int32_t slot, const int *fds, unsigned nfds, uint64_t start_ns,
    bool *pending, const char **reason, bool *taken)
{
	const struct cg_channel *ch = &c->gw->policy->channels[channel];
	struct cg_backend *b;
	struct cg_frame out = { 0 };
	struct cg_pending *p = NULL;
	size_t len;

	*pending = false;
	if (ch->target < 0 || (size_t)ch->target >= c->gw->nbackends) {
		*reason = "no-backend";
		return CG_STATUS_UNAVAILABLE;
	}
	b = c->gw->backends[ch->target];
	if (b->conn == NULL || b->conn->state != CG_CLIENT_READY) {
		*reason = "backend-unavailable";
		return CG_STATUS_UNAVAILABLE;
	}
	len = envelope(c, f, (char *)c->gw->txbuf, CG_FRAME_MAX -
	    CG_FRAME_HEADER_LEN - f->channel_len);
	if (len == 0) {
		*reason = "envelope-too-big";
		return CG_STATUS_FAILED;
	}
	/* A backend slower than its clients: the request is refused, not
	 * queued. client_queue() would end the connection whose queue is full,
	 * and that is the backend's, which every client shares. */
	if (!client_queue_has_room(b->conn, f->channel_len + len, nfds)) {
		*reason = "backend-queue-full";
		return CG_STATUS_LIMITED;
	}
	if (f->type == CG_MSG_INVOKE && (pending_reserve(b) != 0 ||
	    (p = new_pending(b, c, f, channel, slot, start_ns)) == NULL)) {
		*reason = "out-of-memory";
		return CG_STATUS_UNAVAILABLE;
	}
	out.type = f->type;
	out.request_id = p != NULL ? p->backend_id : 0;
	out.channel = f->channel;
	out.channel_len = f->channel_len;
	out.body = (const char *)c->gw->txbuf;
	out.body_len = len;
	out.nfds = (uint8_t)nfds;
	*taken = true;
	if (client_queue(b->conn, &out, fds, nfds) != 0) {
		if (p != NULL)
			backend_pending_release(c->gw, p);
		*reason = "backend-unavailable";
		return CG_STATUS_UNAVAILABLE;
	}
	if (p != NULL) {
		pending_add(b, p);
		*pending = true;
	}
	return CG_STATUS_OK;
}

enum cg_status
backend_forward(struct cg_client *c, const struct cg_frame *f, int channel,
    int32_t slot, const int *fds, unsigned nfds, uint64_t start_ns,
    bool *pending, const char **reason)
{
	bool taken = false;
	enum cg_status st = forward_frame(c, f, channel, slot, fds, nfds,
	    start_ns, pending, reason, &taken);

	if (!taken)
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
	return st;
}

static void
backend_hello(struct cg_client *conn, const struct cg_frame *f)
{
	struct cg_frame w = { 0 };
	json_t *hello = NULL;
	char body[160];
	json_int_t version = 0;

	if (frame_parse_body(f->body, f->body_len, NULL, &hello) == CG_BODY_OK &&
	    json_is_object(hello))
		version = json_integer_value(json_object_get(hello, "version"));
	json_decref(hello);
	if (f->type != CG_MSG_HELLO || version != CG_PROTO_VERSION) {
		dispatch_violation(conn, "backend-bad-hello", NULL, 0);
		client_kill(conn, "backend-bad-hello");
		return;
	}
	/* frame_max: what the backend's own frames are held to (its answers
	 * go on to clients, whose frames have the policy's limit); the
	 * requests it receives may be larger, up to CG_FRAME_MAX, since the
	 * envelope wraps a client's payload. */
	snprintf(body, sizeof(body), "{\"version\":%d,\"backend\":\"%s\","
	    "\"frame_max\":%u}", CG_PROTO_VERSION, conn->backend->pol->name,
	    (unsigned)conn->gw->policy->limits.frame_max);
	w.type = CG_MSG_WELCOME;
	w.request_id = f->request_id;
	w.body = body;
	w.body_len = strlen(body);
	conn->state = CG_CLIENT_READY;
	client_queue(conn, &w, NULL, 0);
}

static void
close_fds(const int *fds, unsigned nfds)
{
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
}

/* fds (owned) came with the answer; dispatch_finish takes them. */
static void
backend_answer(struct cg_backend *b, const struct cg_frame *f, const int *fds,
    unsigned nfds)
{
	struct cg_pending *p = take_pending(b, f->request_id);

	if (p == NULL) {
		close_fds(fds, nfds);
		/* Too late (its deadline passed and the client was answered) or
		 * never asked: dropped, and the reviewer can see it. */
		dispatch_audit_event(b->gw, b->pol->name, f, CG_DECISION_DENY,
		    "late-reply", NULL, NULL);
		return;
	}
	dispatch_finish(p, f, fds, nfds, CG_STATUS_OK, NULL);
}

void
backend_dispatch(struct cg_client *conn, const struct cg_frame *f,
    const int *fds, unsigned nfds)
{
	struct cg_backend *b = conn->backend;

	/* Only a REPLY may carry fds, as many as its channel declares
	 * (checked in dispatch_finish); any others are closed, never kept. */
	if (f->type != CG_MSG_REPLY || conn->state != CG_CLIENT_READY) {
		close_fds(fds, nfds);
		nfds = 0;
	}
	if (conn->state == CG_CLIENT_HANDSHAKE) {
		backend_hello(conn, f);
		return;
	}
	switch ((enum cg_msg_type)f->type) {
	case CG_MSG_REPLY:
	case CG_MSG_ERROR:
		backend_answer(b, f, fds, nfds);
		return;
	case CG_MSG_EVENT:
		events_from_backend(b->gw, b->index, f);
		return;
	case CG_MSG_HELLO:
	case CG_MSG_WELCOME:
	case CG_MSG_INVOKE:
	case CG_MSG_SEND:
	case CG_MSG_SUBSCRIBE:
	case CG_MSG_UNSUBSCRIBE:
		break;
	}
	dispatch_violation(conn, "backend-unexpected-type",
	    frame_type_name(f->type), 0);
}

static void
schedule_restart(struct cg_backend *b)
{
	uint64_t delay = b->pol->backoff_ms;

	if (b->gw->stopping || b->restarts >= b->pol->restart_max) {
		b->given_up = true;
		audit_backend(b, "backend-given-up", json_pack("{s:i}",
		    "restarts", (int)b->restarts));
		log_warn("backend %s: not restarted (%u restarts)", b->pol->name,
		    b->restarts);
		return;
	}
	for (unsigned i = 0; i < b->restarts && delay < BACKEND_BACKOFF_MAX_MS; i++)
		delay *= 2;
	if (delay > BACKEND_BACKOFF_MAX_MS)
		delay = BACKEND_BACKOFF_MAX_MS;
	b->restart_at_ns = cg_now_ns() + delay * 1000000u;
}

/* The connection struct stays allocated until the end: events for it may
 * still be queued in this loop turn. */
static void
retire(struct cg_backend *b)
{
	struct cg_client **d = realloc(b->dead, (b->ndead + 1) * sizeof(*d));

	if (d == NULL) {
		/* Leaks one connection rather than risk a use after free. */
		b->conn = NULL;
		return;
	}
	b->dead = d;
	b->dead[b->ndead++] = b->conn;
	b->conn = NULL;
}

void
backend_reload(struct cg_gateway *gw, const struct cg_policy *new)
{
	for (size_t i = 0; i < gw->nbackends; i++) {
		struct cg_backend *b = gw->backends[i];
		b->pol = &new->backends[b->index];
		for (size_t j = 0; j < b->npending; j++)
			b->heap[j]->slot = gateway_reload_slot(b->heap[j], new);
	}
}

void
backend_exited(struct cg_client *conn)
{
	struct cg_backend *b = conn->backend;

	if (b->conn != conn)
		return;
	fail_all_pending(b, CG_STATUS_UNAVAILABLE, "backend-exited");
	retire(b);
	if (!b->gw->stopping)
		schedule_restart(b);
}

uint64_t
backend_next_deadline(const struct cg_gateway *gw)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < gw->nbackends; i++) {
		const struct cg_backend *b = gw->backends[i];
		if (b->restart_at_ns != 0 && b->restart_at_ns < next)
			next = b->restart_at_ns;
		if (b->conn != NULL && b->conn->state == CG_CLIENT_HANDSHAKE &&
		    b->conn->fd >= 0 && b->conn->handshake_deadline_ns < next)
			next = b->conn->handshake_deadline_ns;
		if (b->npending > 0 && b->heap[0]->deadline_ns < next)
			next = b->heap[0]->deadline_ns;
	}
	return next;
}

static void
expire_pending(struct cg_backend *b, uint64_t now)
{
	while (b->npending > 0 && b->heap[0]->deadline_ns <= now) {
		struct cg_pending *p = b->heap[0];
		pending_remove(b, p);
		dispatch_finish(p, NULL, NULL, 0, CG_STATUS_TIMEOUT, "deadline");
	}
}

struct cg_client *
backend_conn(const struct cg_gateway *gw, size_t i)
{
	return i < gw->nbackends ? gw->backends[i]->conn : NULL;
}

void
backend_tick(struct cg_gateway *gw, uint64_t now)
{
	for (size_t i = 0; i < gw->nbackends; i++) {
		struct cg_backend *b = gw->backends[i];
		expire_pending(b, now);
		if (b->conn != NULL && b->conn->state == CG_CLIENT_HANDSHAKE &&
		    b->conn->fd >= 0 && now >= b->conn->handshake_deadline_ns)
			client_close(b->conn, "handshake-timeout");
		/* A backend whose connection is gone (closed it, broke the
		 * protocol, missed its handshake) is of no use alive: it is
		 * killed, and its exit restarts it. */
		if (b->conn != NULL && b->conn->state == CG_CLIENT_CLOSED &&
		    b->conn->child.pidfd >= 0 && !b->kill_sent) {
			b->kill_sent = true;
			client_kill(b->conn, "backend-disconnected");
		}
		if (b->restart_at_ns != 0 && now >= b->restart_at_ns &&
		    !gw->stopping) {
			b->restart_at_ns = 0;
			b->restarts++;
			if (spawn_backend(b) != 0)
				schedule_restart(b);
		}
	}
}

static bool
any_alive(struct cg_gateway *gw)
{
	for (size_t i = 0; i < gw->nbackends; i++)
		if (gw->backends[i]->conn != NULL &&
		    gw->backends[i]->conn->child.pidfd >= 0)
			return true;
	return false;
}

static void
signal_backends(struct cg_gateway *gw, int sig)
{
	for (size_t i = 0; i < gw->nbackends; i++) {
		struct cg_client *conn = gw->backends[i]->conn;
		if (conn != NULL && conn->child.pidfd >= 0 &&
		    syscall(SYS_pidfd_send_signal, conn->child.pidfd, sig, NULL, 0) != 0 &&
		    errno != ESRCH)
			log_warn("cannot signal backend %s: %s", conn->name,
			    strerror(errno));
	}
}

void
backend_stop_all(struct cg_gateway *gw)
{
	uint64_t deadline = cg_now_ns() + BACKEND_STOP_GRACE_MS * 1000000ull;
	bool killed = false;

	if (gw->nbackends == 0)
		return;
	gw->stopping = true;
	gw->kill_deadline_ns = deadline;
	for (size_t i = 0; i < gw->nbackends; i++)
		gw->backends[i]->restart_at_ns = 0;
	signal_backends(gw, SIGTERM);
	while (any_alive(gw)) {
		if (!killed && cg_now_ns() >= deadline) {
			signal_backends(gw, SIGKILL);
			killed = true;
		}
		if (gateway_turn(gw) != 0)
			break;
	}
	for (size_t i = 0; i < gw->nbackends; i++)
		fail_all_pending(gw->backends[i], CG_STATUS_UNAVAILABLE,
		    "gateway-stopping");
}

void
backend_free_all(struct cg_gateway *gw)
{
	for (size_t i = 0; i < gw->nbackends; i++) {
		struct cg_backend *b = gw->backends[i];
		for (size_t j = 0; j < b->ndead; j++)
			client_free(b->dead[j]);
		free(b->dead);
		client_free(b->conn);
		for (size_t j = 0; j < b->npending; j++) {
			free(b->heap[j]->body);
			free(b->heap[j]);
		}
		free(b->by_id);
		free(b->heap);
		free(b);
	}
	free_spares(gw);
	free(gw->backends);
	gw->backends = NULL;
	gw->nbackends = 0;
}
