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

/* -1 if the log cannot be opened. */
static inline int
audit_lines_vcount(const char *audit, va_list ap)
{
	FILE *f = fopen(audit, "r");
	char *line = NULL;
	size_t cap = 0;
	int count = 0;

	if (f == NULL)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		va_list each;
		const char *s;
		int all = 1;

		va_copy(each, ap);
		while ((s = va_arg(each, const char *)) != NULL)
			if (strstr(line, s) == NULL)
				all = 0;
		va_end(each);
		count += all;
	}
	free(line);
	fclose(f);
	return count;
}

/* Lines of the log at audit containing every one of the NULL-terminated
 * strings that follow; -1 if it cannot be opened. */
static inline int
audit_lines_count(const char *audit, ...)
{
	va_list ap;
	int n;

	va_start(ap, audit);
	n = audit_lines_vcount(audit, ap);
	va_end(ap);
	return n;
}

#endif
