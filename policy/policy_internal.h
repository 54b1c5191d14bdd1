/* Shared by the policy loader's files; not part of the public interface. */
#ifndef CG_POLICY_INTERNAL_H
#define CG_POLICY_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "policy/policy.h"

struct cg_jsonpos;

#define POL_ERRORS_MAX 100

struct pol_ctx {
	struct cg_policy *p;
	struct cg_error *err;
	cg_handler_check_fn *check;
	bool defs_have_ids;      /* a definition declares "$id" somewhere */
	/* Collect mode (policy_load_all): errors are reported and loading
	 * goes on with the next item; report is NULL otherwise. */
	policy_error_fn *report;
	void *report_ctx;
	const char *text;        /* the file, for positions */
	size_t len;
	struct cg_jsonpos *pos;  /* built on the first error */
	unsigned nerrors;
	struct cg_error first;
	uint64_t seen[POL_ERRORS_MAX];  /* reported errors, to drop repeats */
};

/* Records an error at pointer; returns -1. */
int pol_fail(struct pol_ctx *c, const char *pointer, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * After an error in one item of a section (a definition, a channel, a
 * client, a top-level section): in collect mode reports it and returns 0
 * so the caller goes on with the next item; otherwise returns -1 (stop).
 */
int pol_next(struct pol_ctx *c);
/*
 * Calls visit(ctx, schema, pointer) for s and every subschema below it
 * (not data inside "const", "enum" or "default"; not below a "$ref", whose
 * siblings draft-07 ignores), depth-first to max_depth; returns the first
 * nonzero result of visit, or 0.
 */
typedef int pol_schema_visit_fn(void *ctx, const json_t *s, const char *at);
int pol_walk_schema(const json_t *s, const char *at, int depth, int max_depth,
    pol_schema_visit_fn *visit, void *ctx);
/* base + "/" + token, with token escaped as a JSON pointer segment. */
void pol_pointer(char *out, size_t len, const char *base, const char *token);
/* Fails on the first key of obj not in the NULL-terminated allowed list. */
int pol_check_keys(struct pol_ctx *c, json_t *obj, const char *pointer,
    const char *const *allowed);
/* Optional typed members: absent leaves *out alone. */
int pol_get_uint(struct pol_ctx *c, json_t *obj, const char *pointer,
    const char *key, uint64_t min, uint64_t max, uint32_t *out);
int pol_get_bool(struct pol_ctx *c, json_t *obj, const char *pointer,
    const char *key, bool *out);
/* Optional string member; out may be NULL to check the type only. */
int pol_get_string(struct pol_ctx *c, json_t *obj, const char *pointer,
    const char *key, const char **out);
int pol_get_string_array(struct pol_ctx *c, json_t *obj,
    const char *pointer, const char *key, json_t **out);

struct cg_schema;
/* Compiles obj[key] (absent: *out stays NULL) found at pointer at; chan is
 * the channel's name, or NULL for a definition. */
int pol_compile_schema(struct pol_ctx *c, json_t *obj, const char *at,
    const char *chan, const char *key, struct cg_schema **out);

int policy_parse_channels(struct pol_ctx *c, json_t *channels);
int policy_resolve_phases(struct pol_ctx *c);
int policy_parse_clients(struct pol_ctx *c, json_t *clients);
int policy_parse_backends(struct pol_ctx *c, json_t *backends);
int policy_resolve_routes(struct pol_ctx *c);
void policy_free_backends(struct cg_policy *p);
int policy_parse_definitions(struct pol_ctx *c, json_t *defs);
int policy_parse_audit(struct pol_ctx *c, json_t *audit);
void policy_free_audit(struct cg_policy *p);

#endif
