/*
 * The gateway process: one event loop that owns every client connection,
 * the audit writer and the policy. Single-threaded by design: every
 * decision is made in one place, in order, and recorded before its reply
 * is released.
 */
#ifndef CG_GATEWAY_GATEWAY_H
#define CG_GATEWAY_GATEWAY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "audit/audit.h"
#include "gateway/frame.h"
#include "policy/policy.h"
#include "sandbox/sandbox.h"

struct cg_sandbox_plan;

/* Per client connection, per granted channel (indexed by grant slot). */
struct cg_chan_state {
	uint32_t uses;           /* successful uses so far */
	uint32_t inflight;       /* invokes not yet answered */
	double tokens;           /* rate bucket */
	uint64_t refill_ns;      /* when tokens was last topped up */
	bool succeeded;          /* one use has succeeded (phases) */
	bool subscribed;         /* event channels: the client asked for them */
};

/*
 * Datagrams waiting to go out to one client, as records of
 * [u32 len][u32 nfds][int fds[CG_FRAME_MAX_FDS]][len bytes] in one buffer
 * that is reused, so steady-state replies allocate nothing. Bounded by
 * limits.queue_bytes: a client that stops reading is dropped.
 */
struct cg_outbuf {
	unsigned char *data;
	size_t head;             /* first unsent record */
	size_t len;              /* end of the last record */
	size_t cap;
	size_t turn;             /* first record queued in loop turn turn_gen */
	uint64_t turn_seq;       /* send_seq before that record */
	uint64_t turn_gen;       /* the turn that set turn and turn_seq */
	unsigned nfds;           /* descriptors held by the queued records */
};

/* Descriptors a connection's queue may hold (each queued record keeps its
 * fds open until sent): a client that asks for fds and never reads its
 * answers would otherwise fill the gateway's descriptor table, and every
 * other client's requests would fail for want of one. Past it the client
 * is ended as for queue_bytes; a backend's request is refused. */
#define CG_QUEUE_FDS_MAX 64

/* A record with fds is sent only while the peer has fewer than this many
 * bytes unread (SIOCOUTQ): fds in a socket's receive queue are charged to
 * the sending user, and with clients under the gateway's own uid a client
 * that never reads would otherwise keep hundreds in flight and make every
 * other client's fd passing fail (ETOOMANYREFS). The record waits in the
 * queue (counted above) and is tried again after 1, 2, 4 ... 128 ms. */
#define CG_FDS_OUTQ_MAX (16 * 1024)
#define CG_FDS_RETRY_MS_MAX 128

enum cg_client_state {
	CG_CLIENT_HANDSHAKE = 0,
	CG_CLIENT_READY = 1,
	CG_CLIENT_CLOSED = 2,    /* connection gone; process may still run */
};

struct cg_gateway;
struct cg_backend;

/*
 * An invoke forwarded to a backend and not answered yet. It holds what the
 * answer needs (whom to answer, under which id) and what its one audit
 * record needs. Bounded: each one counts against the client's in-flight
 * limits, which are checked before it is created.
 */
struct cg_pending {
	struct cg_pending *next;     /* the spare list (backend.c) */
	struct cg_pending *id_next;  /* its backend's bucket for backend_id */
	size_t heap_at;              /* index in its backend's deadline heap */
	struct cg_client *client;
	uint32_t client_id;      /* request id the client chose */
	uint32_t backend_id;     /* request id on the backend connection */
	const struct cg_policy *policy;  /* decided under (a reload keeps it) */
	int channel;             /* channel index in that policy */
	int32_t slot;            /* the client's grant slot for it, or -1 */
	uint64_t start_ns;
	uint64_t deadline_ns;
	char *body;              /* the request as the client sent it (audit) */
	size_t body_len;
	size_t body_cap;         /* bytes malloc'd at body */
};

struct cg_client {
	struct cg_gateway *gw;
	const struct cg_client_policy *pol;
	char name[64];
	int fd;                  /* gateway end of the socketpair, or -1 */
	pid_t pid;               /* as this gateway sees it */
	/* {"caller":{"client":NAME,"pid":PID},"data": for requests to
	 * backends, built at the first one (backend.c); 0 until then */
	char envelope[6 * 64 + 48];
	size_t envelope_len;
	pid_t envelope_pid;      /* the pid it names */
	struct cg_child child;   /* pidfd (-1 once reaped), seccomp notify fd */
	uid_t uid;               /* expected sender credentials */
	gid_t gid;
	struct cg_frame_session sess;
	enum cg_client_state state;
	struct cg_chan_state *chan;
	uint32_t inflight;
	struct cg_outbuf out;
	bool out_pending;        /* on the gateway's flush list */
	bool want_write;         /* EPOLLOUT armed */
	bool fds_held;           /* a record with fds waits for the peer to read */
	unsigned fds_backoff_ms; /* the wait before its next try */
	struct cg_client *next_flush;
	uint64_t handshake_deadline_ns;
	bool exited;
	int exit_status;         /* shell-style: code, or 128 + signal */
	unsigned violations;
	uint32_t denials_left;   /* of CG_DENIALS_BURST, at denials_at_ns */
	uint64_t denials_at_ns;
	struct cg_sandbox_plan *plan;
	struct cg_backend *backend;  /* set when this connection is a backend's */
	bool primary;            /* the command-line client: its exit ends the run */
	/* How many datagrams the next read asks for (client.c,
	 * receive_batch): 1 or CG_GATEWAY_RX_BATCH; the run of reads that
	 * found one datagram each while asking for one; sess.send_seq at
	 * the last read. */
	uint8_t rx_want;
	uint8_t rx_singles;
	uint64_t rx_sent_mark;
};

struct cg_gateway {
	struct cg_policy *policy;
	struct cg_audit *audit;
	int epfd;
	int sigfd;
	struct cg_client **clients;
	size_t nclients;
	size_t nlive;            /* clients whose process has not been reaped */
	struct cg_client *flush_list;
	struct cg_backend **backends;    /* one per policy backend */
	size_t nbackends;
	int *scope_fds;          /* per channel: fs scope root dirfd, or -1 */
	unsigned char *rxbuf;    /* CG_GATEWAY_RX_BATCH datagrams of CG_FRAME_MAX + 1 */
	unsigned char *txbuf;    /* one datagram being built */
	bool audit_warned;
	bool audit_path_set;     /* --audit named a log */
	bool stopping;           /* a signal asked us to stop */
	uint64_t kill_deadline_ns;
	/* CLOCK_MONOTONIC read once per loop turn, right after epoll_wait:
	 * the time every request read in that turn was received. 0 outside
	 * a turn (gateway_now() then reads the clock). */
	uint64_t now_ns;
	/* The loop's deadline timer (loop.c): a timerfd in the epoll set,
	 * made by the first turn; armed_ns is when it is set to fire, 0 if
	 * it is not armed. */
	int timerfd;
	bool timer_made;
	uint64_t timer_armed_ns;
	/* Loop turns are numbered; a turn is open from its wait until its
	 * records are committed. Replies queued in the open turn are held
	 * until then (client.c); nothing is done per client per turn. */
	uint64_t turn_gen;
	bool turn_open;
	/* no client's handshake deadline is earlier (a deadline that has
	 * gone may leave it early: one scan of the clients then) */
	uint64_t handshake_next_ns;
	/* when connections holding a record with fds try again (client.c,
	 * send_record); 0 or past: at the next turn */
	uint64_t fds_retry_ns;
	bool primary_exited;     /* the command-line client has exited */
	int stop_signal;
	struct cg_policy **retired;  /* replaced by a reload, not yet freed */
	size_t nretired;
	struct cg_pending *spare;    /* finished backend requests, for reuse */
	unsigned nspare;
	/* Reading ahead (loop.c, turn): the one connection the last turn
	 * sent to, read before waiting; whether the last wait allows it; how
	 * many turns in a row did so; and
	 * how many turns to wait before trying again after a read found
	 * nothing (doubling up to a bound, reset by a read that found one). */
	struct cg_client *ahead;
	bool ahead_alone;            /* the last wait found one source ready */
	unsigned turn_reads;         /* datagrams read in this turn */
	unsigned ahead_run;
	unsigned ahead_skip, ahead_backoff;
};

/* Violations a client survives under on_violation "deny". */
#define CG_VIOLATIONS_MAX 64

/* Denied requests (not found, not granted, invalid, rate, ...) are each
 * recorded, so a client denied at socket speed would grow the audit log at
 * socket speed: a client gets CG_DENIALS_BURST denials, refilled at
 * CG_DENIALS_PER_S, and is ended (too-many-denials) past them. */
#define CG_DENIALS_BURST 1024
#define CG_DENIALS_PER_S 128

/* Datagrams read from one client per loop turn (one recvmmsg). */
#define CG_GATEWAY_RX_BATCH 32
/* reads in a row that each found one datagram before a connection is read
 * in batches again (client.c, receive_batch) */
#define CG_GATEWAY_RX_RAMP 8

/* epoll tags: the low bits of the data pointer say what became ready. */
enum cg_watch_kind {
	CG_WATCH_SOCKET = 1,
	CG_WATCH_PIDFD = 2,
	CG_WATCH_NOTIFY = 3,
	CG_WATCH_TIMER = 4,      /* with no client: the loop's deadline timer */
};

/* gateway/client.c */
struct cg_client *client_new(struct cg_gateway *gw,
    const struct cg_client_policy *pol, const char *name);
void client_free(struct cg_client *c);
int client_watch(struct cg_client *c);
void client_handle_readable(struct cg_client *c);
/* Reads what c has sent, if anything, without waiting: the datagrams
 * handled (closing c at its end of file), 0 if there were none. */
int client_read_ahead(struct cg_client *c);
void client_handle_writable(struct cg_client *c);
void client_handle_exit(struct cg_client *c);
void client_close(struct cg_client *c, const char *reason);
void client_kill(struct cg_client *c, const char *reason);
bool client_queue_has_room(const struct cg_client *c, size_t len,
    unsigned nfds);
int client_queue(struct cg_client *c, const struct cg_frame *f,
    const int *fds, unsigned nfds);
void client_flush(struct cg_client *c);
void client_turn_unavailable(struct cg_client *c);

/* gateway/dispatch.c */
void dispatch_frame(struct cg_client *c, const struct cg_frame *f,
    const int *fds, unsigned nfds);
void dispatch_violation(struct cg_client *c, const char *reason,
    const char *detail, pid_t sender);

/* gateway/dispatch.c, for answers that arrive later (backends) */
void dispatch_finish(struct cg_pending *p, const struct cg_frame *answer,
    const int *fds, unsigned nfds, enum cg_status st, const char *reason);
void dispatch_audit_event(struct cg_gateway *gw, const char *source,
    const struct cg_frame *f, enum cg_decision dec, const char *reason,
    const char *pointer, const char *detail);

/* gateway/loop.c */
int gateway_loop(struct cg_gateway *gw);
/* One loop turn that does not wait: serves what is already ready (the
 * handshakes of clients started so far, while more are being started). */
int gateway_poll(struct cg_gateway *gw);
int gateway_turn(struct cg_gateway *gw);
/* The current turn's time (CLOCK_MONOTONIC ns), or the clock outside a
 * turn: one clock read per turn instead of one per use. */
uint64_t gateway_now(const struct cg_gateway *gw);
/* Sets c's handshake deadline (CLOCK_MONOTONIC ns) where the loop sees it. */
void gateway_handshake_deadline(struct cg_gateway *gw, struct cg_client *c,
    uint64_t when);
/* Closes the loop's deadline timer (made by the first turn). */
void gateway_timer_close(struct cg_gateway *gw);
void gateway_fds_retry_at(struct cg_gateway *gw, uint64_t when);
void gateway_schedule_flush(struct cg_gateway *gw, struct cg_client *c);

/* gateway/reload.c: SIGHUP. Loads the policy again from its path and
 * swaps it in, or leaves everything as it was and reports why. */
int gateway_reload(struct cg_gateway *gw);
/* Frees retired policies once nothing can refer to them (all: at exit). */
void gateway_reload_collect(struct cg_gateway *gw, bool all);
/* A pending invoke's grant slot under new (its channel by name), or -1. */
int32_t gateway_reload_slot(const struct cg_pending *p,
    const struct cg_policy *new);

/* gateway/spawn.c: _client is _begin then _finish. Between them the child
 * enters its sandbox while the gateway does other work; its program runs
 * only once _finish has let its exec through, and _abort kills it. */
int gateway_spawn_client(struct cg_gateway *gw, struct cg_client *c,
    const char *const *argv, const char *const *extra_env);
int gateway_spawn_begin(struct cg_gateway *gw, struct cg_client *c,
    const char *const *argv, const char *const *extra_env);
int gateway_spawn_finish(struct cg_gateway *gw, struct cg_client *c,
    const char *const *argv);
void gateway_spawn_abort(struct cg_client *c);

#endif
