/*
 * Backends: trusted processes that serve channels ("to": "NAME") and push
 * events ("from": "NAME"). The gateway starts each one with the same
 * connection a client gets (socketpair as fd 3, session key through a pipe
 * as fd 4, MAC'd and numbered frames) and is the only party that talks to
 * it: a backend sees requests that passed every policy check, wrapped in an
 * envelope that carries the verified caller (docs/PROTOCOL.md, "Backends").
 *
 * A backend's connection is a struct cg_client with ->backend set, so the
 * receive path (size, sender credentials, MAC, sequence) and the bounded
 * output queue are the clients' own code.
 */
#ifndef CG_GATEWAY_BACKEND_H
#define CG_GATEWAY_BACKEND_H

#include <stdint.h>

#include "gateway/gateway.h"

/* Starts every backend the policy declares and waits (up to the policy's
 * handshake_ms) for each to say HELLO. Returns 0, or -1 if one could not
 * be started at all (reported on stderr). */
int backend_start_all(struct cg_gateway *gw);

/* Asks every backend to stop (SIGTERM), kills what is left after a grace
 * period, reaps them and fails whatever is still pending. */
void backend_stop_all(struct cg_gateway *gw);
void backend_free_all(struct cg_gateway *gw);

/*
 * Hands a request that passed every check to the channel's backend. For an
 * invoke the request becomes pending (counted in flight) and is answered
 * later through dispatch_finish(); *pending tells the caller so. Returns
 * CG_STATUS_OK, or the status to answer with now (*reason for the audit).
 * start_ns (cg_now_ns) is when the gateway took the request: its deadline
 * and its audit record's latency count from then.
 * The fds (already checked by dispatch) go with the request; they are
 * owned by this call, also when it fails.
 */
enum cg_status backend_forward(struct cg_client *c, const struct cg_frame *f,
    int channel, int32_t slot, const int *fds, unsigned nfds,
    uint64_t start_ns, bool *pending, const char **reason);

/* A finished request goes back on a short list of spares that the next
 * forward reuses, with its body buffer; past that list it is freed. */
void backend_pending_release(struct cg_gateway *gw, struct cg_pending *p);

/* A frame from a backend, after the transport checks. */
void backend_dispatch(struct cg_client *conn, const struct cg_frame *f,
    const int *fds, unsigned nfds);

/* A policy reload (gateway/reload.c) that kept the same backends: each
 * backend takes its entry of new, and each pending invoke, which finishes
 * under the policy it was decided under, gets its grant slot renumbered. */
void backend_reload(struct cg_gateway *gw, const struct cg_policy *new);

/* A backend process was reaped. */
void backend_exited(struct cg_client *conn);

/* The earliest deadline (pending invoke, restart, handshake) in ns, or
 * UINT64_MAX; and the work due at now. */
uint64_t backend_next_deadline(const struct cg_gateway *gw);
void backend_tick(struct cg_gateway *gw, uint64_t now);
/* Backend i's current connection, or NULL. */
struct cg_client *backend_conn(const struct cg_gateway *gw, size_t i);

/* gateway/backend_spawn.c: starts bp's process on conn (fills conn->fd,
 * conn->sess and, when sandboxed, conn->plan) and *child. 0, or -1 with
 * err and nothing left running. */
int backend_spawn_process(struct cg_client *conn,
    const struct cg_backend_policy *bp, struct cg_child *child,
    struct cg_error *err);

/* gateway/events.c */

/* An EVENT frame from backend number index: checked against the policy
 * (declared, from this backend, payload schema), then delivered to every
 * client that is granted the channel and subscribed. */
void events_from_backend(struct cg_gateway *gw, int index,
    const struct cg_frame *f);

/* A client-to-client "send": delivers the (already validated) payload to
 * the channel's target client if it subscribed. CG_STATUS_OK or a deny. */
enum cg_status events_relay(struct cg_client *from, const struct cg_frame *f,
    const struct cg_channel *ch, const char **reason);

#endif
