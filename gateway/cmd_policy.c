/* capgate policy check|show: the policy author's tools. */
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "gateway/commands.h"
#include "gateway/handlers.h"
#include "gateway/options.h"
#include "policy/policy.h"

static const struct cg_option no_options[] = { { NULL, 0, NULL, NULL } };

static int
ignore_option(void *ctx, int index, const char *arg)
{
	(void)ctx;
	(void)index;
	(void)arg;
	return -1;
}

static int
policy_check(int argc, char **argv)
{
	int first = options_parse("policy check", argc, argv, no_options,
	    ignore_option, NULL);
	int bad = 0;

	if (first == -2) {
		options_usage(stdout, "capgate policy check FILE...",
		    "Loads each policy exactly as capgate run would and reports "
		    "every error as\nfile:line:column: message.", no_options);
		return 0;
	}
	if (first < 0 || first >= argc) {
		fprintf(stderr, "usage: capgate policy check FILE...\n");
		return 2;
	}
	for (int i = first; i < argc; i++) {
		struct cg_error err;
		struct cg_policy *p = policy_load(argv[i], handler_check, &err);
		char msg[1024];

		if (p == NULL) {
			cg_error_format(&err, msg, sizeof(msg));
			fprintf(stderr, "%s\n", msg);
			bad = 1;
			continue;
		}
		printf("%s: ok (%zu channels, %zu clients, policy %.16s)\n",
		    argv[i], p->nchannels, p->nclients, p->hash);
		policy_free(p);
	}
	return bad;
}

static int
policy_show(int argc, char **argv)
{
	struct cg_error err;
	struct cg_policy *p;
	char msg[1024];

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		printf("usage: capgate policy show FILE\n\nPrints the effective "
		    "grants of each client.\n");
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: capgate policy show FILE\n");
		return 2;
	}
	p = policy_load(argv[1], handler_check, &err);
	if (p == NULL) {
		cg_error_format(&err, msg, sizeof(msg));
		fprintf(stderr, "%s\n", msg);
		return 1;
	}
	for (size_t i = 0; i < p->nclients; i++) {
		const struct cg_client_policy *cl = &p->clients[i];
		printf("client %s (%u channels)\n", cl->name, cl->nslots);
		printf("  %-32s %-7s %-20s %s\n", "CHANNEL", "KIND", "HANDLER",
		    "LIMITS");
		for (uint32_t s = 0; s < cl->nslots; s++) {
			const struct cg_channel *ch = &p->channels[cl->slot_channel[s]];
			printf("  %-32s %-7s %-20s max_bytes=%u", ch->name,
			    policy_kind_name(ch->kind), ch->handler, ch->max_bytes);
			if (ch->rate.per_sec > 0)
				printf(" rate=%.3g/s", ch->rate.per_sec);
			if (ch->uses > 0)
				printf(" uses=%u", ch->uses);
			printf("\n");
		}
	}
	policy_free(p);
	return 0;
}

int
cmd_policy(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return policy_check(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return policy_show(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		printf("usage: capgate policy check FILE...\n"
		    "       capgate policy show FILE\n");
		return 0;
	}
	fprintf(stderr, "usage: capgate policy check FILE... | capgate policy show FILE\n");
	return 2;
}
