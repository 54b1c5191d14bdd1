/*
 * A scriptable front-end for the backend, fs and event tests, built on the
 * C client library. One command per stdin line, one or more output lines
 * per command:
 *
 *   invoke CHANNEL [JSON]   -> the reply, or "error: CODE"; then for each
 *                              attached fd: "fd: mode=ro|rw size=N
 *                              write=ok|EBADF|EPERM head=FIRST-16-BYTES"
 *   send CHANNEL [JSON]     -> "sent"
 *   sub CHANNEL / unsub CHANNEL -> "ok"
 *   poll MS                 -> "event CHANNEL JSON" per event, then
 *                              "polled N"
 *   sleep MS                -> nothing
 *   upload CHANNEL SIZE sealed|unsealed|pipe
 *                           -> invoke with {"size":SIZE} and one fd attached:
 *                              a memfd of SIZE bytes starting "UPLOAD"
 *                              (sealed or not), or a pipe's read end
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/capgate.h"

static void
on_event(const char *channel, const char *json, size_t len, void *arg)
{
	(void)arg;
	printf("event %s %.*s\n", channel, (int)len, json);
}

/* What the client can do with an fd it was handed. */
static void
describe_fd(int fd)
{
	struct stat st;
	char head[17] = "", raw[16];
	int acc = fcntl(fd, F_GETFL) & O_ACCMODE;
	ssize_t n;
	const char *w;

	if (fstat(fd, &st) != 0) {
		printf("fd: bad\n");
		return;
	}
	n = pread(fd, raw, 16, 0);
	for (ssize_t i = 0; i < n; i++)
		head[i] = raw[i] < 32 || raw[i] > 126 ? '.' : raw[i];
	head[n > 0 ? n : 0] = '\0';
	/* Writing the first byte back (or "+" into an empty file) changes
	 * nothing the tests look at. */
	if (pwrite(fd, n > 0 ? raw : "+", 1, 0) == 1)
		w = "ok";
	else
		w = errno == EBADF ? "EBADF" : errno == EPERM ? "EPERM" : "other";
	printf("fd: mode=%s size=%lld write=%s head=%s\n",
	    acc == O_RDONLY ? "ro" : acc == O_RDWR ? "rw" : "wo",
	    (long long)st.st_size, w, head);
}

static void
do_invoke(struct cg_conn *c, const char *ch, const char *json)
{
	struct cg_reply rep;
	int r = cg_invoke(c, ch, json, &rep, 10000);

	if (r != 0) {
		printf("transport: %s\n", cg_strerror(r));
		return;
	}
	if (!rep.ok) {
		printf("error: %s\n", cg_strerror(rep.code));
		return;
	}
	printf("%s\n", rep.data);
	for (unsigned i = 0; i < rep.nfds; i++)
		describe_fd(rep.fds[i]);
	cg_reply_free(&rep);
}

static void
do_upload(struct cg_conn *c, const char *ch, const char *args)
{
	char kind[16] = "";
	long long size = 0;
	char json[64];
	struct cg_reply rep;
	int fd, p[2] = { -1, -1 }, r;

	if (args == NULL || sscanf(args, "%lld %15s", &size, kind) != 2) {
		printf("usage\n");
		return;
	}
	if (strcmp(kind, "pipe") == 0) {
		if (pipe(p) != 0)
			return;
		fd = p[0];
	} else {
		fd = memfd_create("upload", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd < 0 || ftruncate(fd, size) != 0 ||
		    pwrite(fd, "UPLOAD", 6, 0) != 6)
			return;
		if (strcmp(kind, "sealed") == 0 && fcntl(fd, F_ADD_SEALS,
		    F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
			return;
	}
	snprintf(json, sizeof(json), "{\"size\":%lld}", size);
	r = cg_invoke_fds(c, ch, json, &fd, 1, &rep, 10000);
	close(fd);
	if (p[1] >= 0)
		close(p[1]);
	if (r != 0)
		printf("transport: %s\n", cg_strerror(r));
	else if (!rep.ok)
		printf("error: %s\n", cg_strerror(rep.code));
	else
		printf("%s\n", rep.data);
	cg_reply_free(&rep);
}

static void
run_line(struct cg_conn *c, char *line)
{
	char *cmd = strtok(line, " \n");
	char *ch = strtok(NULL, " \n");
	char *json = strtok(NULL, "\n");
	int n;

	if (cmd == NULL)
		return;
	if (strcmp(cmd, "invoke") == 0 && ch != NULL) {
		do_invoke(c, ch, json);
	} else if (strcmp(cmd, "send") == 0 && ch != NULL) {
		printf(cg_send(c, ch, json) == 0 ? "sent\n" : "transport\n");
	} else if (strcmp(cmd, "sub") == 0 && ch != NULL) {
		printf(cg_on_event(c, ch, on_event, NULL) == 0 ? "ok\n" : "fail\n");
	} else if (strcmp(cmd, "unsub") == 0 && ch != NULL) {
		printf(cg_off_event(c, ch) == 0 ? "ok\n" : "fail\n");
	} else if (strcmp(cmd, "poll") == 0 && ch != NULL) {
		int total = 0, ms = atoi(ch);
		while ((n = cg_poll(c, ms)) > 0)
			total += n;
		printf("polled %d\n", total);
	} else if (strcmp(cmd, "upload") == 0 && ch != NULL) {
		do_upload(c, ch, json);
	} else if (strcmp(cmd, "sleep") == 0 && ch != NULL) {
		usleep((useconds_t)atoi(ch) * 1000u);
	} else {
		printf("usage\n");
	}
	fflush(stdout);
}

int
main(void)
{
	struct cg_conn *c;
	char line[70000];
	int r = cg_connect(&c);

	if (r != 0) {
		fprintf(stderr, "probe: %s\n", cg_strerror(r));
		return 2;
	}
	while (fgets(line, sizeof(line), stdin) != NULL)
		run_line(c, line);
	cg_close(c);
	return 0;
}
