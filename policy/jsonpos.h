/*
 * Positions of values in JSON text, keyed by JSON pointer, so that an error
 * found on the parsed document can name file:line:column.
 */
#ifndef CG_POLICY_JSONPOS_H
#define CG_POLICY_JSONPOS_H

#include <stddef.h>

struct cg_jsonpos;

/* Indexes text (already known to be valid JSON). NULL on failure. */
struct cg_jsonpos *jsonpos_index(const char *text, size_t len);
/* Position of the value at pointer, or of its nearest existing ancestor.
 * Returns 0, or -1 if nothing matched. */
int jsonpos_lookup(const struct cg_jsonpos *pos, const char *pointer,
    int *line, int *col);
void jsonpos_free(struct cg_jsonpos *pos);

#endif
