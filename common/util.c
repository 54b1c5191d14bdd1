#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

ssize_t
cg_read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t
cg_sys_sendmsg(int fd, const struct msghdr *mh, int flags)
{
	return syscall(SYS_sendmsg, fd, mh, flags);
}

/* sendto without an address: the kernel skips copying in a msghdr and
 * looking for control messages. */
ssize_t
cg_sys_send(int fd, const void *buf, size_t len, int flags)
{
	return syscall(SYS_sendto, fd, buf, len, flags, NULL, 0);
}

ssize_t
cg_sys_recvmsg(int fd, struct msghdr *mh, int flags)
{
	return syscall(SYS_recvmsg, fd, mh, flags);
}

int
cg_sys_recvmmsg(int fd, struct mmsghdr *mm, unsigned n, int flags)
{
	return (int)syscall(SYS_recvmmsg, fd, mm, n, flags, NULL);
}

int
cg_sys_epoll_wait(int epfd, struct epoll_event *evs, int max, int ms)
{
	return (int)syscall(SYS_epoll_wait, epfd, evs, max, ms);
}

ssize_t
cg_sys_write(int fd, const void *buf, size_t len)
{
	return syscall(SYS_write, fd, buf, len);
}

ssize_t
cg_write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = cg_sys_write(fd, (const char *)buf + done,
		    len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int
cg_read_file(const char *path, size_t max_bytes, char **out, size_t *out_len)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (errno == 0 || S_ISREG(st.st_mode) == 0)
			errno = EINVAL;
		close(fd);
		return -1;
	}
	if ((size_t)st.st_size > max_bytes) {
		close(fd);
		errno = EFBIG;
		return -1;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		return -1;
	}
	/* Read one byte past the size fstat reported so growth is noticed. */
	n = cg_read_full(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n < 0) {
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	*out = buf;
	if (out_len != NULL)
		*out_len = (size_t)n;
	return 0;
}

uint64_t
cg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
cg_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Days since 1970 to a proleptic Gregorian date, counted from 1 March of
 * year 0 so that the leap day ends each year: 400-year eras of 146097
 * days, years of 365 days plus a leap day every 4th, 100th excepted,
 * 400th included, and months of March..February whose lengths follow
 * (153 * m + 2) / 5 (H. Hinnant's days-from-civil, inverted).
 */
void
cg_utc(uint64_t secs, struct cg_utc *out)
{
	uint64_t days = secs / 86400u, rem = secs % 86400u;
	uint64_t z = days + 719468u;            /* days since 0000-03-01 */
	uint64_t era = z / 146097u;
	unsigned doe = (unsigned)(z - era * 146097u);           /* 0..146096 */
	unsigned yoe = (doe - doe / 1460u + doe / 36524u - doe / 146096u) / 365u;
	unsigned doy = doe - (365u * yoe + yoe / 4u - yoe / 100u);  /* 0..365 */
	unsigned mp = (5u * doy + 2u) / 153u;                   /* 0 = March */

	out->day = doy - (153u * mp + 2u) / 5u + 1u;
	out->month = mp < 10u ? mp + 3u : mp - 9u;
	out->year = (long long)(era * 400u + yoe) + (out->month <= 2u);
	out->hour = (unsigned)(rem / 3600u);
	out->min = (unsigned)(rem / 60u % 60u);
	out->sec = (unsigned)(rem % 60u);
}

void
cg_format_time(uint64_t wall_ns, char *buf, size_t len)
{
	unsigned usec = (unsigned)(wall_ns % 1000000000u / 1000u);
	struct cg_utc t;

	cg_utc(wall_ns / 1000000000u, &t);
	snprintf(buf, len, "%04lld-%02u-%02uT%02u:%02u:%02u.%06uZ",
	    t.year, t.month, t.day, t.hour, t.min, t.sec, usec);
}

int
cg_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int
cg_set_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}
