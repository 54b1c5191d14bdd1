/*
 * The echo backend for the backend-invoke benchmark: a trusted process the
 * gateway starts for the policy's "backends" section (docs/BACKENDS.md).
 * It answers every INVOKE with a REPLY whose body is the client's payload.
 *
 * It is the backend counterpart of the relay floor's echo process: it does
 * no work of its own, so the benchmark measures the gateway's two hops. The
 * payload is taken out of the envelope without parsing it, which the
 * protocol allows: the gateway writes
 *   {"caller":{"client":NAME,"pid":PID},"data":BODY}
 * with BODY last and byte for byte as the client sent it (docs/PROTOCOL.md,
 * "Backends"). Frames go through the frame codec, MAC and sequence checks
 * included, as in any backend.
 */
#include "bench/peer.h"

#include <string.h>

#define ENVELOPE_HEAD "{\"caller\":"
#define ENVELOPE_DATA "},\"data\":"

/* The client's payload inside an envelope, or NULL if it is not one. */
static const char *
envelope_data(const struct cg_frame *f, size_t *len)
{
	const char *end = f->body + f->body_len, *at;

	if (f->body_len < sizeof(ENVELOPE_HEAD) + sizeof(ENVELOPE_DATA) ||
	    memcmp(f->body, ENVELOPE_HEAD, sizeof(ENVELOPE_HEAD) - 1) != 0 ||
	    end[-1] != '}')
		return NULL;
	/* The caller object's closing brace, then `,"data":`. A loop over
	 * memchr: glibc's memmem builds a shift table for every call, which
	 * cost this backend more than the rest of its own work together. */
	for (at = f->body + sizeof(ENVELOPE_HEAD) - 1;; at++) {
		at = memchr(at, '}', (size_t)(end - at));
		if (at == NULL || (size_t)(end - at) < sizeof(ENVELOPE_DATA))
			return NULL;
		if (memcmp(at, ENVELOPE_DATA, sizeof(ENVELOPE_DATA) - 1) == 0)
			break;
	}
	at += sizeof(ENVELOPE_DATA) - 1;
	*len = (size_t)(end - 1 - at);
	return at;
}

static void
answer(struct bench_peer *p, uint8_t type, uint32_t id, uint16_t status,
    const char *body, size_t body_len)
{
	struct cg_frame f = { 0 };

	f.type = type;
	f.request_id = id;
	f.status = status;
	f.body = body;
	f.body_len = body_len;
	bench_peer_send(p, &f);
}

int
main(void)
{
	static struct bench_peer p;
	struct cg_frame f;
	const char *data;
	size_t len;

	bench_peer_connect(&p, "bench-backend-echo", "{\"version\":3}");
	while (bench_peer_recv(&p, &f)) {
		if (f.type != CG_MSG_INVOKE)
			continue;           /* SEND and anything else: no answer */
		data = envelope_data(&f, &len);
		if (data == NULL)
			answer(&p, CG_MSG_ERROR, f.request_id, CG_STATUS_FAILED,
			    NULL, 0);
		else
			answer(&p, CG_MSG_REPLY, f.request_id, CG_STATUS_OK,
			    data, len);
	}
	return 0;
}
