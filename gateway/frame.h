/*
 * The frame codec: the one module that touches raw message bytes.
 * Everything else works on a decoded, bounded struct cg_frame.
 *
 * A frame is one SOCK_SEQPACKET datagram:
 *
 *   header (64 bytes, little-endian) | channel name | JSON body
 *
 * See docs/PROTOCOL.md for the field table. Every length in the header is
 * checked against the datagram length and the caps below before anything
 * is allocated; a datagram must be exactly header + channel + body bytes.
 *
 * Integrity: each frame's 32-byte MAC field holds a SipHash-2-4-128 tag
 * over the datagram without that field, then 16 zero bytes.
 * The tag's key is derived per direction from the session key, so a frame
 * cannot be reflected back to its sender. Each direction numbers its frames
 * 1, 2, 3, ...; a frame whose sequence number is not the next one is
 * rejected, so a replayed, dropped or reordered frame never reaches the JSON
 * parser.
 */
#ifndef CG_GATEWAY_FRAME_H
#define CG_GATEWAY_FRAME_H

#include <jansson.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#define CG_PROTO_MAGIC 0x31574743u    /* "CGW1" as little-endian bytes */
#define CG_PROTO_VERSION 3
#define CG_FRAME_HEADER_LEN 64
#define CG_FRAME_MAC_LEN 32           /* the header's MAC field */
#define CG_FRAME_TAG_LEN 16           /* SipHash-2-4-128 tag, then 16 zeros */
#define CG_FRAME_MAC_KEY_LEN 16       /* per-direction SipHash key */
#define CG_FRAME_MAC_LABEL "capgate frame mac" /* + direction byte */
#define CG_FRAME_MAX (64u * 1024u)    /* global cap on a whole datagram */
#define CG_CHANNEL_MAX 128            /* longest channel name */
#define CG_FRAME_MAX_FDS 4            /* fds one frame may carry */
#define CG_SESSION_KEY_LEN 32

/* Message types. These numbers cross a process boundary: never renumber,
 * never reuse a retired one. */
enum cg_msg_type {
	CG_MSG_HELLO = 1,        /* client -> gateway, first frame */
	CG_MSG_WELCOME = 2,      /* gateway -> client, answer to HELLO */
	CG_MSG_INVOKE = 3,       /* request expecting exactly one REPLY or ERROR */
	CG_MSG_SEND = 4,         /* one-way request, no reply */
	CG_MSG_REPLY = 5,        /* successful answer to INVOKE */
	CG_MSG_ERROR = 6,        /* failed answer to INVOKE or HELLO; status set */
	CG_MSG_EVENT = 7,        /* pushed to the client */
	CG_MSG_SUBSCRIBE = 8,    /* client asks for an event channel */
	CG_MSG_UNSUBSCRIBE = 9,
	CG_MSG_TYPE_MAX_ = 9,
};

/* Header flags. */
#define CG_FLAG_FDS 0x0001u      /* frame carries nfds fds (SCM_RIGHTS) */
#define CG_FLAG_MASK_ 0x0001u

/* The closed set of error codes a client may see (status of an ERROR
 * frame). The reason behind each goes to the audit log, never to the client.
 * Never renumber. */
enum cg_status {
	CG_STATUS_OK = 0,
	CG_STATUS_DENIED = 1,       /* not granted, not found, scope, phase, use */
	CG_STATUS_INVALID = 2,      /* payload failed the channel's schema */
	CG_STATUS_LIMITED = 3,      /* rate or in-flight limit */
	CG_STATUS_TIMEOUT = 4,      /* handler missed its deadline */
	CG_STATUS_UNAVAILABLE = 5,  /* handler or audit log unavailable */
	CG_STATUS_FAILED = 6,       /* handler failed, or its reply broke the schema */
	CG_STATUS_PROTOCOL = 7,     /* malformed or unauthenticated frame */
	CG_STATUS_MAX_ = 7,
};

/* Which way a frame travels; part of the MAC input so a frame cannot be
 * reflected back to its sender. */
enum cg_direction {
	CG_DIR_TO_GATEWAY = 1,
	CG_DIR_TO_CLIENT = 2,
};

/* Why a datagram was rejected. */
enum cg_frame_result {
	CG_FRAME_OK = 0,
	CG_FRAME_SHORT,          /* shorter than a header */
	CG_FRAME_TOO_BIG,        /* over the cap */
	CG_FRAME_BAD_MAGIC,
	CG_FRAME_BAD_VERSION,
	CG_FRAME_BAD_TYPE,
	CG_FRAME_BAD_FLAGS,      /* unknown flag bit or nonzero reserved field */
	CG_FRAME_BAD_LENGTH,     /* header lengths disagree with the datagram */
	CG_FRAME_BAD_CHANNEL,    /* empty where required, too long, bad bytes */
	CG_FRAME_BAD_MAC,
	CG_FRAME_BAD_SEQ,        /* replayed, skipped or reordered */
	CG_FRAME_BAD_FDS,        /* fd count disagrees with what arrived */
};

/* A decoded frame; channel and body point into the datagram buffer. */
struct cg_frame {
	uint8_t type;
	uint16_t flags;
	uint32_t request_id;
	uint16_t status;
	uint8_t nfds;
	uint64_t seq;
	const char *channel;     /* not NUL-terminated */
	size_t channel_len;
	const char *body;        /* not NUL-terminated */
	size_t body_len;
};

/*
 * One end of an authenticated session. Wipe with frame_session_wipe().
 *
 * Each direction has its own SipHash key, derived once from the session key
 * (docs/PROTOCOL.md, "MAC and sequence numbers").
 */
struct cg_frame_session {
	unsigned char key_send[CG_FRAME_MAC_KEY_LEN];  /* our direction */
	unsigned char key_recv[CG_FRAME_MAC_KEY_LEN];  /* the peer's */
	uint64_t send_seq;       /* sequence number of the last frame sent */
	uint64_t recv_seq;       /* sequence number of the last frame accepted */
	uint8_t send_dir;        /* enum cg_direction of frames this end sends */
};

/* Initialises a session; is_gateway picks the directions. */
void frame_session_init(struct cg_frame_session *s, const unsigned char *key,
    int is_gateway);
void frame_session_wipe(struct cg_frame_session *s);

/*
 * Checks a received datagram of len bytes against the global cap and cap
 * (the smaller one wins), decodes its header into out, verifies the MAC and
 * that its sequence number is the next one. nfds_received is how many fds
 * arrived with it. On CG_FRAME_OK the session's receive counter advances;
 * on any failure the session is unchanged. buf is written to while the MAC
 * is computed (its MAC field is hashed as zeros) and is as it was after.
 */
enum cg_frame_result frame_open(struct cg_frame_session *s,
    unsigned char *buf, size_t len, size_t cap, unsigned nfds_received,
    struct cg_frame *out);

/* Header-only decode, without MAC or sequence checks (tests, tools). */
enum cg_frame_result frame_decode(const unsigned char *buf, size_t len,
    size_t cap, struct cg_frame *out);

/*
 * Encodes f (its seq field is ignored: the session assigns the next one)
 * into buf, computes the MAC, and advances the send counter. Returns the
 * datagram length, or 0 if it does not fit in cap bytes or f is malformed.
 */
size_t frame_seal(struct cg_frame_session *s, const struct cg_frame *f,
    unsigned char *buf, size_t cap);

const char *frame_result_name(enum cg_frame_result r);
const char *frame_status_name(enum cg_status st);
const char *frame_type_name(uint8_t type);

/* Limits on a JSON body, checked on the bytes before they are parsed. */
struct cg_json_limits {
	unsigned max_depth;      /* nesting of arrays and objects */
	unsigned max_members;    /* total values in the document */
	size_t max_string;       /* longest string, in bytes */
};

#define CG_JSON_DEFAULT_DEPTH 32
#define CG_JSON_DEFAULT_MEMBERS 4096

enum cg_body_result {
	CG_BODY_OK = 0,
	CG_BODY_EMPTY,           /* no body where one is needed */
	CG_BODY_TOO_DEEP,
	CG_BODY_TOO_MANY,
	CG_BODY_STRING_TOO_LONG,
	CG_BODY_BAD_UTF8,
	CG_BODY_BAD_JSON,
};

/*
 * Parses a frame body as one JSON value (any type, no trailing bytes) after
 * checking it against the limits on the raw bytes, so a 10,000-deep array is
 * rejected without recursion. An empty body parses as JSON null. On
 * CG_BODY_OK *out is a new reference the caller releases.
 */
enum cg_body_result frame_parse_body(const char *body, size_t len,
    const struct cg_json_limits *lim, json_t **out);
const char *frame_body_result_name(enum cg_body_result r);

/*
 * The two halves of frame_parse_body (gateway/json_parse.c), public for
 * tests and benchmarks. frame_body_scan checks the raw bytes against lim,
 * UTF-8 included; frame_body_build parses bytes that frame_body_scan has
 * passed (it does not check UTF-8 again) into a new reference the caller
 * releases, or returns NULL where json_loadb with JSON_DECODE_ANY |
 * JSON_REJECT_DUPLICATES would fail.
 */
enum cg_body_result frame_body_scan(const char *body, size_t len,
    const struct cg_json_limits *lim);
json_t *frame_body_build(const char *body, size_t len);

/* True if the bytes are a valid channel name: 1..CG_CHANNEL_MAX of
 * [A-Za-z0-9._:/-]. */
int frame_channel_valid(const char *name, size_t len);

#endif
