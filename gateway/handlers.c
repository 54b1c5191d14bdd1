/*
 * Built-in handlers.
 *
 * Why each is safe for an untrusted requester: by the time run() is called
 * the gateway has checked the sender, the grant, the limits and the request
 * schema, and will check the reply against the response schema. echo
 * returns what it was given; time reveals only the clock, which the client
 * can read anyway; log writes a bounded, escaped line into the audit log
 * under the verified client's name, so a client can neither forge another
 * client's line nor log more lines than its channel's rate allows (each
 * line that passes also has its decision record; sends past the rate are
 * denials, and denials are bounded per client: CG_DENIALS_BURST).
 */
#include "gateway/handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "common/util.h"
#include "gateway/gateway.h"

#define LOG_LINE_MAX 1000

static void
run_echo(const struct cg_call *call, struct cg_result *res)
{
	res->raw = call->body;
	res->raw_len = call->body_len;
	res->raw_json = call->args;
}

static void
run_time(const struct cg_call *call, struct cg_result *res)
{
	uint64_t now = cg_wall_ns();
	char iso[40];

	(void)call;
	cg_format_time(now, iso, sizeof(iso));
	res->data = json_pack("{s:I,s:s}", "unix_ms", (json_int_t)(now / 1000000u),
	    "iso", iso);
	if (res->data == NULL)
		res->status = CG_STATUS_FAILED;
}

/* Truncates to at most max bytes without splitting a UTF-8 sequence. */
static size_t
utf8_prefix(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

static void
run_log(const struct cg_call *call, struct cg_result *res)
{
	json_t *fields;
	char *text = NULL;
	const char *msg;
	size_t len;

	if (json_is_string(call->args)) {
		msg = json_string_value(call->args);
		len = json_string_length(call->args);
	} else {
		text = json_dumps(call->args, JSON_COMPACT | JSON_ENCODE_ANY);
		msg = text ? text : "";
		len = strlen(msg);
	}
	len = utf8_prefix(msg, len, LOG_LINE_MAX);
	fields = json_pack("{s:s,s:i,s:s,s:s%,s:b}", "client", call->client,
	    "pid", (int)call->pid, "channel", call->channel->name,
	    "message", msg, len, "truncated", len < strlen(msg));
	free(text);
	if (fields == NULL || audit_append_event(call->gw->audit, "client-log",
	    fields) != 0) {
		res->status = CG_STATUS_UNAVAILABLE;
		res->reason = "audit-unavailable";
	} else {
		res->data = json_true();
	}
	json_decref(fields);
}

static const struct cg_handler handlers[] = {
	{ "builtin:echo", CG_KIND_BIT(CG_CHAN_INVOKE) | CG_KIND_BIT(CG_CHAN_SEND),
	    NULL, run_echo },
	{ "builtin:time", CG_KIND_BIT(CG_CHAN_INVOKE), NULL, run_time },
	{ "builtin:log", CG_KIND_BIT(CG_CHAN_INVOKE) | CG_KIND_BIT(CG_CHAN_SEND),
	    NULL, run_log },
};

const struct cg_handler *
handler_find(const char *name)
{
	for (size_t i = 0; i < CG_ARRAY_LEN(handlers); i++)
		if (strcmp(handlers[i].name, name) == 0)
			return &handlers[i];
	for (size_t i = 0; i < FS_HANDLERS; i++)
		if (strcmp(fs_handlers[i].name, name) == 0)
			return &fs_handlers[i];
	return NULL;
}

int
handler_check(const char *name, const struct cg_channel *ch,
    struct cg_error *err)
{
	const struct cg_handler *h = handler_find(name);

	if (h == NULL)
		return cg_error_set(err, "unknown handler \"%s\" (built-ins: "
		    "builtin:echo, builtin:log, builtin:time, builtin:fs.read, "
		    "builtin:fs.write, builtin:fs.list, builtin:fs.stat, "
		    "builtin:fs.open)", name);
	if ((h->kinds & CG_KIND_BIT(ch->kind)) == 0)
		return cg_error_set(err, "handler \"%s\" does not serve %s channels",
		    name, policy_kind_name(ch->kind));
	if (h->check != NULL)
		return h->check(ch, err);
	return 0;
}
