#include "gateway/options.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define OPTIONS_MAX 32

int
options_parse(const char *cmd, int argc, char **argv,
    const struct cg_option *table,
    int (*on_option)(void *ctx, int index, const char *arg), void *ctx)
{
	struct option longs[OPTIONS_MAX + 2];
	char shorts[OPTIONS_MAX * 2 + 4] = "+:h";
	size_t n = 0, sl = strlen(shorts);
	int opt, li;

	for (; table[n].name != NULL && n < OPTIONS_MAX; n++) {
		longs[n].name = table[n].name;
		longs[n].has_arg = table[n].arg ? required_argument : no_argument;
		longs[n].flag = NULL;
		longs[n].val = 256 + (int)n;
		if (table[n].short_name != 0) {
			shorts[sl++] = table[n].short_name;
			if (table[n].arg)
				shorts[sl++] = ':';
		}
	}
	shorts[sl] = '\0';
	longs[n] = (struct option){ "help", no_argument, NULL, 'h' };
	longs[n + 1] = (struct option){ NULL, 0, NULL, 0 };
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, shorts, longs, &li)) != -1) {
		int idx = -1;
		if (opt == 'h')
			return -2;
		if (opt == '?' || opt == ':') {
			fprintf(stderr, "capgate %s: %s option %s\n", cmd,
			    opt == '?' ? "unknown" : "missing argument for",
			    argv[optind - 1]);
			return -1;
		}
		if (opt >= 256)
			idx = opt - 256;
		for (size_t i = 0; idx < 0 && i < n; i++)
			if (table[i].short_name == opt)
				idx = (int)i;
		if (idx < 0 || on_option(ctx, idx, optarg) != 0)
			return -1;
	}
	return optind;
}

void
options_usage(FILE *out, const char *usage, const char *summary,
    const struct cg_option *table)
{
	fprintf(out, "usage: %s\n\n%s\n", usage, summary);
	if (table[0].name != NULL)
		fprintf(out, "\noptions:\n");
	for (size_t i = 0; table[i].name != NULL; i++) {
		char left[64];
		snprintf(left, sizeof(left), "%s%c%s--%s%s%s",
		    table[i].short_name ? "-" : "",
		    table[i].short_name ? table[i].short_name : ' ',
		    table[i].short_name ? ", " : "  ",
		    table[i].name, table[i].arg ? " " : "",
		    table[i].arg ? table[i].arg : "");
		fprintf(out, "  %-28s %s\n", table[i].short_name ? left : left + 2,
		    table[i].help);
	}
	fprintf(out, "  %-28s %s\n", "-h, --help", "show this help");
}
