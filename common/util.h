/*
 * Small helpers every process role uses: EINTR-retrying I/O in one place,
 * clocks, and fd flags. Each returns -1 with errno set on failure.
 */
#ifndef CG_COMMON_UTIL_H
#define CG_COMMON_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Retries on EINTR; exact-size: short reads/writes loop until done or EOF. */
ssize_t cg_read_full(int fd, void *buf, size_t len);
ssize_t cg_write_full(int fd, const void *buf, size_t len);

/* Reads a whole regular file of at most max_bytes into a NUL-terminated
 * malloc'd buffer. Caller frees *out. */
int cg_read_file(const char *path, size_t max_bytes, char **out, size_t *out_len);

uint64_t cg_now_ns(void);           /* CLOCK_MONOTONIC */
uint64_t cg_wall_ns(void);          /* CLOCK_REALTIME */

/* UTC "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" into buf (at least 32 bytes). */
void cg_format_time(uint64_t wall_ns, char *buf, size_t len);

int cg_set_nonblock(int fd);
int cg_set_cloexec(int fd);

#endif
