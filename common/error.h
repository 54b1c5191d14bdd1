/*
 * The error idiom of capgate's library code (policy/, audit/, sandbox/,
 * gateway/frame.c): functions return 0 on success and -1 on failure and fill
 * a struct cg_error that says what failed and where. Policy errors carry
 * file:line:column; schema errors carry the JSON pointer of the failing
 * instance location and the schema keyword. Process-level code turns an
 * error into a message with cg_error_format() and decides what to do.
 */
#ifndef CG_COMMON_ERROR_H
#define CG_COMMON_ERROR_H

#include <stddef.h>

struct cg_error {
	char file[256];     /* file being read, or "" */
	int line;           /* 1-based; 0 when unknown */
	int column;         /* 1-based; 0 when unknown */
	char pointer[2048]; /* JSON pointer of the failing location, or "" */
	char keyword[32];   /* schema keyword that failed, or "" */
	char msg[512];      /* what was wrong and what was expected */
};

/* Resets every field. Accepts NULL. */
void cg_error_clear(struct cg_error *err);

/* Sets err->msg (printf-style); leaves the location fields alone. Accepts a
 * NULL err. Always returns -1 so callers can write `return cg_error_set(...)`. */
int cg_error_set(struct cg_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Sets err->pointer. Accepts a NULL err. */
void cg_error_set_pointer(struct cg_error *err, const char *pointer);

/* "file:line:column: msg" (or the parts that are known) into buf. */
void cg_error_format(const struct cg_error *err, char *buf, size_t len);

#endif
