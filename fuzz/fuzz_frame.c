/*
 * Fuzzes the frame codec: frame_decode() on arbitrary datagrams, and
 * frame_open() under a fixed session key.
 *
 * Input: one control byte, then the datagram.
 *   bit 0: recompute the MAC over the datagram before opening it, so the
 *          fuzzer gets past the MAC to the sequence and fd checks;
 *   bit 1: open as the client (frames to the client) instead of the gateway;
 *   bits 2-4: fds "received" with the datagram (0..7);
 *   bit 5: use a small per-policy cap (256 bytes) instead of the global one.
 *
 * Properties checked besides the sanitizers: a decoded frame's channel and
 * body lie inside the datagram and add up to its length; re-sealing a
 * decoded frame reproduces the datagram byte for byte; a frame that opened
 * is refused when replayed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char fuzz_key[CG_SESSION_KEY_LEN] = {
	0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
	0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
	0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
	0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42,
};

static unsigned char dgram[CG_FRAME_MAX + 1];
static unsigned char resealed[CG_FRAME_MAX];

static void
check_decoded(const unsigned char *buf, size_t len, const struct cg_frame *f)
{
	const char *b = (const char *)buf;

	if (f->channel != b + CG_FRAME_HEADER_LEN ||
	    f->body != f->channel + f->channel_len ||
	    CG_FRAME_HEADER_LEN + f->channel_len + f->body_len != len)
		abort();
	if (f->channel_len > CG_CHANNEL_MAX || f->nfds > CG_FRAME_MAX_FDS)
		abort();
}

/* Sealing what was decoded, with the same sequence number and key, must
 * give back the same bytes: encoder and decoder agree on every field. */
static void
check_reseal(const unsigned char *buf, size_t len, const struct cg_frame *f,
    uint8_t dir_to_client)
{
	struct cg_frame_session s;
	size_t n;

	frame_session_init(&s, fuzz_key, dir_to_client);
	s.send_seq = f->seq - 1;
	n = frame_seal(&s, f, resealed, sizeof(resealed));
	if (n != len || memcmp(resealed, buf, 32) != 0 ||
	    memcmp(resealed + CG_FRAME_HEADER_LEN, buf + CG_FRAME_HEADER_LEN,
	    len - CG_FRAME_HEADER_LEN) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_frame_session s;
	struct cg_frame f;
	enum cg_frame_result r;
	uint8_t ctl, as_client;
	size_t len, cap;

	if (size < 1 || size - 1 > sizeof(dgram))
		return 0;
	ctl = data[0];
	len = size - 1;
	memcpy(dgram, data + 1, len);
	as_client = (ctl & 2) != 0;
	cap = (ctl & 0x20) ? 256 : 0;

	if (frame_decode(dgram, len, cap, &f) == CG_FRAME_OK) {
		check_decoded(dgram, len, &f);
		/* A frame to the gateway is sealed by a client, and back. */
		check_reseal(dgram, len, &f, as_client);
	}
	if ((ctl & 1) && len >= CG_FRAME_HEADER_LEN) {
		struct cg_frame_session sender;
		struct cg_frame g;
		/* Fix up the MAC as the legitimate peer would have made it. */
		if (frame_decode(dgram, len, cap, &g) == CG_FRAME_OK) {
			frame_session_init(&sender, fuzz_key, as_client);
			sender.send_seq = g.seq - 1;
			(void)frame_seal(&sender, &g, dgram, sizeof(dgram));
		}
	}
	frame_session_init(&s, fuzz_key, !as_client);
	s.recv_seq = 0;
	r = frame_open(&s, dgram, len, cap, (ctl >> 2) & 7, &f);
	if (r == CG_FRAME_OK) {
		check_decoded(dgram, len, &f);
		if (s.recv_seq != f.seq || f.seq != 1)
			abort();
		/* The same datagram again is a replay. */
		if (frame_open(&s, dgram, len, cap, (ctl >> 2) & 7, &f) !=
		    CG_FRAME_BAD_SEQ)
			abort();
	} else if (s.recv_seq != 0) {
		abort();    /* a refused frame must not advance the counter */
	}
	return 0;
}
