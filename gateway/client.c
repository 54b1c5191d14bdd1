/*
 * One client connection: receiving datagrams with the kernel's word on who
 * sent them, the bounded output queue, and the end of a client.
 *
 * The receive path runs its checks in the order of the design brief:
 * size (the kernel tells us when a datagram was truncated), sender
 * credentials, then the frame codec (header, MAC, sequence number). Only a
 * frame that passes all three reaches dispatch.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fdpass.h"
#include "common/log.h"
#include "common/util.h"
#include "gateway/backend.h"
#include "gateway/gateway.h"
#include "sandbox/sandbox.h"

#define RX_BATCH CG_GATEWAY_RX_BATCH
#define OUT_REC_HDR (2 * sizeof(uint32_t) + CG_FRAME_MAX_FDS * sizeof(int))

struct cg_client *
client_new(struct cg_gateway *gw, const struct cg_client_policy *pol,
    const char *name)
{
	struct cg_client *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->chan = calloc(pol->nslots + 1, sizeof(*c->chan));
	if (c->chan == NULL) {
		free(c);
		return NULL;
	}
	c->gw = gw;
	c->pol = pol;
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->fd = c->child.pidfd = c->child.notify_fd = -1;
	c->exit_status = -1;
	return c;
}

void
client_free(struct cg_client *c)
{
	if (c == NULL)
		return;
	if (c->gw != NULL && c->gw->ahead == c)
		c->gw->ahead = NULL;
	if (c->fd >= 0)
		close(c->fd);
	if (c->child.pidfd >= 0)
		close(c->child.pidfd);
	if (c->child.notify_fd >= 0)
		close(c->child.notify_fd);
	frame_session_wipe(&c->sess);
	free(c->chan);
	free(c->out.data);
	sandbox_plan_free(c->plan);
	free(c);
}

static int
watch(struct cg_client *c, int fd, enum cg_watch_kind kind, uint32_t events)
{
	struct epoll_event ev = { .events = events };

	ev.data.u64 = (uint64_t)(uintptr_t)c | (uint64_t)kind;
	return epoll_ctl(c->gw->epfd, EPOLL_CTL_ADD, fd, &ev);
}

int
client_watch(struct cg_client *c)
{
	int report = sandbox_report_fd(c->plan);

	/* The init's report and its exit both mean "the client ended"
	 * (client_handle_exit), whichever comes first. */
	if (watch(c, c->fd, CG_WATCH_SOCKET, EPOLLIN) != 0 ||
	    watch(c, c->child.pidfd, CG_WATCH_PIDFD, EPOLLIN) != 0 ||
	    (report >= 0 && watch(c, report, CG_WATCH_PIDFD, EPOLLIN) != 0))
		return -1;
	if (c->child.notify_fd >= 0 && watch(c, c->child.notify_fd, CG_WATCH_NOTIFY,
	    EPOLLIN) != 0)
		return -1;
	return 0;
}

/* Closes every fd that arrived with a datagram we are not going to use. */
static void
close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* The fds of a queued record, which sit at any alignment in the queue. */
static void
close_stored_fds(const unsigned char *at, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		int fd;

		memcpy(&fd, at + i * sizeof(int), sizeof(fd));
		if (fd >= 0)
			close(fd);
	}
}

/*
 * Collects the credentials and fds of one received datagram. Returns the
 * number of fds (0..CG_FRAME_MAX_FDS); any beyond that are closed and
 * counted as a mismatch by the frame check.
 */
static unsigned
take_cmsgs(struct msghdr *mh, struct ucred *cred, bool *have_cred, int *fds)
{
	unsigned n = 0;

	*have_cred = false;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm != NULL;
	    cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET)
			continue;
		if (cm->cmsg_type == SCM_CREDENTIALS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(*cred))) {
			memcpy(cred, CMSG_DATA(cm), sizeof(*cred));
			*have_cred = true;
		} else if (cm->cmsg_type == SCM_RIGHTS) {
			size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
				    sizeof(fd));
				if (n < CG_FRAME_MAX_FDS)
					fds[n++] = fd;
				else {
					close(fd);
					n = CG_FRAME_MAX_FDS + 1;
				}
			}
		}
	}
	return n;
}

/* Per received datagram: its control buffer, big enough for credentials
 * and one fd more than a frame may carry (so a surplus is noticed). */
#define RX_CTL_LEN (CMSG_SPACE(sizeof(struct ucred)) + \
	CMSG_SPACE(sizeof(int) * (CG_FRAME_MAX_FDS + 1)))

/* Checks and handles one received datagram of len bytes. */
static void
handle_datagram(struct cg_client *c, unsigned char *data, size_t len,
    struct msghdr *mh)
{
	int fds[CG_FRAME_MAX_FDS + 1];
	struct ucred cred = { 0 };
	enum cg_frame_result r;
	struct cg_frame f;
	bool have_cred;
	unsigned nfds = take_cmsgs(mh, &cred, &have_cred, fds);
	unsigned nkept = nfds > CG_FRAME_MAX_FDS ? CG_FRAME_MAX_FDS : nfds;

	if (c->state == CG_CLIENT_CLOSED) {
		close_fds(fds, nkept);
		return;
	}
	/* 1. size: MSG_TRUNC means the datagram was larger than any frame. */
	if ((mh->msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
		close_fds(fds, nkept);
		dispatch_violation(c, (mh->msg_flags & MSG_TRUNC) ?
		    "frame-too-big" : "too-many-fds", NULL, 0);
		return;
	}
	/* 2. sender: the kernel's credentials must be the program we started
	 * (the sandbox init's child, whose pid sandbox_spawn learnt the same
	 * way).
	 * A child the client forked, or any process it handed the socket to,
	 * has another pid and is refused before its bytes are looked at. */
	if (!have_cred || cred.pid != c->pid || cred.uid != c->uid ||
	    cred.gid != c->gid) {
		close_fds(fds, nkept);
		dispatch_violation(c, "forged-sender", NULL,
		    have_cred ? cred.pid : 0);
		return;
	}
	/* 3. frame: header, lengths, MAC and sequence number. */
	r = frame_open(&c->sess, data, len, c->gw->policy->limits.frame_max,
	    nfds, &f);
	if (r != CG_FRAME_OK) {
		close_fds(fds, nkept);
		dispatch_violation(c, frame_result_name(r), NULL, 0);
		return;
	}
	dispatch_frame(c, &f, fds, nfds);
}

/*
 * How many datagrams the next read of c asks for. recvmmsg tries to
 * receive once more after the last datagram it returns; when only one was
 * waiting, which is the case of a peer that waits for each answer, that
 * try finds nothing and costs about a thousand kernel instructions, a
 * sixth of a round trip's gateway overhead in the kernel.
 *
 * So a connection is read one datagram at a time while it behaves like
 * such a peer: each read finds one, and something was sent to it since
 * the read before (its answer). A peer that sends without waiting for
 * answers is read in batches from its second read on, and so is any
 * connection after CG_GATEWAY_RX_RAMP single reads in a row (a pipelining
 * peer whose reads happen to find one each). Batches go on until a read
 * finds one datagram and the connection was answered since the read
 * before.
 */
static unsigned
rx_want(const struct cg_client *c)
{
	return c->rx_want != 0 ? c->rx_want : 1;
}

/* After a read of c that asked for want datagrams and got got. */
static void
rx_adapt(struct cg_client *c, unsigned want, int got)
{
	bool answered = c->sess.send_seq != c->rx_sent_mark;

	c->rx_sent_mark = c->sess.send_seq;
	if (got > 1)
		return;
	if (want > 1) {
		if (answered) {
			c->rx_want = 1;
			c->rx_singles = 0;
		}
	} else if (!answered || ++c->rx_singles >= CG_GATEWAY_RX_RAMP) {
		c->rx_want = RX_BATCH;
		c->rx_singles = 0;
	}
}

/*
 * Reads up to rx_want(c) datagrams with one recvmmsg and handles them in
 * order. Returns how many were read (0: none waiting), or -1 if the
 * connection is gone.
 */
static int
receive_batch(struct cg_client *c)
{
	/* The headers are set up once per receive buffer; the kernel changes
	 * only msg_len, msg_controllen and msg_flags of the entries it
	 * fills, and those are set back before the next call. The loop is
	 * single-threaded and no handler reads from a connection. */
	static char ctl[RX_BATCH][RX_CTL_LEN] __attribute__((aligned(8)));
	static struct mmsghdr mm[RX_BATCH];
	static struct iovec iov[RX_BATCH];
	static const unsigned char *set_for;
	static int used;
	unsigned want = rx_want(c);
	int n;

	if (set_for != c->gw->rxbuf) {
		for (int i = 0; i < RX_BATCH; i++) {
			iov[i].iov_base = c->gw->rxbuf +
			    (size_t)i * (CG_FRAME_MAX + 1);
			iov[i].iov_len = CG_FRAME_MAX + 1;
			memset(&mm[i], 0, sizeof(mm[i]));
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
			mm[i].msg_hdr.msg_control = ctl[i];
		}
		set_for = c->gw->rxbuf;
		used = RX_BATCH;
	}
	for (int i = 0; i < used; i++) {
		mm[i].msg_hdr.msg_controllen = RX_CTL_LEN;
		mm[i].msg_hdr.msg_flags = 0;
		mm[i].msg_len = 0;
	}
	/* One datagram: recvmsg, which skips recvmmsg's per-call set-up. */
	do {
		if (want == 1) {
			ssize_t r = cg_sys_recvmsg(c->fd, &mm[0].msg_hdr,
			    MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
			n = r < 0 ? -1 : 1;
			mm[0].msg_len = r < 0 ? 0 : (unsigned)r;
		} else {
			n = cg_sys_recvmmsg(c->fd, mm, want,
			    MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		}
	} while (n < 0 && errno == EINTR);
	/* a failed call may have filled some entries before its error */
	used = n > 0 ? n : RX_BATCH;
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	rx_adapt(c, want, n);
	c->gw->turn_reads += (unsigned)n;
	for (int i = 0; i < n; i++) {
		/* End of file: no datagram, so no credentials (SO_PASSCRED
		 * gives every datagram them). An empty datagram, which has
		 * them, is a frame too short to open: handle_datagram records
		 * it and closes any fds it carried, and the entries after it
		 * are read. */
		if (mm[i].msg_len == 0 && mm[i].msg_hdr.msg_controllen == 0)
			return -1;
		handle_datagram(c, iov[i].iov_base, mm[i].msg_len, &mm[i].msg_hdr);
	}
	return n == 0 ? -1 : n;
}

int
client_read_ahead(struct cg_client *c)
{
	int n;

	if (c->state == CG_CLIENT_CLOSED || c->fd < 0)
		return 0;
	n = receive_batch(c);
	if (n < 0)
		client_close(c, "connection-closed");
	return n;
}

void
client_handle_readable(struct cg_client *c)
{
	/* One batch per turn: a flooding client waits for the next turn
	 * while the others are served. */
	if (c->state != CG_CLIENT_CLOSED && receive_batch(c) < 0)
		client_close(c, "connection-closed");
}

/* The queue holds records of the open loop turn, from o->turn on. */
static bool
queued_in_open_turn(const struct cg_client *c)
{
	return c->gw->turn_open && c->out.turn_gen == c->gw->turn_gen;
}

/* Appends one sealed datagram to the output queue. */
/* Room for one more datagram with a body of len bytes in c's output
 * queue, without the kill that client_queue() applies when it is full. */
bool
client_queue_has_room(const struct cg_client *c, size_t len, unsigned nfds)
{
	return c->out.len - c->out.head + len + CG_FRAME_HEADER_LEN +
	    CG_CHANNEL_MAX <= c->gw->policy->limits.queue_bytes &&
	    c->out.nfds + nfds <= CG_QUEUE_FDS_MAX;
}

int
client_queue(struct cg_client *c, const struct cg_frame *f, const int *fds,
    unsigned nfds)
{
	struct cg_outbuf *o = &c->out;
	size_t need = OUT_REC_HDR + CG_FRAME_MAX;
	uint32_t len32, n32 = nfds;
	size_t len;

	if (c->state == CG_CLIENT_CLOSED) {
		close_fds((int *)(uintptr_t)fds, nfds);
		return -1;
	}
	if (o->len - o->head + need > c->gw->policy->limits.queue_bytes +
	    need || o->nfds + nfds > CG_QUEUE_FDS_MAX) {
		close_fds((int *)(uintptr_t)fds, nfds);
		client_kill(c, "output-queue-full");
		return -1;
	}
	if (o->head > 0 && o->head == o->len)
		o->head = o->len = o->turn = 0;
	if (!queued_in_open_turn(c)) {
		o->turn = o->len;
		o->turn_seq = c->sess.send_seq;
		o->turn_gen = c->gw->turn_gen;
	}
	if (o->len + need > o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 4 * need;
		while (cap < o->len + need)
			cap *= 2;
		unsigned char *d = realloc(o->data, cap);
		if (d == NULL) {
			close_fds((int *)(uintptr_t)fds, nfds);
			client_kill(c, "out-of-memory");
			return -1;
		}
		o->data = d;
		o->cap = cap;
	}
	len = frame_seal(&c->sess, f, o->data + o->len + OUT_REC_HDR,
	    CG_FRAME_MAX);
	if (len == 0) {
		close_fds((int *)(uintptr_t)fds, nfds);
		return -1;
	}
	len32 = (uint32_t)len;
	memcpy(o->data + o->len, &len32, sizeof(len32));
	memcpy(o->data + o->len + sizeof(len32), &n32, sizeof(n32));
	if (nfds > 0)
		memcpy(o->data + o->len + 2 * sizeof(uint32_t), fds,
		    nfds * sizeof(int));
	o->nfds += nfds;
	o->len += OUT_REC_HDR + len;
	gateway_schedule_flush(c->gw, c);
	return 0;
}

/* Whether the peer has CG_FDS_OUTQ_MAX bytes or more of ours unread. */
static bool
peer_reads_slowly(const struct cg_client *c)
{
	int unread = 0;

	return ioctl(c->fd, SIOCOUTQ, &unread) == 0 && unread >= CG_FDS_OUTQ_MAX;
}

/* 1 sent, 0 would block, 2 held (a record with fds for a peer that reads
 * slowly), -1 the peer is gone. */
static int
send_record(struct cg_client *c, const unsigned char *rec)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * CG_FRAME_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	uint32_t len, nfds;
	struct iovec iov;
	struct msghdr mh = { 0 };
	ssize_t n;

	memcpy(&len, rec, sizeof(len));
	memcpy(&nfds, rec + sizeof(len), sizeof(nfds));
	if (nfds == 0) {
		do
			n = cg_sys_send(c->fd, rec + OUT_REC_HDR, len,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		return 1;
	}
	if (peer_reads_slowly(c))
		return 2;
	iov.iov_base = (void *)(uintptr_t)(rec + OUT_REC_HDR);
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	cg_attach_fds(&mh, ctl.buf, rec + 2 * sizeof(uint32_t), nfds);
	do
		n = cg_sys_sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	close_stored_fds(rec + 2 * sizeof(uint32_t), nfds);
	c->out.nfds -= nfds;
	c->fds_backoff_ms = 0;
	return 1;
}

static void
set_want_write(struct cg_client *c, bool want)
{
	struct epoll_event ev = { .events = EPOLLIN | (want ? EPOLLOUT : 0) };

	if (c->want_write == want || c->fd < 0)
		return;
	ev.data.u64 = (uint64_t)(uintptr_t)c | CG_WATCH_SOCKET;
	if (epoll_ctl(c->gw->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->want_write = want;
}

/*
 * Sends what is queued, as far as the socket takes it. While a loop turn
 * is open (the socket became writable in the middle of it), only what
 * earlier turns queued: this turn's replies wait for its audit commit.
 */
void
client_flush(struct cg_client *c)
{
	struct cg_outbuf *o = &c->out;
	size_t end = queued_in_open_turn(c) ? o->turn : o->len;

	while (c->fd >= 0 && o->head < end) {
		uint32_t len;
		int r;

		memcpy(&len, o->data + o->head, sizeof(len));
		r = send_record(c, o->data + o->head);
		if (r == 0) {
			set_want_write(c, true);
			return;
		}
		if (r == 2) {
			/* EPOLLOUT would fire at once: a timer tries again */
			c->fds_held = true;
			c->fds_backoff_ms = c->fds_backoff_ms == 0 ? 1 :
			    c->fds_backoff_ms >= CG_FDS_RETRY_MS_MAX ?
			    CG_FDS_RETRY_MS_MAX : c->fds_backoff_ms * 2;
			gateway_fds_retry_at(c->gw, cg_now_ns() +
			    c->fds_backoff_ms * 1000000ull);
			set_want_write(c, false);
			return;
		}
		if (r < 0) {
			/* The client went away without reading its replies:
			 * client_close drops the queue and closes its fds. */
			client_close(c, "peer-gone");
			return;
		}
		o->head += OUT_REC_HDR + len;
	}
	if (end == o->len)
		o->head = o->len = o->turn = 0;
	set_want_write(c, false);
}

/* Re-queues one answer of a turn whose records are not on disk. */
static void
requeue(struct cg_client *c, const unsigned char *rec)
{
	uint32_t len, nfds;
	int fds[CG_FRAME_MAX_FDS];
	struct cg_frame f;

	memcpy(&len, rec, sizeof(len));
	memcpy(&nfds, rec + sizeof(len), sizeof(nfds));
	memcpy(fds, rec + 2 * sizeof(uint32_t), sizeof(fds));
	if (frame_decode(rec + OUT_REC_HDR, len, 0, &f) != CG_FRAME_OK) {
		close_fds(fds, nfds);
		return;
	}
	if (f.type == CG_MSG_REPLY || f.type == CG_MSG_ERROR) {
		struct cg_frame e = { 0 };
		close_fds(fds, nfds);
		e.type = CG_MSG_ERROR;
		e.request_id = f.request_id;
		e.status = CG_STATUS_UNAVAILABLE;
		client_queue(c, &e, NULL, 0);
	} else {
		f.flags &= (uint16_t)~CG_FLAG_FDS;
		client_queue(c, &f, fds, nfds);
	}
}

/*
 * The audit records of this loop turn could not be written. Its answers
 * have not left the gateway yet (replies go out only after the commit), so
 * each is replaced by ERROR "unavailable": no client is told "ok" for a
 * decision the log does not hold. The frames are sealed again from the
 * turn's first sequence number, so the client sees no gap.
 */
void
client_turn_unavailable(struct cg_client *c)
{
	struct cg_outbuf *o = &c->out;
	size_t n = o->len - o->turn, at = 0;
	unsigned char *copy;

	if (!queued_in_open_turn(c) || n == 0 || c->state == CG_CLIENT_CLOSED)
		return;
	copy = malloc(n);
	if (copy == NULL) {
		client_kill(c, "out-of-memory");
		return;
	}
	memcpy(copy, o->data + o->turn, n);
	o->len = o->turn;
	c->sess.send_seq = o->turn_seq;
	while (at < n) {
		uint32_t len;
		memcpy(&len, copy + at, sizeof(len));
		requeue(c, copy + at);
		at += OUT_REC_HDR + len;
	}
	free(copy);
}

void
client_handle_writable(struct cg_client *c)
{
	client_flush(c);
}

/* Closes fds still queued for a client that will never read them. */
static void
drop_queue(struct cg_client *c)
{
	struct cg_outbuf *o = &c->out;

	while (o->head < o->len) {
		uint32_t len, nfds;
		memcpy(&len, o->data + o->head, sizeof(len));
		memcpy(&nfds, o->data + o->head + sizeof(len), sizeof(nfds));
		close_stored_fds(o->data + o->head + 2 * sizeof(uint32_t), nfds);
		o->head += OUT_REC_HDR + len;
	}
	o->head = o->len = o->turn = 0;
	o->nfds = 0;
}

/* Stops serving the connection; keep_fd leaves the socket open (unread)
 * until the process is reaped. */
static void
end_connection(struct cg_client *c, const char *reason, bool keep_fd)
{
	json_t *f;

	if (c->state == CG_CLIENT_CLOSED)
		return;
	c->state = CG_CLIENT_CLOSED;
	drop_queue(c);
	if (c->fd >= 0) {
		epoll_ctl(c->gw->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		if (!keep_fd) {
			close(c->fd);
			c->fd = -1;
		}
	}
	f = json_pack("{s:s,s:i,s:s}", "client", c->name, "pid", (int)c->pid,
	    "reason", reason);
	audit_append_event(c->gw->audit, "disconnect", f);
	json_decref(f);
}

void
client_close(struct cg_client *c, const char *reason)
{
	end_connection(c, reason, false);
}

/*
 * Ends a client for a violation. The signal goes to the sandbox's init,
 * whose death takes the whole pid namespace with it, asynchronously: the
 * socket stays open (and unread) until the client is reaped, so the program
 * never sees its connection close and cannot act on being ended.
 */
void
client_kill(struct cg_client *c, const char *reason)
{
	if (c->child.pidfd >= 0 && syscall(SYS_pidfd_send_signal,
	    c->child.pidfd, SIGKILL, NULL, 0) != 0 && errno != ESRCH)
		log_warn("cannot kill client %s: %s", c->name, strerror(errno));
	end_connection(c, reason, c->child.pidfd >= 0);
}

/* After the init's report: its exit, reaped without a record. */
static void
reap_reported(struct cg_client *c)
{
	siginfo_t si = { 0 };

	if (c->child.pidfd < 0 ||
	    waitid((idtype_t)P_PIDFD, (id_t)c->child.pidfd, &si, WEXITED | WNOHANG) != 0 ||
	    si.si_pid == 0)
		return;
	epoll_ctl(c->gw->epfd, EPOLL_CTL_DEL, c->child.pidfd, NULL);
	close(c->child.pidfd);
	c->child.pidfd = -1;
}

/*
 * The client ended: its init reported the program's status (the sandbox
 * holds nothing of the client's any more; the init itself may still be
 * exiting, tearing the namespaces down, and is reaped later), or the
 * init exited without a report (killed: by a violation, the grace
 * period), whose status waitid gives. Either way the same record.
 */
void
client_handle_exit(struct cg_client *c)
{
	siginfo_t si = { 0 };
	bool exited_normally;
	json_t *f;
	int code;

	if (c->exited) {
		reap_reported(c);
		return;
	}
	/* Whatever it said before it died is still in the socket: hear it
	 * out, so a send followed by exit is decided and recorded. */
	while (c->state != CG_CLIENT_CLOSED && c->fd >= 0 &&
	    receive_batch(c) > 0)
		;
	if (sandbox_report_read(c->plan, &code) == 1) {
		exited_normally = true;
		c->exit_status = code;
	} else {
		if (waitid((idtype_t)P_PIDFD, (id_t)c->child.pidfd, &si,
		    WEXITED | WNOHANG) != 0 || si.si_pid == 0)
			return;
		exited_normally = si.si_code == CLD_EXITED;
		c->exit_status = exited_normally ? si.si_status : 128 + si.si_status;
		epoll_ctl(c->gw->epfd, EPOLL_CTL_DEL, c->child.pidfd, NULL);
		close(c->child.pidfd);
		c->child.pidfd = -1;
	}
	c->exited = true;
	if (c->primary)
		c->gw->primary_exited = true;
	if (c->state == CG_CLIENT_CLOSED && c->fd >= 0) {
		close(c->fd);    /* kept open by client_kill */
		c->fd = -1;
	}
	if (c->child.notify_fd >= 0) {
		epoll_ctl(c->gw->epfd, EPOLL_CTL_DEL, c->child.notify_fd, NULL);
		close(c->child.notify_fd);
		c->child.notify_fd = -1;
	}
	client_close(c, "exited");
	f = json_pack("{s:s,s:i,s:s,s:i}", "client", c->name, "pid", (int)c->pid,
	    "how", exited_normally ? "exit" : "signal",
	    "status", c->exit_status);
	audit_append_event(c->gw->audit, "exit", f);
	json_decref(f);
	frame_session_wipe(&c->sess);
	if (c->backend != NULL)
		backend_exited(c);
	else
		c->gw->nlive--;
}
