/*
 * Handlers: the trusted code behind a channel. Each is an entry in one
 * table (OpenSSH's mon_dispatch idea): the channel kinds it serves, a check
 * run once at policy load (its scope is valid), and a run function that
 * gets a request that has already passed every policy check.
 */
#ifndef CG_GATEWAY_HANDLERS_H
#define CG_GATEWAY_HANDLERS_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"
#include "gateway/frame.h"
#include "policy/policy.h"

struct cg_gateway;

/* A request as a handler sees it: validated, with the verified caller. */
struct cg_call {
	struct cg_gateway *gw;
	const char *client;      /* verified client name */
	pid_t pid;               /* verified client pid */
	const struct cg_channel *channel;
	json_t *args;            /* parsed, schema-valid request body */
	const char *body;        /* the same body as bytes */
	size_t body_len;
};

/*
 * What a handler produced. Exactly one of data (a new reference) or raw
 * (bytes known to be the JSON text of args, so they can be forwarded
 * without re-serialising) is set on success; on failure status is set.
 */
struct cg_result {
	enum cg_status status;
	json_t *data;
	const json_t *raw_json;  /* the value raw encodes (for the response schema) */
	const char *raw;
	size_t raw_len;
	int fds[CG_FRAME_MAX_FDS];
	unsigned nfds;
	const char *reason;      /* for the audit log when status != OK */
};

#define CG_KIND_BIT(k) (1u << (k))

struct cg_handler {
	const char *name;
	unsigned kinds;          /* CG_KIND_BIT() of the channel kinds served */
	int (*check)(const struct cg_channel *ch, struct cg_error *err);
	void (*run)(const struct cg_call *call, struct cg_result *res);
};

/* gateway/fs.c: the scoped file built-ins, and their scope root fds
 * (opened once when the gateway starts, one per fs channel). */
#define FS_HANDLERS 5
extern const struct cg_handler fs_handlers[FS_HANDLERS];
int fs_open_scopes(struct cg_gateway *gw, struct cg_error *err);
void fs_close_scopes(struct cg_gateway *gw);

/* The handler called name, or NULL. */
const struct cg_handler *handler_find(const char *name);

/* Policy-load hook: the handler exists and accepts the channel. */
int handler_check(const char *name, const struct cg_channel *ch,
    struct cg_error *err);

#endif
