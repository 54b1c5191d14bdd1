/*
 * The client library against a fake gateway: the reply direction is
 * authenticated too, so whoever holds the other end of a client's socket
 * without the session key cannot answer for the gateway.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gateway/frame.h"

static unsigned char key[CG_SESSION_KEY_LEN];
static struct cg_frame_session gw;
static unsigned char buf[CG_FRAME_MAX];
static int sock;
static pid_t pid;
static int out_fd;

/* Starts capgate-client invoke echo '"hi"' against our end of a socketpair. */
static void
start_client(void)
{
	int sv[2], kp[2], op[2];

	cr_assert(sodium_init() >= 0);
	randombytes_buf(key, sizeof(key));
	frame_session_init(&gw, key, 1);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	cr_assert_eq(pipe(kp), 0);
	cr_assert_eq(pipe(op), 0);
	cr_assert_eq(write(kp[1], key, sizeof(key)), (ssize_t)sizeof(key));
	close(kp[1]);
	pid = fork();
	if (pid == 0) {
		dup2(sv[1], 3);
		dup2(kp[0], 4);
		dup2(op[1], 1);
		setenv("CAPGATE_FD", "3", 1);
		setenv("CAPGATE_KEY_FD", "4", 1);
		execl(CLIENT_BIN, "capgate-client", "invoke", "echo", "\"hi\"",
		    "--timeout", "3000", (char *)NULL);
		_exit(126);
	}
	close(sv[1]);
	close(kp[0]);
	close(op[1]);
	sock = sv[0];
	out_fd = op[0];
}

static int
finish(char *out, size_t len)
{
	int st;
	ssize_t n;

	close(sock);
	n = read(out_fd, out, len - 1);
	out[n > 0 ? n : 0] = '\0';
	close(out_fd);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static struct cg_frame
expect(uint8_t type)
{
	struct cg_frame f;
	ssize_t n = recv(sock, buf, sizeof(buf), 0);

	cr_assert_gt(n, 0);
	cr_assert_eq(frame_open(&gw, buf, (size_t)n, 0, 0, &f), CG_FRAME_OK);
	cr_assert_eq(f.type, type);
	return f;
}

static void
answer(struct cg_frame_session *s, uint8_t type, uint32_t id, const char *body)
{
	struct cg_frame f = { 0 };
	size_t n;

	f.type = type;
	f.request_id = id;
	f.body = body;
	f.body_len = strlen(body);
	n = frame_seal(s, &f, buf, sizeof(buf));
	cr_assert_eq(send(sock, buf, n, 0), (ssize_t)n);
}

Test(client, talks_to_a_genuine_gateway)
{
	char out[256];
	struct cg_frame f;

	start_client();
	f = expect(CG_MSG_HELLO);
	answer(&gw, CG_MSG_WELCOME, f.request_id, "{\"version\":3}");
	f = expect(CG_MSG_INVOKE);
	cr_assert_eq(f.channel_len, 4);
	answer(&gw, CG_MSG_REPLY, f.request_id, "\"hi back\"");
	cr_assert_eq(finish(out, sizeof(out)), 0);
	cr_assert_str_eq(out, "\"hi back\"\n");
}

Test(client, rejects_an_impostor_without_the_key)
{
	unsigned char other[CG_SESSION_KEY_LEN];
	struct cg_frame_session impostor;
	char out[256];
	struct cg_frame f;

	start_client();
	f = expect(CG_MSG_HELLO);
	randombytes_buf(other, sizeof(other));
	frame_session_init(&impostor, other, 1);
	answer(&impostor, CG_MSG_WELCOME, f.request_id, "{\"version\":3}");
	cr_assert_eq(finish(out, sizeof(out)), 2);
	cr_assert_str_eq(out, "");
}

Test(client, rejects_a_replayed_reply)
{
	char out[256];
	struct cg_frame f;

	start_client();
	f = expect(CG_MSG_HELLO);
	answer(&gw, CG_MSG_WELCOME, f.request_id, "{\"version\":3}");
	f = expect(CG_MSG_INVOKE);
	/* the WELCOME again, with its old sequence number */
	gw.send_seq = 0;
	answer(&gw, CG_MSG_REPLY, f.request_id, "\"forged\"");
	cr_assert_eq(finish(out, sizeof(out)), 2);
	cr_assert_str_eq(out, "");
}

Test(client, rejects_a_reply_to_a_question_it_did_not_ask)
{
	char out[256];
	struct cg_frame f;

	start_client();
	f = expect(CG_MSG_HELLO);
	answer(&gw, CG_MSG_WELCOME, f.request_id, "{\"version\":3}");
	f = expect(CG_MSG_INVOKE);
	answer(&gw, CG_MSG_REPLY, f.request_id + 100, "\"stray\"");
	cr_assert_eq(finish(out, sizeof(out)), 2);
}

Test(client, refuses_to_run_outside_capgate)
{
	char out[64];
	int st, op[2];

	cr_assert_eq(pipe(op), 0);
	pid = fork();
	if (pid == 0) {
		dup2(op[1], 2);
		unsetenv("CAPGATE_FD");
		execl(CLIENT_BIN, "capgate-client", "invoke", "echo", (char *)NULL);
		_exit(126);
	}
	close(op[1]);
	ssize_t n = read(op[0], out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	waitpid(pid, &st, 0);
	cr_assert_eq(WEXITSTATUS(st), 2);
	cr_assert_not_null(strstr(out, "not started by capgate"));
}
