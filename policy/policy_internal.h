/* Shared by the policy loader's files; not part of the public interface. */
#ifndef CG_POLICY_INTERNAL_H
#define CG_POLICY_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "policy/policy.h"

struct pol_ctx {
	struct cg_policy *p;
	struct cg_error *err;
	cg_handler_check_fn *check;
};

/* Records an error at pointer; returns -1. */
int pol_fail(struct pol_ctx *c, const char *pointer, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
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
int pol_get_string_array(struct pol_ctx *c, json_t *obj,
    const char *pointer, const char *key, json_t **out);

int policy_parse_channels(struct pol_ctx *c, json_t *channels);
int policy_resolve_phases(struct pol_ctx *c);
int policy_parse_clients(struct pol_ctx *c, json_t *clients);
int policy_parse_backends(struct pol_ctx *c, json_t *backends);
int policy_resolve_routes(struct pol_ctx *c);
void policy_free_backends(struct cg_policy *p);
int policy_parse_audit(struct pol_ctx *c, json_t *audit);
void policy_free_audit(struct cg_policy *p);

#endif
