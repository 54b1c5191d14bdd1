/*
 * The gateway's side of a connection, as a process the gateway starts sees
 * it: the socket in CAPGATE_FD, the session key read from CAPGATE_KEY_FD,
 * and frames through the frame codec (MAC and sequence checks included).
 * For the benchmark programs that speak the protocol themselves:
 * bench-pipeline (a client keeping invokes in flight) and
 * bench-backend-echo (a backend). Every failure ends the program with
 * exit status 2 and a message naming it.
 */
#ifndef CAPGATE_BENCH_PEER_H
#define CAPGATE_BENCH_PEER_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/frame.h"

struct bench_peer {
	const char *prog;        /* for messages */
	int fd;
	struct cg_frame_session sess;
	unsigned char in[CG_FRAME_MAX + 1];
	unsigned char out[CG_FRAME_MAX];
};

void bench_peer_die(const struct bench_peer *p, const char *what,
    const char *detail) __attribute__((noreturn));
/* Takes the socket and the session key; sends HELLO with hello as its
 * body and waits for WELCOME. */
void bench_peer_connect(struct bench_peer *p, const char *prog,
    const char *hello);
/* Seals and sends f. */
void bench_peer_send(struct bench_peer *p, const struct cg_frame *f);
/* Receives one frame into *f (its body points into p->in); returns 0 when
 * the gateway has closed the connection. */
int bench_peer_recv(struct bench_peer *p, struct cg_frame *f);

#endif
