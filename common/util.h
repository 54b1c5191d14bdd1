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

/* The UTC calendar of a count of seconds since 1970, what gmtime_r()
 * gives but without libc's time-zone set-up, which reads /etc/localtime
 * on the first call in a process. */
struct cg_utc {
	long long year;
	unsigned month, day, hour, min, sec;    /* month and day from 1 */
};
void cg_utc(uint64_t secs, struct cg_utc *out);

/*
 * The event loop's own system calls, through syscall(2) rather than glibc's
 * wrappers. Those are pthread cancellation points: in a process that has
 * ever started a thread (the gateway starts the audit sync thread and the
 * seccomp compile thread), each call through them switches the thread to
 * asynchronous cancellation and back around the system call. The gateway
 * never cancels a thread. Same convention as the wrappers: -1 and errno.
 */
struct msghdr;
struct mmsghdr;
struct epoll_event;
ssize_t cg_sys_sendmsg(int fd, const struct msghdr *mh, int flags);
ssize_t cg_sys_send(int fd, const void *buf, size_t len, int flags);
ssize_t cg_sys_recvmsg(int fd, struct msghdr *mh, int flags);
int cg_sys_recvmmsg(int fd, struct mmsghdr *mm, unsigned n, int flags);
int cg_sys_epoll_wait(int epfd, struct epoll_event *evs, int max, int ms);
ssize_t cg_sys_write(int fd, const void *buf, size_t len);

int cg_set_nonblock(int fd);
int cg_set_cloexec(int fd);

#endif
