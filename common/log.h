/*
 * Process-level diagnostics (gateway and command-line tools only; library
 * code fills a struct cg_error instead). Messages go to stderr prefixed
 * with the program name and the calling function.
 */
#ifndef CG_COMMON_LOG_H
#define CG_COMMON_LOG_H

void cg_log_init(const char *progname);
void cg_log_set_verbose(int verbose);

void cg_fatal_(const char *func, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
void cg_log_warn_(const char *func, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cg_log_debug_(const char *func, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define fatal(...) cg_fatal_(__func__, __VA_ARGS__)
#define log_warn(...) cg_log_warn_(__func__, __VA_ARGS__)
#define log_debug(...) cg_log_debug_(__func__, __VA_ARGS__)

#endif
