#include "tests/sandbox/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"

#ifndef HARNESS_DIR
#error HARNESS_DIR must name the build directory of the probes
#endif

int harness_key_fd = -1;

/* Can a user who is neither owner nor group run path (and reach it)? */
static bool
others_can_run(const char *path)
{
	char prefix[PATH_MAX];
	struct stat st;

	for (const char *p = strchr(path + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
		snprintf(prefix, sizeof(prefix), "%.*s", (int)(p - path), path);
		if (stat(prefix, &st) != 0 || !(st.st_mode & S_IXOTH))
			return false;
	}
	return stat(path, &st) == 0 && (st.st_mode & S_IXOTH) && (st.st_mode & S_IROTH);
}

static int
copy_file(const char *from, const char *to)
{
	char tmp[PATH_MAX + 64], *buf;
	size_t len;
	int fd, rc = -1;

	if (cg_read_file(from, 64u << 20, &buf, &len) != 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.%d", to, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (fd >= 0 && cg_write_full(fd, buf, len) == (ssize_t)len && close(fd) == 0 &&
	    chmod(tmp, 0755) == 0 && rename(tmp, to) == 0)
		rc = 0;
	free(buf);
	return rc;
}

/*
 * As root the client runs as nobody, who must be able to run the probes:
 * a build directory under a private home (CI checking out in /root) is
 * out of its reach, so the probes are copied to /tmp once per test run.
 * CAPGATE_PROBE_DIR names a directory prepared by the caller instead.
 */
const char *
harness_dir(void)
{
	static const char *const names[] = { "probe", "probe-static" };
	static char dir[PATH_MAX];
	const char *env = getenv("CAPGATE_PROBE_DIR");

	if (dir[0] != '\0')
		return dir;
	if (env != NULL && env[0] != '\0') {
		snprintf(dir, sizeof(dir), "%s", env);
		return dir;
	}
	snprintf(dir, sizeof(dir), "%s", HARNESS_DIR);
	if (geteuid() != 0 || others_can_run(HARNESS_DIR "/probe"))
		return dir;
	snprintf(dir, sizeof(dir), "/tmp/capgate-probes-%d", (int)getppid());
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		abort();
	for (size_t i = 0; i < 2; i++) {
		char from[PATH_MAX + 32], to[PATH_MAX + 32];
		struct stat a, b;

		snprintf(from, sizeof(from), "%s/%s", HARNESS_DIR, names[i]);
		snprintf(to, sizeof(to), "%s/%s", dir, names[i]);
		if (stat(to, &b) == 0 && stat(from, &a) == 0 && a.st_size == b.st_size)
			continue;
		if (copy_file(from, to) != 0)
			abort();
	}
	return dir;
}

bool
harness_require_all(void)
{
	const char *v = getenv("CAPGATE_REQUIRE_ALL");

	return v != NULL && strcmp(v, "1") == 0;
}

const char *
harness_missing_feature(void)
{
	static char why[700];
	char probe[512];
	const char *argv[] = { probe, "stdout", NULL };
	struct harness_result r;
	int abi = 0;

	snprintf(probe, sizeof(probe), "%s/probe", harness_dir());
	if (harness_run("{\"profile\":\"strict\"}", argv, NULL, &r) != 0) {
		snprintf(why, sizeof(why), "%s", r.error);
		return why;
	}
	abi = (int)json_integer_value(json_object_get(r.attestation, "landlock_abi"));
	json_decref(r.attestation);
	if (abi < 6) {
		snprintf(why, sizeof(why), "Landlock ABI %d < 6", abi);
		return why;
	}
	return NULL;
}

const struct cg_sandbox_event *
harness_event(const struct harness_result *res, const char *name)
{
	for (int i = 0; i < res->n_events; i++)
		if (strcmp(res->events[i].name, name) == 0)
			return &res->events[i];
	return NULL;
}

static void
set_error(struct harness_result *res, const char *stage, const struct cg_error *err)
{
	char buf[520];

	cg_error_format(err, buf, sizeof(buf));
	snprintf(res->error, sizeof(res->error), "%s: %s", stage, buf);
	snprintf(res->pointer, sizeof(res->pointer), "%s", err->pointer);
}

static void
drain(int fd, struct harness_result *res)
{
	size_t len = strlen(res->out);
	ssize_t n;

	while (len + 1 < sizeof(res->out) &&
	    (n = read(fd, res->out + len, sizeof(res->out) - 1 - len)) > 0)
		len += (size_t)n;
	res->out[len] = '\0';
}

static void
serve_gateway(int fd)
{
	char buf[64];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n == 4 && memcmp(buf, "ping", 4) == 0)
		send(fd, "pong", 4, MSG_NOSIGNAL);
}

static void
serve_notify(struct cg_child *child, struct harness_result *res)
{
	struct cg_sandbox_event ev;
	struct cg_error err = { 0 };

	if (sandbox_notify_handle(child, &ev, &err) != 0) {
		close(child->notify_fd);
		child->notify_fd = -1;
		return;
	}
	if (ev.kind != CG_SANDBOX_EVENT_NONE && res->n_events < HARNESS_MAX_EVENTS)
		res->events[res->n_events++] = ev;
}

/* The gateway's loop, reduced: until the child exits or 30 s pass. */
static void
loop(struct cg_child *child, int gw, int out, struct harness_result *res)
{
	uint64_t deadline = cg_now_ns() + 30ull * 1000000000ull;
	siginfo_t si = { 0 };

	while (cg_now_ns() < deadline) {
		struct pollfd p[4] = { { child->pidfd, POLLIN, 0 },
		    { child->notify_fd, POLLIN, 0 }, { gw, POLLIN, 0 }, { out, POLLIN, 0 } };

		if (poll(p, 4, 1000) < 0 && errno != EINTR)
			break;
		if (p[1].revents & POLLIN)
			serve_notify(child, res);
		if (p[2].revents & POLLIN)
			serve_gateway(gw);
		if (p[3].revents & POLLIN)
			drain(out, res);
		if (p[0].revents & POLLIN)
			break;
	}
	if (waitid(P_PIDFD, (id_t)child->pidfd, &si, WEXITED | WNOHANG) == 0 && si.si_pid == 0) {
		syscall(SYS_pidfd_send_signal, child->pidfd, SIGKILL, NULL, 0);
		waitid(P_PIDFD, (id_t)child->pidfd, &si, WEXITED);
	}
	res->exit_code = si.si_code == CLD_EXITED ? si.si_status : -1;
	res->signal = si.si_code == CLD_EXITED ? 0 : si.si_status;
	drain(out, res);
}

static int
spawn_with_stdout(struct cg_sandbox_plan *plan, int out_w, struct cg_child *child,
    struct cg_error *err)
{
	int saved = dup(1), rc;

	fflush(stdout);
	dup2(out_w, 1);
	rc = sandbox_spawn(plan, child, err);
	dup2(saved, 1);
	close(saved);
	return rc;
}

int
harness_run(const char *section_json, const char *const *argv,
    const char *const *envp, struct harness_result *res)
{
	static const char *const default_env[] = { "PATH=/usr/bin:/bin",
	    "CAPGATE_PROBE_OK=1", "LD_PRELOAD=/nonexistent.so", NULL };
	struct cg_sandbox_config *cfg;
	struct cg_sandbox_plan *plan = NULL;
	struct cg_child child;
	struct cg_error err = { 0 };
	struct cg_spawn_request req;
	json_error_t jerr;
	json_t *section;
	int sp[2], pipefd[2], rc = -1;

	memset(res, 0, sizeof(*res));
	section = json_loads(section_json, 0, &jerr);
	if (section == NULL) {
		snprintf(res->error, sizeof(res->error), "test JSON: %s", jerr.text);
		return -1;
	}
	cfg = sandbox_config_parse(section, harness_dir(), &err);
	json_decref(section);
	if (cfg == NULL) {
		set_error(res, "parse", &err);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0 ||
	    pipe2(pipefd, O_CLOEXEC) != 0)
		abort();
	req = (struct cg_spawn_request){ .argv = argv, .envp = envp ? envp : default_env,
	    .gateway_fd = sp[1], .key_fd = harness_key_fd, .name = "probe" };
	if (sandbox_prepare(cfg, &req, &plan, &err) != 0)
		set_error(res, "prepare", &err);
	else if (spawn_with_stdout(plan, pipefd[1], &child, &err) != 0)
		set_error(res, "spawn", &err);
	else {
		res->spawned = true;
		close(pipefd[1]);
		pipefd[1] = -1;
		close(sp[1]);
		sp[1] = -1;
		res->attestation = sandbox_attestation(plan);
		loop(&child, sp[0], pipefd[0], res);
		close(child.pidfd);
		if (child.notify_fd >= 0)
			close(child.notify_fd);
		rc = 0;
	}
	close(sp[0]);
	if (sp[1] >= 0)
		close(sp[1]);
	close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	sandbox_plan_free(plan);
	sandbox_config_free(cfg);
	return rc;
}
