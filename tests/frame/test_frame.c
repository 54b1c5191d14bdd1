/* The frame codec: round trips, and every way a datagram can be wrong. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <string.h>

#include "gateway/frame.h"

static unsigned char key[CG_SESSION_KEY_LEN];
static struct cg_frame_session gw, cl;
static unsigned char buf[CG_FRAME_MAX + 64];

static void
setup(void)
{
	cr_assert(sodium_init() >= 0);
	randombytes_buf(key, sizeof(key));
	frame_session_init(&gw, key, 1);
	frame_session_init(&cl, key, 0);
}

TestSuite(frame, .init = setup);

static size_t
seal_invoke(const char *channel, const char *body)
{
	struct cg_frame f = { 0 };

	f.type = CG_MSG_INVOKE;
	f.request_id = 7;
	f.channel = channel;
	f.channel_len = strlen(channel);
	f.body = body;
	f.body_len = strlen(body);
	return frame_seal(&cl, &f, buf, sizeof(buf));
}

Test(frame, round_trip)
{
	struct cg_frame f;
	size_t n = seal_invoke("demo:echo", "{\"a\":1}");

	cr_assert_eq(n, CG_FRAME_HEADER_LEN + 9 + 7);
	cr_assert_eq(frame_open(&gw, buf, n, 0, 0, &f), CG_FRAME_OK);
	cr_assert_eq(f.type, CG_MSG_INVOKE);
	cr_assert_eq(f.request_id, 7);
	cr_assert_eq(f.seq, 1);
	cr_assert_eq(f.channel_len, 9);
	cr_assert(memcmp(f.channel, "demo:echo", 9) == 0);
	cr_assert(memcmp(f.body, "{\"a\":1}", 7) == 0);
	/* the next frame gets the next number */
	n = seal_invoke("demo:echo", "2");
	cr_assert_eq(frame_open(&gw, buf, n, 0, 0, &f), CG_FRAME_OK);
	cr_assert_eq(f.seq, 2);
}

Test(frame, reply_direction_round_trip)
{
	struct cg_frame f = { 0 }, g;
	size_t n;

	f.type = CG_MSG_ERROR;
	f.status = CG_STATUS_DENIED;
	f.request_id = 3;
	n = frame_seal(&gw, &f, buf, sizeof(buf));
	cr_assert_eq(frame_open(&cl, buf, n, 0, 0, &g), CG_FRAME_OK);
	cr_assert_eq(g.status, CG_STATUS_DENIED);
}

Test(frame, short_frames_are_rejected)
{
	struct cg_frame f;
	size_t n = seal_invoke("a", "1");

	for (size_t len = 0; len < CG_FRAME_HEADER_LEN; len++)
		cr_assert_eq(frame_decode(buf, len, 0, &f), CG_FRAME_SHORT);
	/* truncated: header intact but the datagram shorter than it says */
	cr_assert_eq(frame_decode(buf, n - 1, 0, &f), CG_FRAME_BAD_LENGTH);
}

Test(frame, trailing_bytes_are_rejected)
{
	struct cg_frame f;
	size_t n = seal_invoke("a", "1");

	buf[n] = 'x';
	cr_assert_eq(frame_decode(buf, n + 1, 0, &f), CG_FRAME_BAD_LENGTH);
}

Test(frame, oversized_is_rejected_before_anything_else)
{
	struct cg_frame f;

	memset(buf, 0, sizeof(buf));
	cr_assert_eq(frame_decode(buf, CG_FRAME_MAX + 1, 0, &f), CG_FRAME_TOO_BIG);
	/* a per-channel or policy cap below the global one wins */
	cr_assert_eq(frame_decode(buf, 200, 100, &f), CG_FRAME_TOO_BIG);
}

Test(frame, huge_length_fields_cannot_wrap)
{
	struct cg_frame f;
	size_t n = seal_invoke("a", "1");

	buf[16] = buf[17] = buf[18] = buf[19] = 0xff;   /* body_len = 4 GiB - 1 */
	cr_assert_eq(frame_decode(buf, n, 0, &f), CG_FRAME_BAD_LENGTH);
	n = seal_invoke("a", "1");
	buf[12] = buf[13] = 0xff;                          /* channel_len = 65535 */
	cr_assert_eq(frame_decode(buf, n, 0, &f), CG_FRAME_BAD_LENGTH);
}

Test(frame, bad_magic_version_type_flags)
{
	struct cg_frame f;
	size_t n = seal_invoke("a", "1");
	unsigned char copy[256];

	memcpy(copy, buf, n);
	copy[0] ^= 1;
	cr_assert_eq(frame_decode(copy, n, 0, &f), CG_FRAME_BAD_MAGIC);
	memcpy(copy, buf, n);
	copy[4] = CG_PROTO_VERSION + 1;
	cr_assert_eq(frame_decode(copy, n, 0, &f), CG_FRAME_BAD_VERSION);
	copy[4] = CG_PROTO_VERSION - 1;  /* version 2: the MAC field hashed as zeros */
	cr_assert_eq(frame_decode(copy, n, 0, &f), CG_FRAME_BAD_VERSION);
	memcpy(copy, buf, n);
	copy[5] = 0;
	cr_assert_eq(frame_decode(copy, n, 0, &f), CG_FRAME_BAD_TYPE);
	copy[5] = 200;
	cr_assert_eq(frame_decode(copy, n, 0, &f), CG_FRAME_BAD_TYPE);
	memcpy(copy, buf, n);
	copy[7] = 0x80;                                   /* unknown flag */
	cr_assert_eq(frame_decode(copy, n, 0, &f), CG_FRAME_BAD_FLAGS);
	memcpy(copy, buf, n);
	copy[22] = 1;                                     /* reserved byte */
	cr_assert_eq(frame_decode(copy, n, 0, &f), CG_FRAME_BAD_FLAGS);
	memcpy(copy, buf, n);
	copy[14] = 1;                                     /* status on an invoke */
	cr_assert_eq(frame_decode(copy, n, 0, &f), CG_FRAME_BAD_FLAGS);
	memcpy(copy, buf, n);
	copy[20] = 1;                                     /* fds without the flag */
	cr_assert_eq(frame_decode(copy, n, 0, &f), CG_FRAME_BAD_FLAGS);
}

Test(frame, channel_names_are_checked)
{
	struct cg_frame f;
	size_t n = seal_invoke("ok:name", "1");

	buf[CG_FRAME_HEADER_LEN + 2] = '\n';
	cr_assert_eq(frame_decode(buf, n, 0, &f), CG_FRAME_BAD_CHANNEL);
	buf[CG_FRAME_HEADER_LEN + 2] = 0;
	cr_assert_eq(frame_decode(buf, n, 0, &f), CG_FRAME_BAD_CHANNEL);
	buf[CG_FRAME_HEADER_LEN + 2] = (char)0xc3;
	cr_assert_eq(frame_decode(buf, n, 0, &f), CG_FRAME_BAD_CHANNEL);
	cr_assert(!frame_channel_valid("", 0));
	cr_assert(frame_channel_valid("a", 1));
	char longname[CG_CHANNEL_MAX + 2];
	memset(longname, 'a', sizeof(longname));
	cr_assert(frame_channel_valid(longname, CG_CHANNEL_MAX));
	cr_assert(!frame_channel_valid(longname, CG_CHANNEL_MAX + 1));
	/* an invoke must name a channel */
	cr_assert_eq(seal_invoke("", "1") > 0, 1);
	cr_assert_eq(frame_decode(buf, CG_FRAME_HEADER_LEN + 1, 0, &f),
	    CG_FRAME_BAD_CHANNEL);
}

Test(frame, every_flipped_bit_fails_the_mac)
{
	struct cg_frame f;
	size_t n = seal_invoke("demo:echo", "{\"text\":\"hi\"}");
	unsigned char orig[256];

	memcpy(orig, buf, n);
	for (size_t bit = 0; bit < n * 8; bit++) {
		struct cg_frame_session s = gw;
		memcpy(buf, orig, n);
		buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		cr_assert_neq(frame_open(&s, buf, n, 0, 0, &f), CG_FRAME_OK,
		    "bit %zu flipped was accepted", bit);
		cr_assert_eq(s.recv_seq, 0, "a rejected frame advanced the counter");
	}
	memcpy(buf, orig, n);
	cr_assert_eq(frame_open(&gw, buf, n, 0, 0, &f), CG_FRAME_OK);
}

/* The tag as docs/PROTOCOL.md defines it, computed here with libsodium
 * alone: SipHash-2-4-128 under BLAKE2b-128(session key, label || direction)
 * over the header's first 32 bytes and everything after the MAC field. */
Test(frame, the_tag_is_siphash_over_the_datagram_without_its_mac_field)
{
	static const char label[] = CG_FRAME_MAC_LABEL;
	unsigned char msg[sizeof(label)], k[16], tag[16], data[256];
	size_t n = seal_invoke("demo:echo", "{\"text\":\"a body of more than one block\"}");

	memcpy(msg, label, sizeof(label) - 1);
	msg[sizeof(label) - 1] = CG_DIR_TO_GATEWAY;
	cr_assert_eq(crypto_generichash(k, sizeof(k), msg, sizeof(msg), key,
	    sizeof(key)), 0);
	memcpy(data, buf, 32);
	memcpy(data + 32, buf + 64, n - 64);
	crypto_shorthash_siphashx24(tag, data, n - 32, k);
	cr_assert_eq(memcmp(tag, buf + 32, sizeof(tag)), 0);
}

Test(frame, open_leaves_the_datagram_as_it_was)
{
	struct cg_frame_session s = gw;
	struct cg_frame f;
	size_t n = seal_invoke("demo:echo", "{\"text\":\"hi\"}");
	unsigned char orig[256];

	/* the tag fills half of the MAC field; the rest is zero on the wire */
	for (size_t i = 32 + CG_FRAME_TAG_LEN; i < 64; i++)
		cr_assert_eq(buf[i], 0, "MAC field byte %zu", i);
	memcpy(orig, buf, n);
	cr_assert_eq(frame_open(&s, buf, n, 0, 0, &f), CG_FRAME_OK);
	cr_assert_eq(memcmp(buf, orig, n), 0, "an accepted open changed the bytes");
	buf[40] ^= 1;
	memcpy(orig, buf, n);
	cr_assert_eq(frame_open(&gw, buf, n, 0, 0, &f), CG_FRAME_BAD_MAC);
	cr_assert_eq(memcmp(buf, orig, n), 0, "a rejected open changed the bytes");
}

Test(frame, wrong_key_fails)
{
	unsigned char other[CG_SESSION_KEY_LEN];
	struct cg_frame_session s;
	struct cg_frame f;
	size_t n = seal_invoke("a", "1");

	randombytes_buf(other, sizeof(other));
	frame_session_init(&s, other, 1);
	cr_assert_eq(frame_open(&s, buf, n, 0, 0, &f), CG_FRAME_BAD_MAC);
}

Test(frame, replay_reorder_and_skip_are_rejected)
{
	unsigned char first[256], second[256];
	struct cg_frame f;
	size_t n1 = seal_invoke("a", "1"), n2;

	memcpy(first, buf, n1);
	n2 = seal_invoke("a", "2");
	memcpy(second, buf, n2);
	/* reorder: 2 before 1 */
	cr_assert_eq(frame_open(&gw, second, n2, 0, 0, &f), CG_FRAME_BAD_SEQ);
	cr_assert_eq(frame_open(&gw, first, n1, 0, 0, &f), CG_FRAME_OK);
	/* replay of 1 */
	cr_assert_eq(frame_open(&gw, first, n1, 0, 0, &f), CG_FRAME_BAD_SEQ);
	cr_assert_eq(frame_open(&gw, second, n2, 0, 0, &f), CG_FRAME_OK);
	/* skip: 4 after 2 */
	seal_invoke("a", "3");
	n1 = seal_invoke("a", "4");
	cr_assert_eq(frame_open(&gw, buf, n1, 0, 0, &f), CG_FRAME_BAD_SEQ);
}

Test(frame, reflected_frame_fails)
{
	struct cg_frame f;
	size_t n = seal_invoke("a", "1");

	/* the client's own frame sent back to it: direction is in the MAC */
	cr_assert_eq(frame_open(&cl, buf, n, 0, 0, &f), CG_FRAME_BAD_MAC);
}

Test(frame, fd_count_must_match)
{
	struct cg_frame f = { 0 }, g;
	size_t n;

	f.type = CG_MSG_REPLY;
	f.nfds = 1;
	n = frame_seal(&gw, &f, buf, sizeof(buf));
	cr_assert_eq(frame_open(&cl, buf, n, 0, 0, &g), CG_FRAME_BAD_FDS);
	cr_assert_eq(frame_open(&cl, buf, n, 0, 1, &g), CG_FRAME_OK);
}

static enum cg_body_result
parse(const char *s)
{
	json_t *j = NULL;
	enum cg_body_result r = frame_parse_body(s, strlen(s), NULL, &j);

	json_decref(j);
	return r;
}

Test(body, valid_values)
{
	cr_assert_eq(parse("{\"a\":[1,2,{\"b\":null}]}"), CG_BODY_OK);
	cr_assert_eq(parse("\"\xe2\x82\xac \xf0\x9f\x98\x80\""), CG_BODY_OK);
	cr_assert_eq(parse("42"), CG_BODY_OK);
	cr_assert_eq(parse(""), CG_BODY_OK);
}

Test(body, malformed_json)
{
	cr_assert_eq(parse("{"), CG_BODY_BAD_JSON);
	cr_assert_eq(parse("{\"a\":1}x"), CG_BODY_BAD_JSON);
	cr_assert_eq(parse("{\"a\":1,\"a\":2}"), CG_BODY_BAD_JSON);
	cr_assert_eq(parse("\"a\\u0000b\""), CG_BODY_BAD_JSON);
}

Test(body, invalid_utf8)
{
	cr_assert_eq(parse("\"\xff\""), CG_BODY_BAD_UTF8);
	cr_assert_eq(parse("\"\xc0\xaf\""), CG_BODY_BAD_UTF8);        /* overlong '/' */
	cr_assert_eq(parse("\"\xed\xa0\x80\""), CG_BODY_BAD_UTF8);    /* surrogate */
	cr_assert_eq(parse("\"\xf4\x90\x80\x80\""), CG_BODY_BAD_UTF8); /* > U+10FFFF */
	cr_assert_eq(parse("\"\xe2\x82\""), CG_BODY_BAD_UTF8);        /* truncated */
	cr_assert_eq(parse("[1,\xe2\x82\xac]"), CG_BODY_BAD_UTF8);    /* outside a string */
}

Test(body, nesting_is_bounded_without_recursion)
{
	size_t depth = 100000;
	char *s = malloc(depth * 2 + 1);

	memset(s, '[', depth);
	memset(s + depth, ']', depth);
	s[depth * 2] = '\0';
	cr_assert_eq(parse(s), CG_BODY_TOO_DEEP);
	free(s);
	/* exactly the limit is fine, one more is not */
	char ok[2 * CG_JSON_DEFAULT_DEPTH + 1], bad[2 * CG_JSON_DEFAULT_DEPTH + 3];
	memset(ok, '[', CG_JSON_DEFAULT_DEPTH);
	memset(ok + CG_JSON_DEFAULT_DEPTH, ']', CG_JSON_DEFAULT_DEPTH);
	ok[2 * CG_JSON_DEFAULT_DEPTH] = '\0';
	cr_assert_eq(parse(ok), CG_BODY_OK);
	memset(bad, '[', CG_JSON_DEFAULT_DEPTH + 1);
	memset(bad + CG_JSON_DEFAULT_DEPTH + 1, ']', CG_JSON_DEFAULT_DEPTH + 1);
	bad[2 * CG_JSON_DEFAULT_DEPTH + 2] = '\0';
	cr_assert_eq(parse(bad), CG_BODY_TOO_DEEP);
	/* brackets inside strings do not count */
	cr_assert_eq(parse("\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\""), CG_BODY_OK);
}

Test(body, member_count_and_string_length_are_bounded)
{
	struct cg_json_limits lim = { 8, 10, 16 };
	json_t *j = NULL;
	const char *many = "[1,2,3,4,5,6,7,8,9,10,11,12]";
	const char *longstr = "\"abcdefghijklmnopqrstuvwxyz\"";

	cr_assert_eq(frame_parse_body(many, strlen(many), &lim, &j), CG_BODY_TOO_MANY);
	cr_assert_eq(frame_parse_body(longstr, strlen(longstr), &lim, &j),
	    CG_BODY_STRING_TOO_LONG);
	cr_assert_null(j);
}
