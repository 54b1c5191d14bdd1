/*
 * capgate-client: a front-end for shell scripts and tests.
 *
 *   capgate-client invoke CHANNEL [JSON]   print the reply; exit 0, or 1 on
 *                                          an error reply (its code on stderr)
 *   capgate-client send CHANNEL [JSON]     exit 0 once sent
 *   capgate-client listen CHANNEL [--count N] [--timeout MS]
 *                                          print each event as a JSON line
 *   capgate-client batch                   read "invoke|send CHANNEL [JSON]"
 *                                          lines from stdin, one answer line each
 *
 * Exit 2 on a usage or transport error. The front-end is one process: the
 * gateway accepts frames only from the process it started, so a script makes
 * several calls through one `batch`, not through several capgate-clients.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/capgate.h"

#define LINE_MAX_BYTES 65536

static int
usage(void)
{
	fprintf(stderr,
	    "usage: capgate-client invoke CHANNEL [JSON] [--timeout MS]\n"
	    "       capgate-client send CHANNEL [JSON]\n"
	    "       capgate-client listen CHANNEL [--count N] [--timeout MS]\n"
	    "       capgate-client batch < COMMANDS\n");
	return 2;
}

static int
transport_error(const char *what, int r)
{
	fprintf(stderr, "capgate-client: %s: %s\n", what, cg_strerror(r));
	return 2;
}

static int
do_invoke(struct cg_conn *c, const char *channel, const char *json, int timeout)
{
	struct cg_reply rep;
	int r = cg_invoke(c, channel, json, &rep, timeout);

	if (r != 0)
		return transport_error("invoke", r);
	if (!rep.ok) {
		printf("error: %s\n", cg_strerror(rep.code));
		fflush(stdout);
		fprintf(stderr, "capgate-client: %s: error %s\n", channel,
		    cg_strerror(rep.code));
		return 1;
	}
	printf("%s\n", rep.data);
	fflush(stdout);
	cg_reply_free(&rep);
	return 0;
}

static void
print_event(const char *channel, const char *json, size_t len, void *arg)
{
	int *count = arg;

	printf("{\"channel\":\"%s\",\"data\":%.*s}\n", channel, (int)len, json);
	fflush(stdout);
	(*count)++;
}

static int
do_listen(struct cg_conn *c, const char *channel, int max, int timeout)
{
	int count = 0, r;

	if ((r = cg_on_event(c, channel, print_event, &count)) != 0)
		return transport_error("listen", r);
	while (max <= 0 || count < max) {
		r = cg_poll(c, timeout);
		if (r < 0)
			return transport_error("listen", r);
		if (r == 0 && timeout >= 0)
			break;
	}
	return 0;
}

/* One command per line: "invoke CHANNEL [JSON]" or "send CHANNEL [JSON]". */
static int
do_batch(struct cg_conn *c, int timeout)
{
	char *line = malloc(LINE_MAX_BYTES);
	int worst = 0;

	if (line == NULL)
		return 2;
	while (fgets(line, LINE_MAX_BYTES, stdin) != NULL) {
		char *verb, *channel, *json, *save = NULL;
		int r;

		line[strcspn(line, "\n")] = '\0';
		verb = strtok_r(line, " \t", &save);
		if (verb == NULL || verb[0] == '#')
			continue;
		channel = strtok_r(NULL, " \t", &save);
		json = save != NULL && *save != '\0' ? save : NULL;
		if (channel == NULL) {
			printf("error: usage\n");
			worst = 2;
			continue;
		}
		if (strcmp(verb, "invoke") == 0) {
			r = do_invoke(c, channel, json, timeout);
		} else if (strcmp(verb, "send") == 0) {
			r = cg_send(c, channel, json) == 0 ? 0 : 2;
			printf(r == 0 ? "sent\n" : "error: transport\n");
		} else {
			printf("error: usage\n");
			r = 2;
		}
		fflush(stdout);
		if (r > worst)
			worst = r;
		if (r == 2)
			break;
	}
	free(line);
	return worst;
}

/* Pulls "--timeout MS" / "--count N" out of argv; returns -1 on error. */
static int
take_int_option(int *argc, char **argv, const char *name, int *out)
{
	for (int i = 0; i < *argc; i++) {
		char *end;
		if (strcmp(argv[i], name) != 0)
			continue;
		if (i + 1 >= *argc)
			return -1;
		*out = (int)strtol(argv[i + 1], &end, 10);
		if (*end != '\0')
			return -1;
		memmove(argv + i, argv + i + 2, (size_t)(*argc - i - 2) * sizeof(*argv));
		*argc -= 2;
		return 0;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	int timeout = 10000, count = 0, r;
	struct cg_conn *c;

	if (take_int_option(&argc, argv, "--timeout", &timeout) != 0 ||
	    take_int_option(&argc, argv, "--count", &count) != 0 || argc < 2)
		return usage();
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage();
		return 0;
	}
	if (strcmp(argv[1], "batch") == 0 ? argc != 2 : (argc < 3 || argc > 4))
		return usage();
	if ((r = cg_connect(&c)) != 0)
		return transport_error("connect", r);
	if (strcmp(argv[1], "invoke") == 0)
		r = do_invoke(c, argv[2], argc == 4 ? argv[3] : NULL, timeout);
	else if (strcmp(argv[1], "send") == 0)
		r = (r = cg_send(c, argv[2], argc == 4 ? argv[3] : NULL)) == 0 ? 0 :
		    transport_error("send", r);
	else if (strcmp(argv[1], "listen") == 0 && argc == 3)
		r = do_listen(c, argv[2], count, timeout);
	else if (strcmp(argv[1], "batch") == 0)
		r = do_batch(c, timeout);
	else
		r = usage();
	cg_close(c);
	return r;
}
