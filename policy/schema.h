/*
 * JSON Schema draft-07 validator over jansson.
 *
 * A schema is compiled once (at policy load) into an immutable validator
 * tree; validating a message walks that tree and never re-reads the schema
 * document. Compilation resolves every $ref (local JSON pointers, $id base
 * URIs, and remote URIs only through the caller's local map: nothing is
 * ever fetched over the network), detects $ref cycles that would not consume
 * input, and compiles every "pattern" with PCRE2 (match limits set).
 *
 * Ownership: schema_compile() does not take ownership of the documents it
 * is given; it keeps its own references. schema_free() accepts NULL.
 * A compiled schema is safe to use from one thread at a time.
 */
#ifndef CG_POLICY_SCHEMA_H
#define CG_POLICY_SCHEMA_H

#include <jansson.h>
#include <stdbool.h>

#include "common/error.h"

struct cg_schema;

struct cg_schema_options {
	/*
	 * The document the schema lives in. "$ref": "#/definitions/x" resolves
	 * against it. NULL means the schema itself is the document root.
	 */
	json_t *root;
	/* JSON pointer of the schema inside root ("" for the root itself). */
	const char *pointer;
	/* Base URI of root, or NULL. */
	const char *base_uri;
	/*
	 * Local map for remote references: a JSON object whose keys are
	 * absolute URIs (without fragment) and whose values are the schema
	 * documents. NULL for none; an unmapped remote $ref is a compile error.
	 */
	json_t *remotes;
	/* Assert "format" (true for capgate policies; the official test suite's
	 * optional/format tests also assume it). */
	bool assert_format;
};

/*
 * Compiles a schema. On failure returns NULL and fills err: err->pointer is
 * the JSON pointer (inside root) of the offending schema location and
 * err->msg says what was expected.
 */
struct cg_schema *schema_compile(json_t *schema,
    const struct cg_schema_options *opts, struct cg_error *err);

/*
 * Validates an instance. Returns 0 if valid, -1 if invalid; on -1 err->pointer
 * is the JSON pointer of the failing instance location, err->keyword the
 * schema keyword that failed, err->msg a short reason. err may be NULL
 * (faster: validation then stops at the first failure without formatting).
 */
int schema_validate(const struct cg_schema *schema, const json_t *instance,
    struct cg_error *err);

void schema_free(struct cg_schema *schema);

#endif
