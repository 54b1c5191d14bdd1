/*
 * The protocol test vectors (frames.json) against the C frame codec, the
 * one the gateway and the C client library use. The vectors were written
 * with the Python library; this checks them independently (libsodium's
 * BLAKE2b), so all three implementations agree byte for byte.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <sodium.h>
#include <string.h>

#include "gateway/frame.h"

static json_t *doc;

static void
load(void)
{
	json_error_t e;

	cr_assert_geq(sodium_init(), 0);
	doc = json_load_file(VECTORS_FILE, 0, &e);
	cr_assert_not_null(doc, "%s:%d: %s", VECTORS_FILE, e.line, e.text);
}

static void
unload(void)
{
	json_decref(doc);
}

TestSuite(vectors, .init = load, .fini = unload);

static size_t
unhex(const char *hex, unsigned char *out, size_t cap)
{
	size_t len = 0;

	cr_assert_eq(sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &len, NULL), 0);
	return len;
}

/* A session whose frames travel in direction dir (sender), or that
 * receives frames travelling in dir (receiver). */
static void
session(struct cg_frame_session *s, const char *keyhex, int dir, bool sender)
{
	unsigned char key[CG_SESSION_KEY_LEN];

	cr_assert_eq(unhex(keyhex, key, sizeof(key)), sizeof(key));
	/* a gateway sends TO_CLIENT and receives TO_GATEWAY */
	frame_session_init(s, key, sender ? dir == CG_DIR_TO_CLIENT :
	    dir == CG_DIR_TO_GATEWAY);
}

Test(vectors, every_accepted_vector_seals_and_opens_identically)
{
	static unsigned char want[CG_FRAME_MAX], got[CG_FRAME_MAX];
	json_t *v;
	size_t i;

	cr_assert_gt(json_array_size(json_object_get(doc, "accept")), 10);
	json_array_foreach(json_object_get(doc, "accept"), i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		int dir = (int)json_integer_value(json_object_get(v, "direction"));
		uint64_t seq = (uint64_t)json_integer_value(json_object_get(v, "seq"));
		struct cg_frame_session tx, rx;
		struct cg_frame f = { 0 }, o;
		size_t wlen = unhex(json_string_value(json_object_get(v, "datagram")),
		    want, sizeof(want)), glen;

		session(&tx, json_string_value(json_object_get(v, "key")), dir, true);
		session(&rx, json_string_value(json_object_get(v, "key")), dir, false);
		tx.send_seq = seq - 1;
		rx.recv_seq = seq - 1;
		f.type = (uint8_t)json_integer_value(json_object_get(v, "type"));
		f.request_id = (uint32_t)json_integer_value(json_object_get(v,
		    "request_id"));
		f.status = (uint16_t)json_integer_value(json_object_get(v, "status"));
		f.nfds = (uint8_t)json_integer_value(json_object_get(v, "nfds"));
		f.channel = json_string_value(json_object_get(v, "channel"));
		f.channel_len = strlen(f.channel);
		f.body = json_string_value(json_object_get(v, "body"));
		f.body_len = strlen(f.body);
		glen = frame_seal(&tx, &f, got, sizeof(got));
		cr_assert_eq(glen, wlen, "%s: length %zu, want %zu", name, glen, wlen);
		cr_assert_eq(memcmp(got, want, wlen), 0, "%s: bytes differ", name);
		cr_assert_eq(frame_open(&rx, want, wlen, 0, f.nfds, &o), CG_FRAME_OK,
		    "%s", name);
		cr_assert_eq(o.type, f.type, "%s", name);
		cr_assert_eq(o.request_id, f.request_id, "%s", name);
		cr_assert_eq(o.seq, seq, "%s", name);
		cr_assert_eq(o.body_len, f.body_len, "%s", name);
		cr_assert_eq(memcmp(o.body, f.body, f.body_len), 0, "%s", name);
	}
}

Test(vectors, every_rejected_vector_fails_with_its_named_error)
{
	static unsigned char dg[CG_FRAME_MAX + 2];
	json_t *v;
	size_t i;

	cr_assert_gt(json_array_size(json_object_get(doc, "reject")), 20);
	json_array_foreach(json_object_get(doc, "reject"), i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *want = json_string_value(json_object_get(v, "error"));
		int dir = (int)json_integer_value(json_object_get(v, "direction"));
		struct cg_frame_session rx;
		struct cg_frame o;
		size_t len = unhex(json_string_value(json_object_get(v, "datagram")),
		    dg, sizeof(dg));
		enum cg_frame_result r;

		session(&rx, json_string_value(json_object_get(v, "key")), dir, false);
		rx.recv_seq = (uint64_t)json_integer_value(json_object_get(v,
		    "expected_seq")) - 1;
		r = frame_open(&rx, dg, len, 0, (unsigned)json_integer_value(
		    json_object_get(v, "nfds_received")), &o);
		cr_assert_str_eq(frame_result_name(r), want, "%s: got %s", name,
		    frame_result_name(r));
		/* a rejected frame does not advance the receive counter */
		cr_assert_eq(rx.recv_seq, (uint64_t)json_integer_value(
		    json_object_get(v, "expected_seq")) - 1, "%s", name);
	}
}
