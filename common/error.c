#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
cg_error_clear(struct cg_error *err)
{
	if (err != NULL)
		memset(err, 0, sizeof(*err));
}

int
cg_error_set(struct cg_error *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void
cg_error_set_pointer(struct cg_error *err, const char *pointer)
{
	if (err != NULL)
		snprintf(err->pointer, sizeof(err->pointer), "%s", pointer);
}

void
cg_error_format(const struct cg_error *err, char *buf, size_t len)
{
	if (err->file[0] != '\0' && err->line > 0)
		snprintf(buf, len, "%s:%d:%d: %s", err->file, err->line,
		    err->column, err->msg);
	else if (err->file[0] != '\0')
		snprintf(buf, len, "%s: %s", err->file, err->msg);
	else
		snprintf(buf, len, "%s", err->msg);
}
