/*
 * The frame codec. See frame.h for the format and docs/PROTOCOL.md for the
 * rationale. Every check here runs before the gateway allocates anything for
 * the frame; the order is: size, header fields, lengths, channel bytes, MAC,
 * sequence number.
 */
#include "gateway/frame.h"

#include <sodium.h>
#include <string.h>

_Static_assert(CG_FRAME_MAC_LEN == crypto_verify_32_BYTES,
    "the MAC field is compared with crypto_verify_32");
_Static_assert(CG_FRAME_TAG_LEN == crypto_shorthash_siphashx24_BYTES &&
    CG_FRAME_MAC_KEY_LEN == crypto_shorthash_siphashx24_KEYBYTES,
    "the tag is SipHash-2-4-128");

static uint16_t
get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void
put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void
put32(unsigned char *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void
put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* The direction's SipHash key: BLAKE2b-128 keyed with the session key over
 * the label and the direction byte, so the two directions' keys are
 * independent and neither reveals the session key. */
static void
mac_key(unsigned char out[CG_FRAME_MAC_KEY_LEN], const unsigned char *key,
    uint8_t dir)
{
	static const char label[] = CG_FRAME_MAC_LABEL;
	unsigned char in[sizeof(label)];

	memcpy(in, label, sizeof(label) - 1);
	in[sizeof(label) - 1] = dir;
	crypto_generichash_blake2b(out, CG_FRAME_MAC_KEY_LEN, in, sizeof(in),
	    key, CG_SESSION_KEY_LEN);
}

void
frame_session_init(struct cg_frame_session *s, const unsigned char *key,
    int is_gateway)
{
	s->send_dir = is_gateway ? CG_DIR_TO_CLIENT : CG_DIR_TO_GATEWAY;
	mac_key(s->key_send, key, s->send_dir);
	mac_key(s->key_recv, key, is_gateway ? CG_DIR_TO_GATEWAY :
	    CG_DIR_TO_CLIENT);
	s->send_seq = 0;
	s->recv_seq = 0;
}

void
frame_session_wipe(struct cg_frame_session *s)
{
	sodium_memzero(s, sizeof(*s));
}

int
frame_channel_valid(const char *name, size_t len)
{
	if (len == 0 || len > CG_CHANNEL_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == ':' || c == '/' || c == '-')
			continue;
		return 0;
	}
	return 1;
}

/* Types whose frames name a channel. */
static int
type_has_channel(uint8_t type)
{
	switch (type) {
	case CG_MSG_INVOKE:
	case CG_MSG_SEND:
	case CG_MSG_EVENT:
	case CG_MSG_SUBSCRIBE:
	case CG_MSG_UNSUBSCRIBE:
		return 1;
	default:
		return 0;
	}
}

enum cg_frame_result
frame_decode(const unsigned char *buf, size_t len, size_t cap,
    struct cg_frame *out)
{
	uint32_t body_len;
	uint16_t chan_len;

	if (cap == 0 || cap > CG_FRAME_MAX)
		cap = CG_FRAME_MAX;
	if (len < CG_FRAME_HEADER_LEN)
		return CG_FRAME_SHORT;
	if (len > cap)
		return CG_FRAME_TOO_BIG;
	if (get32(buf) != CG_PROTO_MAGIC)
		return CG_FRAME_BAD_MAGIC;
	if (buf[4] != CG_PROTO_VERSION)
		return CG_FRAME_BAD_VERSION;
	if (buf[5] == 0 || buf[5] > CG_MSG_TYPE_MAX_)
		return CG_FRAME_BAD_TYPE;

	memset(out, 0, sizeof(*out));
	out->type = buf[5];
	out->flags = get16(buf + 6);
	out->request_id = get32(buf + 8);
	chan_len = get16(buf + 12);
	out->status = get16(buf + 14);
	body_len = get32(buf + 16);
	out->nfds = buf[20];
	out->seq = get64(buf + 24);

	if ((out->flags & ~CG_FLAG_MASK_) != 0 || buf[21] != 0 ||
	    buf[22] != 0 || buf[23] != 0)
		return CG_FRAME_BAD_FLAGS;
	if (((out->flags & CG_FLAG_FDS) != 0) != (out->nfds != 0) ||
	    out->nfds > CG_FRAME_MAX_FDS)
		return CG_FRAME_BAD_FLAGS;
	if (out->type == CG_MSG_ERROR ? (out->status == 0 ||
	    out->status > CG_STATUS_MAX_) : out->status != 0)
		return CG_FRAME_BAD_FLAGS;
	/* Exact size: the datagram is the header, the channel and the body,
	 * nothing more and nothing less (sizes compared in 64 bits, so a huge
	 * body_len cannot wrap). */
	if ((uint64_t)CG_FRAME_HEADER_LEN + chan_len + body_len != len)
		return CG_FRAME_BAD_LENGTH;
	if (type_has_channel(out->type) ?
	    !frame_channel_valid((const char *)buf + CG_FRAME_HEADER_LEN,
	    chan_len) : chan_len != 0)
		return CG_FRAME_BAD_CHANNEL;

	out->channel = (const char *)buf + CG_FRAME_HEADER_LEN;
	out->channel_len = chan_len;
	out->body = out->channel + chan_len;
	out->body_len = body_len;
	return CG_FRAME_OK;
}

/*
 * The MAC field of buf: SipHash-2-4-128 under k over the datagram without
 * its MAC field (bytes 0..32, then 64..len), then 16 reserved bytes, zero.
 * The first 32 bytes are copied over the field so that the input is one
 * run, buf + 32; the field is put back after, so buf is unchanged.
 */
static void
frame_mac(const unsigned char k[CG_FRAME_MAC_KEY_LEN], unsigned char *buf,
    size_t len, unsigned char field[CG_FRAME_MAC_LEN])
{
	unsigned char saved[CG_FRAME_MAC_LEN];

	memcpy(saved, buf + 32, CG_FRAME_MAC_LEN);
	memcpy(buf + 32, buf, 32);
	crypto_shorthash_siphashx24(field, buf + 32, len - 32, k);
	memset(field + CG_FRAME_TAG_LEN, 0, CG_FRAME_MAC_LEN - CG_FRAME_TAG_LEN);
	memcpy(buf + 32, saved, CG_FRAME_MAC_LEN);
}

enum cg_frame_result
frame_open(struct cg_frame_session *s, unsigned char *buf, size_t len,
    size_t cap, unsigned nfds_received, struct cg_frame *out)
{
	unsigned char mac[CG_FRAME_MAC_LEN];
	enum cg_frame_result r;

	r = frame_decode(buf, len, cap, out);
	if (r != CG_FRAME_OK)
		return r;
	frame_mac(s->key_recv, buf, len, mac);
	/* the tag and the reserved zeros, in constant time */
	if (crypto_verify_32(mac, buf + 32) != 0)
		return CG_FRAME_BAD_MAC;
	if (out->seq != s->recv_seq + 1)
		return CG_FRAME_BAD_SEQ;
	if (out->nfds != nfds_received)
		return CG_FRAME_BAD_FDS;
	s->recv_seq = out->seq;
	return CG_FRAME_OK;
}

size_t
frame_seal(struct cg_frame_session *s, const struct cg_frame *f,
    unsigned char *buf, size_t cap)
{
	size_t len = CG_FRAME_HEADER_LEN + f->channel_len + f->body_len;
	unsigned char mac[CG_FRAME_MAC_LEN];

	if (cap > CG_FRAME_MAX)
		cap = CG_FRAME_MAX;
	if (len > cap || f->channel_len > CG_CHANNEL_MAX ||
	    f->body_len > CG_FRAME_MAX || f->nfds > CG_FRAME_MAX_FDS)
		return 0;
	put32(buf, CG_PROTO_MAGIC);
	buf[4] = CG_PROTO_VERSION;
	buf[5] = f->type;
	put16(buf + 6, (uint16_t)(f->flags | (f->nfds ? CG_FLAG_FDS : 0)));
	put32(buf + 8, f->request_id);
	put16(buf + 12, (uint16_t)f->channel_len);
	put16(buf + 14, f->status);
	put32(buf + 16, (uint32_t)f->body_len);
	buf[20] = f->nfds;
	buf[21] = buf[22] = buf[23] = 0;
	put64(buf + 24, s->send_seq + 1);
	/* memmove: callers may build the body in place after the header. */
	if (f->channel_len > 0)
		memmove(buf + CG_FRAME_HEADER_LEN, f->channel, f->channel_len);
	if (f->body_len > 0)
		memmove(buf + CG_FRAME_HEADER_LEN + f->channel_len, f->body,
		    f->body_len);
	frame_mac(s->key_send, buf, len, mac);
	memcpy(buf + 32, mac, CG_FRAME_MAC_LEN);
	s->send_seq++;
	return len;
}

const char *
frame_result_name(enum cg_frame_result r)
{
	static const char *const names[] = {
		[CG_FRAME_OK] = "ok",
		[CG_FRAME_SHORT] = "frame-short",
		[CG_FRAME_TOO_BIG] = "frame-too-big",
		[CG_FRAME_BAD_MAGIC] = "frame-bad-magic",
		[CG_FRAME_BAD_VERSION] = "frame-bad-version",
		[CG_FRAME_BAD_TYPE] = "frame-bad-type",
		[CG_FRAME_BAD_FLAGS] = "frame-bad-flags",
		[CG_FRAME_BAD_LENGTH] = "frame-bad-length",
		[CG_FRAME_BAD_CHANNEL] = "frame-bad-channel",
		[CG_FRAME_BAD_MAC] = "frame-bad-mac",
		[CG_FRAME_BAD_SEQ] = "frame-bad-seq",
		[CG_FRAME_BAD_FDS] = "frame-bad-fds",
	};
	return (size_t)r < sizeof(names) / sizeof(names[0]) && names[r] ?
	    names[r] : "frame-unknown";
}

const char *
frame_status_name(enum cg_status st)
{
	static const char *const names[] = {
		[CG_STATUS_OK] = "ok",
		[CG_STATUS_DENIED] = "denied",
		[CG_STATUS_INVALID] = "invalid",
		[CG_STATUS_LIMITED] = "limited",
		[CG_STATUS_TIMEOUT] = "timeout",
		[CG_STATUS_UNAVAILABLE] = "unavailable",
		[CG_STATUS_FAILED] = "failed",
		[CG_STATUS_PROTOCOL] = "protocol",
	};
	return (size_t)st < sizeof(names) / sizeof(names[0]) && names[st] ?
	    names[st] : "unknown";
}

const char *
frame_type_name(uint8_t type)
{
	static const char *const names[] = {
		[CG_MSG_HELLO] = "hello",
		[CG_MSG_WELCOME] = "welcome",
		[CG_MSG_INVOKE] = "invoke",
		[CG_MSG_SEND] = "send",
		[CG_MSG_REPLY] = "reply",
		[CG_MSG_ERROR] = "error",
		[CG_MSG_EVENT] = "event",
		[CG_MSG_SUBSCRIBE] = "subscribe",
		[CG_MSG_UNSUBSCRIBE] = "unsubscribe",
	};
	return type < sizeof(names) / sizeof(names[0]) && names[type] ?
	    names[type] : "unknown";
}
