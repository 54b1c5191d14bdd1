/*
 * The event loop. One turn: wait for readiness, handle every ready source
 * (each client reads at most a bounded batch, so a flooding client cannot
 * starve the others), commit the audit records of the turn, then release
 * the replies. With sync "every", that order is what guarantees a decision
 * is on disk before the client learns of it.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "gateway/backend.h"
#include "gateway/gateway.h"
#include "sandbox/sandbox.h"

#define EVENTS_MAX 64
#define STOP_GRACE_MS 3000

static void timer_fired(struct cg_gateway *gw);

void
gateway_schedule_flush(struct cg_gateway *gw, struct cg_client *c)
{
	if (c->out_pending)
		return;
	c->out_pending = true;
	c->next_flush = gw->flush_list;
	gw->flush_list = c;
}

/* Sends the turn's replies; the connection to read ahead is the one they
 * went to when the turn read one datagram and sent to one connection: one
 * exchange of a peer that waits for each answer (see turn). */
static void
flush_all(struct cg_gateway *gw)
{
	struct cg_client *c = gw->flush_list;

	gw->flush_list = NULL;
	gw->ahead = c != NULL && c->next_flush == NULL && gw->turn_reads == 1 ?
	    c : NULL;
	while (c != NULL) {
		struct cg_client *next = c->next_flush;
		c->out_pending = false;
		c->next_flush = NULL;
		client_flush(c);
		c = next;
	}
	if (gw->ahead != NULL && (gw->ahead->state == CG_CLIENT_CLOSED ||
	    gw->ahead->fd < 0))
		gw->ahead = NULL;
}

/*
 * Reading ahead. When a turn read one datagram and sent to one connection
 * only (a client's answer, or a request forwarded to a backend: one
 * exchange with a peer that waits for each answer), that peer has often
 * answered before the gateway waits again: on one CPU the woken peer runs
 * at once, and the next epoll_wait would return its connection without
 * sleeping. The next turn reads that connection first, and waits only if
 * nothing was there. A read that finds nothing (the peer runs on the other
 * CPU and has not answered yet) costs one system call; after one, reading
 * ahead pauses for a number of turns that doubles with each miss (up to
 * AHEAD_BACKOFF_MAX), so where it does not pay it stops costing. At most
 * AHEAD_RUN_MAX turns in a row read ahead before one waits, so the other
 * connections, the signals and the timers are never more than that many
 * turns behind; and only while the last wait found a single source ready.
 * A client that sends in batches is read as before, once per turn.
 */
#define AHEAD_RUN_MAX 8
#define AHEAD_BACKOFF_MAX 1024

static bool
read_ahead(struct cg_gateway *gw)
{
	struct cg_client *c = gw->ahead;

	gw->ahead = NULL;
	if (c == NULL || !gw->ahead_alone || gw->ahead_run >= AHEAD_RUN_MAX) {
		gw->ahead_run = 0;
		return false;
	}
	if (gw->ahead_skip > 0) {
		gw->ahead_skip--;
		return false;
	}
	gw->now_ns = cg_now_ns();
	if (client_read_ahead(c) > 0) {
		gw->ahead_backoff = 0;
		gw->ahead_run++;
		return true;
	}
	gw->ahead_backoff = gw->ahead_backoff == 0 ? 1 :
	    gw->ahead_backoff >= AHEAD_BACKOFF_MAX ? AHEAD_BACKOFF_MAX :
	    2 * gw->ahead_backoff;
	gw->ahead_skip = gw->ahead_backoff;
	gw->ahead_run = 0;
	return false;
}

static void
signal_clients(struct cg_gateway *gw, int sig)
{
	for (size_t i = 0; i < gw->nclients; i++) {
		struct cg_client *c = gw->clients[i];
		if (c->child.pidfd >= 0 && syscall(SYS_pidfd_send_signal, c->child.pidfd,
		    sig, NULL, 0) != 0 && errno != ESRCH)
			log_warn("cannot signal %s: %s", c->name, strerror(errno));
	}
}

/* SIGHUP reloads the policy. SIGINT/SIGTERM/SIGQUIT reach the clients;
 * if they have not exited after a grace period they are killed. A second
 * signal kills at once. */
static void
handle_signals(struct cg_gateway *gw)
{
	struct signalfd_siginfo si;
	json_t *f;

	while (read(gw->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int sig = (int)si.ssi_signo;
		if (sig == SIGCHLD)
			continue;
		f = json_pack("{s:i}", "signal", sig);
		audit_append_event(gw->audit, "signal", f);
		json_decref(f);
		if (sig == SIGHUP) {
			gateway_reload(gw);
			continue;
		}
		if (gw->stopping) {
			signal_clients(gw, SIGKILL);
			continue;
		}
		gw->stopping = true;
		gw->stop_signal = sig;
		gw->kill_deadline_ns = cg_now_ns() + STOP_GRACE_MS * 1000000ull;
		signal_clients(gw, sig);
	}
}

static void
stop_notify(struct cg_client *c)
{
	epoll_ctl(c->gw->epfd, EPOLL_CTL_DEL, c->child.notify_fd, NULL);
	close(c->child.notify_fd);
	c->child.notify_fd = -1;
}

/*
 * A client made a syscall its profile does not allow, or tried to exec
 * again: the sandbox module decides (kill, or deny the exec) and this
 * records which syscall it was and what was done about it.
 */
static void
handle_notify(struct cg_client *c, uint32_t events)
{
	struct cg_sandbox_event ev;
	struct cg_error err;
	json_t *f;

	cg_error_clear(&err);
	if (sandbox_notify_handle(&c->child, &ev, &err) != 0) {
		stop_notify(c);
		return;
	}
	if (ev.kind != CG_SANDBOX_EVENT_NONE) {
		f = sandbox_event_json(&ev);
		if (f != NULL) {
			json_object_set_new(f, "client", json_string(c->name));
			audit_append_event(c->gw->audit,
			    ev.kind == CG_SANDBOX_EVENT_VIOLATION ? "violation" :
			    "exec", f);
			json_decref(f);
		}
	} else if (events & (EPOLLHUP | EPOLLERR)) {
		/* every task that could make a notification is gone */
		stop_notify(c);
	}
}

static void
handle_event(struct cg_gateway *gw, const struct epoll_event *ev)
{
	struct cg_client *c;
	unsigned kind;

	if (ev->data.u64 == 0) {
		handle_signals(gw);
		return;
	}
	if (ev->data.u64 == CG_WATCH_TIMER) {
		timer_fired(gw);
		return;
	}
	kind = (unsigned)(ev->data.u64 & 7u);
	c = (struct cg_client *)(uintptr_t)(ev->data.u64 & ~(uint64_t)7u);
	switch ((enum cg_watch_kind)kind) {
	case CG_WATCH_SOCKET:
		if (ev->events & EPOLLOUT)
			client_handle_writable(c);
		if (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			client_handle_readable(c);
		break;
	case CG_WATCH_PIDFD:
		client_handle_exit(c);
		break;
	case CG_WATCH_NOTIFY:
		handle_notify(c, ev->events);
		break;
	case CG_WATCH_TIMER:     /* only with no client: handled above */
		break;
	}
}

/* The earliest deadline the loop owns (CLOCK_MONOTONIC ns), or
 * UINT64_MAX. */
static uint64_t
next_deadline(struct cg_gateway *gw)
{
	uint64_t next = audit_next_due_ns(gw->audit);

	if (gw->stopping && gw->kill_deadline_ns != 0 &&
	    gw->kill_deadline_ns < next)
		next = gw->kill_deadline_ns;
	if (backend_next_deadline(gw) < next)
		next = backend_next_deadline(gw);
	if (gw->handshake_next_ns < next)
		next = gw->handshake_next_ns;
	if (gw->fds_retry_ns < next)
		next = gw->fds_retry_ns;
	return next;
}

static int
ms_until(uint64_t when, uint64_t now)
{
	uint64_t ms;

	if (when == UINT64_MAX)
		return -1;
	if (when <= now)
		return 0;
	ms = (when - now + 999999) / 1000000;
	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

static void
timer_make(struct cg_gateway *gw)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = CG_WATCH_TIMER };
	int fd;

	gw->timer_made = true;
	gw->timerfd = -1;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		return;
	if (epoll_ctl(gw->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		close(fd);
		return;
	}
	gw->timerfd = fd;
}

static void
timer_fired(struct cg_gateway *gw)
{
	uint64_t ticks;

	if (gw->timerfd >= 0 &&
	    read(gw->timerfd, &ticks, sizeof(ticks)) == (ssize_t)sizeof(ticks))
		gw->timer_armed_ns = 0;
}

/*
 * epoll_wait's timeout. Deadlines wake the loop through a timerfd in the
 * epoll set rather than through the timeout: a timeout makes every wait
 * arm and cancel a kernel timer (two waits per backend invoke; a bare
 * relay paid 0.35 us a round trip for it on this machine, the gateway no
 * measurable difference), while the timerfd is set again only when a
 * deadline earlier than the one it is armed for appears. It may then
 * fire early, for a deadline that has gone (an answered request): that
 * turn finds nothing due and arms it for the next one. The wait needs no
 * clock read either: an absolute expiry already past fires at once.
 * Without a timerfd (none could be made) the timeout does the work.
 */
static int
wait_timeout(struct cg_gateway *gw)
{
	uint64_t next = next_deadline(gw);
	struct itimerspec its = { 0 };

	if (!gw->timer_made)
		timer_make(gw);
	if (next == UINT64_MAX)
		return -1;
	if (gw->timerfd < 0)
		return ms_until(next, cg_now_ns());
	if (gw->timer_armed_ns != 0 && gw->timer_armed_ns <= next)
		return -1;
	if (next == 0)
		next = 1;   /* an it_value of zero would disarm it */
	its.it_value.tv_sec = (time_t)(next / 1000000000u);
	its.it_value.tv_nsec = (long)(next % 1000000000u);
	if (timerfd_settime(gw->timerfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
		return ms_until(next, cg_now_ns());
	gw->timer_armed_ns = next;
	return -1;
}

void
gateway_timer_close(struct cg_gateway *gw)
{
	if (gw->timer_made && gw->timerfd >= 0)
		close(gw->timerfd);
	gw->timer_made = false;
	gw->timerfd = -1;
	gw->timer_armed_ns = 0;
}

/* The command-line client is the application: once it has exited, the
 * clients launched with it are asked to stop too, as a signal would. */
static void
stop_with_primary(struct cg_gateway *gw, uint64_t now)
{
	if (gw->stopping || gw->nlive == 0 || !gw->primary_exited)
		return;
	gw->stopping = true;
	gw->stop_signal = SIGTERM;
	gw->kill_deadline_ns = now + STOP_GRACE_MS * 1000000ull;
	signal_clients(gw, SIGTERM);
}

/*
 * A client that never says HELLO holds a slot forever otherwise: its
 * connection is closed (the process may go on without the gateway). The
 * clients are scanned only when the earliest deadline has come, not every
 * turn, and the scan finds the next one.
 */
static void
expire_handshakes(struct cg_gateway *gw, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < gw->nclients; i++) {
		struct cg_client *c = gw->clients[i];

		if (c->state != CG_CLIENT_HANDSHAKE || c->fd < 0)
			continue;
		if (now >= c->handshake_deadline_ns)
			client_close(c, "handshake-timeout");
		else if (c->handshake_deadline_ns < next)
			next = c->handshake_deadline_ns;
	}
	gw->handshake_next_ns = next;
}

void
gateway_handshake_deadline(struct cg_gateway *gw, struct cg_client *c,
    uint64_t when)
{
	c->handshake_deadline_ns = when;
	if (when < gw->handshake_next_ns)
		gw->handshake_next_ns = when;
}

void
gateway_fds_retry_at(struct cg_gateway *gw, uint64_t when)
{
	if (when < gw->fds_retry_ns)
		gw->fds_retry_ns = when;
}

/* Connections holding a record with fds try to send it again (flush_all,
 * later in the turn); one still held sets the next time. Rare: only a
 * peer that does not read its answers holds one. */
static void
retry_held(struct cg_gateway *gw, struct cg_client *c)
{
	if (c != NULL && c->fds_held) {
		c->fds_held = false;
		gateway_schedule_flush(gw, c);
	}
}

static void
retry_held_fds(struct cg_gateway *gw)
{
	gw->fds_retry_ns = UINT64_MAX;
	for (size_t i = 0; i < gw->nclients; i++)
		retry_held(gw, gw->clients[i]);
	for (size_t i = 0; i < gw->nbackends; i++)
		retry_held(gw, backend_conn(gw, i));
}

static void
handle_deadlines(struct cg_gateway *gw, uint64_t now)
{
	stop_with_primary(gw, now);
	if (gw->stopping && gw->kill_deadline_ns != 0 &&
	    now >= gw->kill_deadline_ns) {
		gw->kill_deadline_ns = 0;
		signal_clients(gw, SIGKILL);
	}
	if (now >= gw->handshake_next_ns)
		expire_handshakes(gw, now);
	if (now >= gw->fds_retry_ns)
		retry_held_fds(gw);
	backend_tick(gw, now);
	if (audit_next_due_ns(gw->audit) <= now)
		audit_tick(gw->audit);
}

/* One turn of the loop: wait (not at all with nowait), handle what is
 * ready, deadlines, commit the audit records, then release the replies. */
static int
turn(struct cg_gateway *gw, bool nowait)
{
	struct epoll_event evs[EVENTS_MAX];
	int n = 0;

	gw->turn_gen++;
	gw->turn_open = true;
	gw->turn_reads = 0;
	if (nowait || !read_ahead(gw)) {
		n = cg_sys_epoll_wait(gw->epfd, evs, EVENTS_MAX,
		    nowait ? 0 : wait_timeout(gw));
		gw->now_ns = cg_now_ns();
		gw->ahead_alone = n == 1;
	}

	if (n < 0 && errno != EINTR) {
		log_warn("epoll_wait: %s", strerror(errno));
		gw->now_ns = 0;
		gw->turn_open = false;
		return -1;
	}
	for (int i = 0; i < n; i++)
		handle_event(gw, &evs[i]);
	handle_deadlines(gw, gw->now_ns);
	/* Records first, replies second: answers whose records did not
	 * reach the log become "unavailable" (fail closed). */
	if (audit_commit(gw->audit) != 0 || audit_failed(gw->audit)) {
		if (!gw->audit_warned)
			log_warn("the audit log cannot be written: %s",
			    gw->policy->audit.fail_open ? "continuing (policy "
			    "says on_failure: allow)" : "denying every request");
		gw->audit_warned = true;
		for (struct cg_client *c = gw->flush_list;
		    c != NULL && !gw->policy->audit.fail_open; c = c->next_flush)
			if (c->backend == NULL)   /* requests to backends stay */
				client_turn_unavailable(c);
	}
	gw->turn_open = false;
	flush_all(gw);
	/* the replies are out: the chain hash of the last record now, while
	 * the clients read them */
	audit_idle(gw->audit);
	gateway_reload_collect(gw, false);
	gw->now_ns = 0;
	return 0;
}

uint64_t
gateway_now(const struct cg_gateway *gw)
{
	return gw->now_ns != 0 ? gw->now_ns : cg_now_ns();
}

int
gateway_turn(struct cg_gateway *gw)
{
	return turn(gw, false);
}

int
gateway_poll(struct cg_gateway *gw)
{
	return turn(gw, true);
}

int
gateway_loop(struct cg_gateway *gw)
{
	while (gw->nlive > 0)
		if (gateway_turn(gw) != 0)
			return -1;
	return 0;
}
