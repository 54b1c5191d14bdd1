/*
 * Counting audit log lines in tests: how many lines contain every one of
 * a NULL-terminated list of substrings. Used by the end-to-end tests
 * (through tests/e2e/harness.h) and the backend tests (tests/backend/bk.h).
 */
#ifndef CG_TESTS_AUDIT_LINES_H
#define CG_TESTS_AUDIT_LINES_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Lines of the log at audit containing every one of the NULL-terminated
 * strings that follow; -1 if it cannot be opened. */
static inline int
audit_lines_count(const char *audit, ...)
{
	FILE *f = fopen(audit, "r");
	char *line = NULL;
	size_t cap = 0;
	int count = 0;

	if (f == NULL)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		va_list ap;
		const char *s;
		int all = 1;

		va_start(ap, audit);
		while ((s = va_arg(ap, const char *)) != NULL)
			if (strstr(line, s) == NULL)
				all = 0;
		va_end(ap);
		count += all;
	}
	free(line);
	fclose(f);
	return count;
}

#endif
