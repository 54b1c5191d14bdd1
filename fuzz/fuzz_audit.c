/*
 * Fuzzes audit log verification with corrupt logs. The input is a log: it
 * is fed line by line to the incremental verifier (with the public key
 * named by $FUZZ_AUDIT_PUB, which fuzz/run makes and signs its seed logs
 * with, and without a key), and verified as a file through
 * audit_verify_files() on a memfd.
 *
 * Properties: without a key the verdict is never "intact"; the line-fed
 * verifier and the file verifier agree on the verdict; a verdict other
 * than intact names a line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned char pk[AUDIT_PUBKEY_LEN];
static int have_pk = -1;
static int memfd = -1;
static char path[64];

static enum cg_audit_verdict
feed(const unsigned char *key, const uint8_t *data, size_t size,
    struct cg_audit_verify_result *res)
{
	struct cg_audit_verifier *v = audit_verifier_new(key);
	size_t start = 0;
	enum cg_audit_verdict verdict;

	if (v == NULL)
		abort();
	audit_verifier_file(v, path);
	while (start < size) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		size_t end = nl ? (size_t)(nl - data) : size;
		json_t *rec = NULL;
		int r = audit_verifier_line(v, (const char *)data + start,
		    end - start, nl != NULL, &rec);
		json_decref(rec);
		if (r != 0)
			break;
		start = end + 1;
	}
	verdict = audit_verifier_result(v, res);
	audit_verifier_free(v);
	return verdict;
}

static void
init(void)
{
	const char *pub = getenv("FUZZ_AUDIT_PUB");
	struct cg_error err;

	have_pk = pub != NULL && audit_key_load_public(pub, pk, &err) == 0;
	memfd = memfd_create("fuzz-audit", MFD_CLOEXEC);
	if (memfd < 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_audit_verify_result res, fres;
	enum cg_audit_verdict a, b;
	const char *paths[1] = { path };

	if (have_pk < 0)
		init();
	if (feed(NULL, data, size, &res) == CG_AUDIT_INTACT)
		abort();
	if (!have_pk)
		return 0;
	a = feed(pk, data, size, &res);
	if (a != CG_AUDIT_INTACT && res.line == 0 && size > 0 &&
	    res.records > 0)
		abort();
	if (ftruncate(memfd, 0) != 0 || lseek(memfd, 0, SEEK_SET) != 0 ||
	    (size > 0 && cg_write_full(memfd, data, size) != (ssize_t)size))
		abort();
	b = audit_verify_files(paths, 1, pk, &fres);
	if (a != b)
		abort();
	return 0;
}
