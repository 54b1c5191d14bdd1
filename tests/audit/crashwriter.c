/*
 * A writer that never stops, for the crash tests: appends decision records
 * and commits each (sync "every") until it is killed. Prints "ready" once
 * `ready_after` records are on disk, so the test kills it mid-stream.
 *
 *   audit_crashwriter LOG KEY READY_AFTER [CHECKPOINT_EVERY]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"

int
main(int argc, char **argv)
{
	struct cg_audit_decision d;
	struct cg_audit_config cfg;
	struct cg_error err;
	struct cg_audit *a;
	unsigned long i, ready;
	char detail[200];

	if (argc < 4)
		return 64;
	memset(&cfg, 0, sizeof(cfg));
	cfg.path = argv[1];
	cfg.key_path = argv[2];
	cfg.sync = CG_AUDIT_SYNC_EVERY;
	cfg.checkpoint_every = argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 10) : 7;
	ready = strtoul(argv[3], NULL, 10);
	cg_error_clear(&err);
	a = audit_open(&cfg, "abcdef", &err);
	if (a == NULL) {
		fprintf(stderr, "crashwriter: %s\n", err.msg);
		return 1;
	}
	memset(detail, 'x', sizeof(detail) - 1);
	detail[sizeof(detail) - 1] = '\0';
	for (i = 0;; i++) {
		memset(&d, 0, sizeof(d));
		d.client = "main";
		d.pid = 1;
		d.channel = "demo:echo";
		d.kind = "invoke";
		d.request_id = (uint32_t)i;
		d.decision = CG_DECISION_ALLOW;
		d.detail = detail;   /* long lines: more chance to die mid-write */
		if (audit_append_decision(a, &d) != 0 || audit_commit(a) != 0)
			return 1;
		if (i + 1 == ready) {
			printf("ready\n");
			fflush(stdout);
		}
	}
}
