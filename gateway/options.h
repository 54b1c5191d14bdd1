/* Command-line options from a table, so every subcommand parses and
 * documents its options the same way. */
#ifndef CG_GATEWAY_OPTIONS_H
#define CG_GATEWAY_OPTIONS_H

#include <stdio.h>

struct cg_option {
	const char *name;        /* long name, without "--" */
	char short_name;         /* 0 for none */
	const char *arg;         /* argument placeholder, or NULL for a flag */
	const char *help;
};

/*
 * Parses argv[1..] against a table (terminated by a NULL name), stopping at
 * "--" or the first operand. on_option gets the table index and argument;
 * it returns 0, or -1 to stop. Returns the index of the first operand, or -1
 * on a usage error (already reported on stderr as "capgate CMD: ...").
 * "--help"/"-h" is always recognised and returns -2.
 */
int options_parse(const char *cmd, int argc, char **argv,
    const struct cg_option *table,
    int (*on_option)(void *ctx, int index, const char *arg), void *ctx);

/* Prints "usage: ..." and the option table. */
void options_usage(FILE *out, const char *usage, const char *summary,
    const struct cg_option *table);

#endif
