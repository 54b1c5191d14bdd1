/*
 * The incumbent: the same echo call through a D-Bus message bus
 * (dbus-daemon or dbus-broker), with libdbus on both ends.
 *
 *   bench-dbus-echo serve --address ADDR
 *       owns org.capgate.BenchEcho, answers Echo(ay) -> ay with the same
 *       bytes, prints "ready" once the name is owned, runs until the bus
 *       connection closes;
 *   bench-dbus-echo call --address ADDR [--size B] [--iters N] [--warmup N]
 *       makes blocking Echo calls and prints their latency as JSON.
 *
 * Each timed call builds the message, sends it, blocks for the reply and
 * reads its argument back: the work cg_invoke() does on the capgate side.
 */
#include "bench/stats.h"

#include <dbus/dbus.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ECHO_NAME "org.capgate.BenchEcho"
#define ECHO_PATH "/org/capgate/BenchEcho"
#define ECHO_IFACE "org.capgate.BenchEcho"
#define ECHO_MAX_SIZE (1024u * 1024u)

struct echo_opts {
	const char *mode;
	const char *address;
	size_t size;
	uint64_t iters;
	uint64_t warmup;
};

static void __attribute__((noreturn))
die_dbus(const char *what, DBusError *e)
{
	fprintf(stderr, "bench-dbus-echo: %s: %s\n", what,
	    e != NULL && dbus_error_is_set(e) ? e->message : "failed");
	exit(2);
}

/* A private connection to the bus, registered (it has a unique name). */
static DBusConnection *
bus_connect(const char *address)
{
	DBusConnection *c;
	DBusError e;

	dbus_error_init(&e);
	c = dbus_connection_open_private(address, &e);
	if (c == NULL)
		die_dbus("connect", &e);
	if (!dbus_bus_register(c, &e))
		die_dbus("Hello", &e);
	dbus_connection_set_exit_on_disconnect(c, FALSE);
	return c;
}

static DBusHandlerResult
serve_message(DBusConnection *c, DBusMessage *msg, void *data)
{
	const unsigned char *bytes;
	DBusMessage *reply;
	DBusError e;
	int len;

	if (!dbus_message_is_method_call(msg, ECHO_IFACE, "Echo"))
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	dbus_error_init(&e);
	if (!dbus_message_get_args(msg, &e, DBUS_TYPE_ARRAY, DBUS_TYPE_BYTE,
	    &bytes, &len, DBUS_TYPE_INVALID)) {
		reply = dbus_message_new_error(msg, e.name, e.message);
		dbus_error_free(&e);
	} else {
		reply = dbus_message_new_method_return(msg);
		if (reply != NULL && !dbus_message_append_args(reply,
		    DBUS_TYPE_ARRAY, DBUS_TYPE_BYTE, &bytes, len,
		    DBUS_TYPE_INVALID))
			die_dbus("append reply", NULL);
	}
	if (reply == NULL || !dbus_connection_send(c, reply, NULL))
		die_dbus("send reply", NULL);
	dbus_message_unref(reply);
	return DBUS_HANDLER_RESULT_HANDLED;
}

static void
mode_serve(const struct echo_opts *o)
{
	static const DBusObjectPathVTable vtable = {
		.message_function = serve_message,
	};
	DBusConnection *c = bus_connect(o->address);
	DBusError e;

	dbus_error_init(&e);
	if (dbus_bus_request_name(c, ECHO_NAME, DBUS_NAME_FLAG_DO_NOT_QUEUE,
	    &e) != DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER)
		die_dbus("RequestName", &e);
	if (!dbus_connection_register_object_path(c, ECHO_PATH, &vtable, NULL))
		die_dbus("register object", NULL);
	printf("ready\n");
	fflush(stdout);
	while (dbus_connection_read_write_dispatch(c, -1))
		;
	dbus_connection_close(c);
	dbus_connection_unref(c);
}

/* One blocking Echo call; returns the length of the bytes echoed back. */
static int
call_once(DBusConnection *c, const unsigned char *payload, int len)
{
	const unsigned char *back;
	DBusMessage *msg, *reply;
	DBusError e;
	int back_len = -1;

	dbus_error_init(&e);
	msg = dbus_message_new_method_call(ECHO_NAME, ECHO_PATH, ECHO_IFACE,
	    "Echo");
	if (msg == NULL || !dbus_message_append_args(msg, DBUS_TYPE_ARRAY,
	    DBUS_TYPE_BYTE, &payload, len, DBUS_TYPE_INVALID))
		die_dbus("build call", NULL);
	reply = dbus_connection_send_with_reply_and_block(c, msg, 10000, &e);
	dbus_message_unref(msg);
	if (reply == NULL)
		die_dbus("Echo", &e);
	if (!dbus_message_get_args(reply, &e, DBUS_TYPE_ARRAY, DBUS_TYPE_BYTE,
	    &back, &back_len, DBUS_TYPE_INVALID))
		die_dbus("Echo reply", &e);
	dbus_message_unref(reply);
	return back_len;
}

static void
mode_call(const struct echo_opts *o)
{
	DBusConnection *c = bus_connect(o->address);
	struct bench_samples s;
	unsigned char *payload;
	uint64_t i, t0;

	payload = malloc(o->size);
	if (payload == NULL)
		die_dbus("malloc", NULL);
	memset(payload, 'x', o->size);
	bench_samples_init(&s, o->iters);
	for (i = 0; i < o->warmup + o->iters; i++) {
		t0 = bench_now_ns();
		if (call_once(c, payload, (int)o->size) != (int)o->size)
			die_dbus("Echo returned the wrong length", NULL);
		if (i >= o->warmup)
			bench_samples_add(&s, bench_now_ns() - t0);
	}
	bench_report_latency(stdout, "dbus_echo", o->size, &s);
	bench_samples_free(&s);
	free(payload);
	dbus_connection_close(c);
	dbus_connection_unref(c);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: bench-dbus-echo serve|call --address ADDR "
	    "[--size BYTES] [--iters N] [--warmup N]\n");
	exit(2);
}

static const struct option long_opts[] = {
	{ "address", required_argument, NULL, 'a' },
	{ "size", required_argument, NULL, 's' },
	{ "iters", required_argument, NULL, 'n' },
	{ "warmup", required_argument, NULL, 'w' },
	{ NULL, 0, NULL, 0 },
};

int
main(int argc, char **argv)
{
	struct echo_opts o = { NULL, NULL, 64, 20000, 2000 };
	int c;

	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (c) {
		case 'a': o.address = optarg; break;
		case 's': o.size = bench_parse_count(optarg, 0, ECHO_MAX_SIZE, "--size"); break;
		case 'n': o.iters = bench_parse_count(optarg, 1, 100000000, "--iters"); break;
		case 'w': o.warmup = bench_parse_count(optarg, 0, 100000000, "--warmup"); break;
		default: usage();
		}
	}
	if (optind + 1 != argc || o.address == NULL)
		usage();
	o.mode = argv[optind];
	if (strcmp(o.mode, "serve") == 0)
		mode_serve(&o);
	else if (strcmp(o.mode, "call") == 0)
		mode_call(&o);
	else
		usage();
	return 0;
}
