/* Shared by the audit tests: scratch directories, keys, logs as lines. */
#ifndef CG_TESTS_AUDIT_HELPERS_H
#define CG_TESTS_AUDIT_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"

struct th_env {
	char dir[256];
	char key[300];      /* BASENAME.key */
	char pub[300];      /* BASENAME.pub */
	char log[300];
	unsigned char pk[AUDIT_PUBKEY_LEN];
};

/* A fresh directory with a key pair and a log path in it. */
void th_setup(struct th_env *e);

/* Removes the directories th_setup made (each suite's .fini). */
void th_cleanup(void);

/* A config for e->log sealed with e->key, checkpoint_every records. */
struct cg_audit_config th_config(const struct th_env *e, uint32_t every);

/* Appends `count` decision records (allow, deny with a pointer, error in
 * turn) and commits after each. */
void th_decisions(struct cg_audit *a, int count, int first_req);

/* Writes a log of `count` decisions, sealing every `every`, closed. */
void th_write_log(const struct th_env *e, int count, uint32_t every);

/* The file as lines (without newlines); frees with th_free_lines. */
struct th_lines {
	char **line;
	size_t n;
	int torn;           /* the last line had no newline */
};
void th_read_lines(const char *path, struct th_lines *l);
void th_write_lines(const char *path, const struct th_lines *l);
void th_free_lines(struct th_lines *l);
/* Replaces line i with a copy of s. */
void th_set_line(struct th_lines *l, size_t i, const char *s);
/* Index of the first line whose text contains needle at or after from, or
 * (size_t)-1. */
size_t th_find(const struct th_lines *l, const char *needle, size_t from);

enum cg_audit_verdict th_verify(const struct th_env *e,
    struct cg_audit_verify_result *res);

/* Runs a command (argv, NULL-terminated), killed if it runs past 60 s;
 * stdout into out (malloc'd). Returns
 * the exit status, or -1 when killed. */
int th_run(char *const argv[], char **out);

#endif
