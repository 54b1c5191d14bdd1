/*
 * The policy: what a front-end may do, loaded once from a JSON file and
 * immutable afterwards. Deny by default: a channel that is not declared, or
 * not granted to the client that asks, does not exist for that client.
 *
 * Every error names file:line:column and what was expected (the loader
 * keeps a JSON pointer for each failure and maps it to a position in the
 * file text). policy/ is pure: it reads the file and builds data; it never
 * spawns, sandboxes or opens sockets.
 */
#ifndef CG_POLICY_POLICY_H
#define CG_POLICY_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "common/error.h"

struct cg_schema;
struct cg_sandbox_config;

/* Channel kinds. These numbers cross into audit records by name only. */
enum cg_channel_kind {
	CG_CHAN_INVOKE = 1,      /* client asks, exactly one reply */
	CG_CHAN_SEND = 2,        /* client tells, no reply */
	CG_CHAN_EVENT = 3,       /* pushed to the client */
};

/* What serves a channel: a built-in handler, a backend process, or (for
 * client-to-client channels) another client. */
enum cg_route {
	CG_ROUTE_BUILTIN = 0,    /* "builtin:NAME" */
	CG_ROUTE_BACKEND = 1,    /* "NAME" of a declared backend */
	CG_ROUTE_CLIENT = 2,     /* "client:NAME" of a declared client */
};

struct cg_rate {
	double per_sec;          /* refill rate; 0 = unlimited */
	double burst;            /* bucket size */
};

struct cg_channel {
	char *name;
	enum cg_channel_kind kind;
	char *handler;           /* "builtin:NAME" or a backend name */
	struct cg_schema *request;   /* NULL = any JSON value */
	struct cg_schema *response;  /* NULL = any JSON value */
	uint32_t max_bytes;      /* frame cap for this channel */
	struct cg_rate rate;
	uint32_t max_inflight;   /* 0 = the global limit */
	uint32_t deadline_ms;
	uint32_t max_fds;        /* fds a backend's reply may carry ("fds") */
	uint32_t uses;           /* 0 = unlimited */
	int after;               /* first of after_all, or -1 */
	int until;               /* first of until_any, or -1 */
	/* Phases: the channel is usable once every channel in after_all has
	 * succeeded for this client, and until any channel in until_any has.
	 * Indices into cg_policy.channels; the loader checks that each is
	 * granted wherever this channel is, and that "after" has no cycle. */
	int32_t *after_all;
	uint32_t nafter;
	int32_t *until_any;
	uint32_t nuntil;
	bool has_max_bytes;      /* "max_bytes" was written (not the default) */
	bool has_burst;          /* "burst" was written (not the default) */
	struct cg_audit_channel audit;  /* what a decision record keeps of the payload */
	json_t *scope;           /* handler-specific scope object, or NULL */
	char *scope_root;        /* scope.root resolved against the policy's
	                          * directory, or NULL */
	enum cg_route route;     /* what serves the channel (from "to"/"from") */
	int target;              /* backend or client index for those routes */
	json_t *config;          /* the channel's policy object (borrowed view) */
};

struct cg_client_policy {
	char *name;
	json_t *grants;          /* array of glob patterns as written */
	int32_t *slot;           /* per channel: grant slot, or -1 (not granted) */
	uint32_t nslots;         /* number of granted channels */
	uint32_t *slot_channel;  /* per slot: channel index */
	json_t *exec;            /* argv launched with the command-line client, or NULL */
};

/* A trusted backend process (the "backends" section). */
struct cg_backend_policy {
	char *name;
	json_t *argv;            /* non-empty array of strings */
	json_t *env;             /* object NAME -> value, or NULL */
	json_t *pass;            /* variable names copied from the gateway, or NULL */
	char *cwd;               /* working directory (default: the policy's) */
	struct cg_sandbox_config *sandbox;   /* NULL: no sandbox of its own */
	uint32_t restart_max;    /* restarts before it is given up */
	uint32_t backoff_ms;     /* first restart delay; doubles each time */
};

struct cg_env_policy {
	json_t *pass;            /* array of variable names copied from the gateway's env */
	json_t *set;             /* object NAME -> value */
};

struct cg_limits {
	uint32_t frame_max;      /* global frame cap (<= CG_FRAME_MAX) */
	uint32_t json_depth;
	uint32_t json_members;
	uint32_t inflight;       /* in-flight invokes per client */
	uint32_t queue_bytes;    /* bytes queued toward a client before it is dropped */
	uint32_t handshake_ms;   /* time a client has to say HELLO */
	bool kill_on_violation;  /* a malformed frame or forged sender ends the client */
};

struct cg_policy {
	char *path;
	char *dir;               /* directory relative paths resolve against */
	char hash[65];           /* hex BLAKE2b-256 of the file bytes */
	json_t *doc;
	struct cg_channel *channels;
	size_t nchannels;
	uint32_t *index;         /* open-addressing name -> channel index + 1 */
	size_t index_cap;
	struct cg_client_policy *clients;
	size_t nclients;
	struct cg_backend_policy *backends;
	size_t nbackends;
	struct cg_env_policy env;
	struct cg_limits limits;
	struct cg_audit_config audit;
	struct cg_sandbox_config *sandbox;
};

/* Hook for the gateway: is this handler name known? Set before loading
 * (NULL = accept any "builtin:" name). Returns 0 if known. */
typedef int cg_handler_check_fn(const char *handler, const struct cg_channel *ch,
    struct cg_error *err);

/*
 * Loads and checks a policy file. Returns NULL on failure with err->file,
 * err->line and err->column pointing at the offending value. The result is
 * freed with policy_free(), which accepts NULL.
 */
struct cg_policy *policy_load(const char *path, cg_handler_check_fn *check,
    struct cg_error *err);
void policy_free(struct cg_policy *p);

/*
 * Like policy_load(), for `capgate policy check`: goes on after an error
 * wherever the rest of the file can still be checked on its own (the next
 * top-level section, definition, channel or client; grants and phases are
 * checked only once every channel loads) and calls report once per
 * distinct error, with its position, at most 100 times. Returns the policy
 * only if there was no error; otherwise NULL with err holding the first.
 */
typedef void policy_error_fn(void *ctx, const struct cg_error *err);
struct cg_policy *policy_load_all(const char *path, cg_handler_check_fn *check,
    policy_error_fn *report, void *ctx, struct cg_error *err);

/* The channel called name (not NUL-terminated), or -1. */
int policy_channel_index(const struct cg_policy *p, const char *name, size_t len);

/*
 * The grant check of the per-message path: the channel called name, if it
 * exists and cl is granted it. Returns its index and sets *slot to the
 * client's slot for it, or returns -1 (not found) or -2 (not granted).
 */
int policy_lookup_grant(const struct cg_policy *p,
    const struct cg_client_policy *cl, const char *name, size_t len,
    int32_t *slot);

/*
 * Warnings that do not stop a policy from loading (policy/lint.c): a
 * channel without a size limit, without a request schema, an object schema
 * that allows any extra member. Re-reads p->path to map JSON pointers to
 * line:column (positions are 0:0 if the file changed since it was loaded).
 * Calls warn once per warning; returns the number of warnings, or -1 with
 * err set if the file cannot be read.
 */
typedef void policy_warn_fn(void *ctx, const char *pointer, int line,
    int column, const char *msg);
int policy_lint(const struct cg_policy *p, policy_warn_fn *warn, void *ctx,
    struct cg_error *err);

/* The client policy called name, or NULL. */
const struct cg_client_policy *policy_client(const struct cg_policy *p,
    const char *name);

const char *policy_kind_name(enum cg_channel_kind kind);

/* The backend called name, or -1. */
int policy_backend_index(const struct cg_policy *p, const char *name);

#endif
