/*
 * Fuzzes the policy loader: the input is written to a memfd and loaded
 * through /proc/self/fd/N, exactly as a file would be (no refactoring of
 * policy_load for the fuzzer's sake). A policy that loads must answer
 * lookups for every channel and client it declares; one that fails must
 * say where (a line and column inside the file).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/util.h"
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd = -1;
static char path[64];

static void
check_loaded(const struct cg_policy *p)
{
	for (size_t i = 0; i < p->nchannels; i++) {
		const char *n = p->channels[i].name;
		if (policy_channel_index(p, n, strlen(n)) != (int)i)
			abort();
	}
	for (size_t i = 0; i < p->nclients; i++) {
		const struct cg_client_policy *cp = &p->clients[i];
		if (policy_client(p, cp->name) == NULL)
			abort();
		for (size_t k = 0; k < p->nchannels; k++)
			if (cp->slot[k] >= (int32_t)cp->nslots ||
			    (cp->slot[k] >= 0 &&
			    cp->slot_channel[cp->slot[k]] != k))
				abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_policy *p;
	struct cg_error err;

	if (memfd < 0) {
		memfd = memfd_create("fuzz-policy", MFD_CLOEXEC);
		if (memfd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	if (ftruncate(memfd, 0) != 0 || lseek(memfd, 0, SEEK_SET) != 0 ||
	    (size > 0 && cg_write_full(memfd, data, size) != (ssize_t)size))
		abort();
	p = policy_load(path, NULL, &err);
	if (p != NULL) {
		check_loaded(p);
		policy_free(p);
	} else if (err.msg[0] == '\0' || err.line < 1 || err.column < 1) {
		abort();
	}
	return 0;
}
