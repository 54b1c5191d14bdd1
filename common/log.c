#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const char *progname = "capgate";
static int verbose;

void
cg_log_init(const char *name)
{
	progname = name;
}

void
cg_log_set_verbose(int v)
{
	verbose = v;
}

static void
vlog(const char *level, const char *func, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", progname, level);
	if (verbose)
		fprintf(stderr, "%s: ", func);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
cg_fatal_(const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("", func, fmt, ap);
	va_end(ap);
	exit(2);
}

void
cg_log_warn_(const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("warning: ", func, fmt, ap);
	va_end(ap);
}

void
cg_log_debug_(const char *func, const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	vlog("debug: ", func, fmt, ap);
	va_end(ap);
}
