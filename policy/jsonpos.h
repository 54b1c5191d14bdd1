/*
 * Source positions of JSON values by JSON pointer. jansson reports a
 * position only for syntax errors; error messages about a value that parsed
 * fine (a schema that does not compile, a bad policy key) still need to say
 * file:line:column, so the text is scanned once more and the start of every
 * value is indexed by its pointer.
 *
 * Ownership: jsonpos_index() copies what it needs; the text may be freed
 * afterwards. jsonpos_free() accepts NULL.
 */
#ifndef CG_POLICY_JSONPOS_H
#define CG_POLICY_JSONPOS_H

#include <stddef.h>

struct cg_jsonpos;

/*
 * Indexes text, which must be valid JSON (one value, e.g. already parsed by
 * jansson). Returns NULL on malformed input or out of memory. Lines are
 * 1-based; columns are 1-based and count code points, as jansson's do.
 * Duplicate object keys: the last occurrence wins, as in jansson.
 */
struct cg_jsonpos *jsonpos_index(const char *text, size_t len);

/*
 * Position of the value at pointer (RFC 6901, e.g. "/channels/a~1b/0").
 * Returns 0 when the pointer names a value, 1 when it does not and the
 * nearest existing ancestor's position was returned instead (a pointer that
 * does not start with '/' falls back to the root), -1 for an empty index.
 */
int jsonpos_lookup(const struct cg_jsonpos *pos, const char *pointer,
    int *line, int *col);

void jsonpos_free(struct cg_jsonpos *pos);

#endif
