/*
 * Writes seed inputs for the frame and body harnesses: well-formed frames
 * of every type sealed under the fuzzers' fixed key (with the control byte
 * fuzz_frame.c expects in front), and bodies with the limits header
 * fuzz_body.c expects. Usage: gen-seeds FRAME_DIR BODY_DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/frame.h"

static unsigned char key[CG_SESSION_KEY_LEN];

static void
write_file(const char *dir, const char *name, unsigned char ctl,
    const void *buf, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(&ctl, 1, 1, f) != 1 ||
	    (len > 0 && fwrite(buf, 1, len, f) != len) || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void
frame(const char *dir, const char *name, unsigned char ctl, uint8_t type,
    const char *channel, const char *body, uint16_t status, uint8_t nfds)
{
	static unsigned char buf[CG_FRAME_MAX];
	struct cg_frame_session s;
	struct cg_frame f = { 0 };
	size_t n;

	/* ctl bit 1 set: a frame to the client, sealed by the gateway */
	frame_session_init(&s, key, (ctl & 2) != 0);
	f.type = type;
	f.request_id = 7;
	f.channel = channel;
	f.channel_len = channel ? strlen(channel) : 0;
	f.body = body;
	f.body_len = body ? strlen(body) : 0;
	f.status = status;
	f.nfds = nfds;
	n = frame_seal(&s, &f, buf, sizeof(buf));
	if (n == 0) {
		fprintf(stderr, "gen-seeds: cannot seal %s\n", name);
		exit(1);
	}
	write_file(dir, name, ctl, buf, n);
}

static void
body(const char *dir, const char *name, const char *text)
{
	unsigned char hdr[5] = { 31, 0x00, 0x10, 0x00, 0x04 };
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(hdr, 1, 5, f) != 5 ||
	    fwrite(text, 1, strlen(text), f) != strlen(text) || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	static const char *const bodies[] = {
		"{\"version\":3}", "\"hi there\"", "[1,2,[3,{\"a\":null}]]",
		"{\"text\":\"caf\\u00e9 \\ud83d\\ude00\",\"n\":-1.5e10}",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
		"\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "true", "",
		"{\"a\":1,\"a\":2}", "\"\\u0000\"",
	};
	char name[64];

	if (argc != 3)
		return 2;
	memset(key, 0x42, sizeof(key));
	frame(argv[1], "hello", 1, CG_MSG_HELLO, NULL, "{\"version\":3}", 0, 0);
	frame(argv[1], "welcome", 3, CG_MSG_WELCOME, NULL,
	    "{\"version\":3,\"client\":\"main\",\"frame_max\":65536}", 0, 0);
	frame(argv[1], "invoke", 1, CG_MSG_INVOKE, "demo:echo",
	    "{\"text\":\"hi\"}", 0, 0);
	frame(argv[1], "invoke-fds", 1 | (2 << 2), CG_MSG_INVOKE, "file:read",
	    "\"a\"", 0, 2);
	frame(argv[1], "send", 1, CG_MSG_SEND, "app:log", "\"line\"", 0, 0);
	frame(argv[1], "reply", 3, CG_MSG_REPLY, NULL, "[1,2,3]", 0, 0);
	frame(argv[1], "error", 3, CG_MSG_ERROR, NULL, NULL, CG_STATUS_DENIED, 0);
	frame(argv[1], "event", 3, CG_MSG_EVENT, "notes:changed", "{}", 0, 0);
	frame(argv[1], "subscribe", 1, CG_MSG_SUBSCRIBE, "notes:changed", NULL, 0, 0);
	frame(argv[1], "small-cap", 1 | 0x20, CG_MSG_INVOKE, "a", "0", 0, 0);
	frame(argv[1], "unmacd", 0, CG_MSG_INVOKE, "x/y-z_1.2:3", "null", 0, 0);
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		snprintf(name, sizeof(name), "body-%zu", i);
		body(argv[2], name, bodies[i]);
	}
	return 0;
}
