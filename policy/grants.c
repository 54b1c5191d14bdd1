/*
 * The "clients" section: who may use which channel.
 *
 * Grants are shell globs (fnmatch without flags: "*" also matches ':' and
 * '/'), expanded once at load into a per-client slot table so the
 * per-message check is one array read. Because a wrong grant fails open or
 * silently closes, the author's mistakes are errors, not warnings: a grant
 * that matches nothing (a typo), a grant listed twice or covered by another
 * (the author believes it matters), "*" in a policy with several clients
 * (it hands this client every channel meant for the others, including ones
 * added later), and a granted channel whose phase names a channel the
 * client is not granted (it can never be used, or never stops being
 * usable).
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_internal.h"

#define POLICY_CLIENTS_MAX 1024
#define POLICY_GRANTS_MAX 4096

/* Which channels each grant of one client matches: ngrants bitmaps of
 * nwords 64-bit words. Load-time only. */
struct grant_sets {
	uint64_t *bits;
	size_t nwords;
	size_t ngrants;
	size_t *count;           /* channels each grant matches */
};

static uint64_t *
set_of(const struct grant_sets *g, size_t gi)
{
	return g->bits + gi * g->nwords;
}

static int
match_grants(struct pol_ctx *c, struct cg_client_policy *cl,
    struct grant_sets *g)
{
	const struct cg_policy *p = c->p;
	json_t *e;
	size_t gi;

	g->ngrants = json_array_size(cl->grants);
	g->nwords = (p->nchannels + 63) / 64;
	g->bits = calloc(g->ngrants * g->nwords + 1, sizeof(*g->bits));
	g->count = calloc(g->ngrants + 1, sizeof(*g->count));
	if (g->bits == NULL || g->count == NULL)
		return -1;
	json_array_foreach(cl->grants, gi, e) {
		const char *pat = json_string_value(e);
		uint64_t *s = set_of(g, gi);
		int idx;
		/* A grant without glob characters is a name: one hash lookup. */
		if (strpbrk(pat, "*?[\\") == NULL) {
			idx = policy_channel_index(p, pat, strlen(pat));
			if (idx >= 0) {
				s[idx / 64] |= 1ull << (idx % 64);
				g->count[gi] = 1;
			}
			continue;
		}
		for (size_t i = 0; i < p->nchannels; i++) {
			if (fnmatch(pat, p->channels[i].name, 0) != 0)
				continue;
			s[i / 64] |= 1ull << (i % 64);
			g->count[gi]++;
		}
	}
	return 0;
}

static bool
is_subset(const uint64_t *a, const uint64_t *b, size_t nwords)
{
	for (size_t w = 0; w < nwords; w++)
		if ((a[w] & ~b[w]) != 0)
			return false;
	return true;
}

/* Is every channel of grant a also granted by some other grant? (cover[i]
 * counts the grants matching channel i.) Cheap filter before the pairwise
 * check, so ten thousand literal grants cost ten thousand lookups. */
static bool
maybe_covered(const struct grant_sets *g, const uint32_t *cover, size_t a)
{
	const uint64_t *s = set_of(g, a);

	for (size_t w = 0; w < g->nwords; w++) {
		for (uint64_t bits = s[w]; bits != 0; bits &= bits - 1) {
			size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
			if (cover[i] < 2)
				return false;
		}
	}
	return true;
}

static int
report_cover(struct pol_ctx *c, const struct cg_client_policy *cl,
    const struct grant_sets *g, const char *at, size_t a)
{
	const char *pa = json_string_value(json_array_get(cl->grants, a));
	char gat[600];

	snprintf(gat, sizeof(gat), "%s/grants/%zu", at, a);
	for (size_t b = 0; b < g->ngrants; b++) {
		const char *pb = json_string_value(json_array_get(cl->grants, b));
		if (b == a || !is_subset(set_of(g, a), set_of(g, b), g->nwords))
			continue;
		/* Equal sets: the later grant is the redundant one. */
		if (g->count[a] == g->count[b] && b > a)
			continue;
		if (strcmp(pa, pb) == 0)
			return pol_fail(c, gat, "grant \"%s\" is listed twice "
			    "(also at index %zu)", pa, b);
		return pol_fail(c, gat, "grant \"%s\" is covered by grant \"%s\" "
		    "(index %zu): it grants nothing more", pa, pb, b);
	}
	return 0;
}

/* A grant that adds nothing to another grant of the same client is a
 * mistake the author should see: the two probably meant different things. */
static int
check_overlaps(struct pol_ctx *c, const struct cg_client_policy *cl,
    const struct grant_sets *g, const char *at)
{
	uint32_t *cover = calloc(c->p->nchannels + 1, sizeof(*cover));
	int rc = 0;

	if (cover == NULL)
		return pol_fail(c, at, "out of memory");
	for (size_t a = 0; a < g->ngrants; a++) {
		const uint64_t *s = set_of(g, a);
		for (size_t w = 0; w < g->nwords; w++)
			for (uint64_t bits = s[w]; bits != 0; bits &= bits - 1)
				cover[w * 64 + (size_t)__builtin_ctzll(bits)]++;
	}
	for (size_t a = 0; a < g->ngrants && rc == 0; a++)
		if (maybe_covered(g, cover, a))
			rc = report_cover(c, cl, g, at, a);
	free(cover);
	return rc;
}

/* The grant that first gave channel i to cl (for error positions). */
static size_t
granting(const struct grant_sets *g, size_t i)
{
	for (size_t gi = 0; gi < g->ngrants; gi++)
		if (set_of(g, gi)[i / 64] & (1ull << (i % 64)))
			return gi;
	return 0;
}

/* Phases are per client: a phase channel the client cannot call never
 * succeeds for it. */
static int
check_phase_grants(struct pol_ctx *c, const struct cg_client_policy *cl,
    const struct grant_sets *g, const char *at)
{
	const struct cg_policy *p = c->p;
	char gat[600];

	for (uint32_t s = 0; s < cl->nslots; s++) {
		size_t i = cl->slot_channel[s];
		const struct cg_channel *ch = &p->channels[i];
		for (uint32_t k = 0; k < ch->nafter + ch->nuntil; k++) {
			bool after = k < ch->nafter;
			int32_t t = after ? ch->after_all[k] : ch->until_any[k - ch->nafter];
			if (cl->slot[t] >= 0)
				continue;
			snprintf(gat, sizeof(gat), "%s/grants/%zu", at, granting(g, i));
			return pol_fail(c, gat, "client \"%s\" is granted \"%s\", whose "
			    "\"%s\" channel \"%s\" it is not granted: %s", cl->name,
			    ch->name, after ? "after" : "until", p->channels[t].name,
			    after ? "it can never be used" :
			    "its phase can never end");
		}
	}
	return 0;
}

static int
fill_slots(struct pol_ctx *c, struct cg_client_policy *cl,
    const struct grant_sets *g, const char *at)
{
	const struct cg_policy *p = c->p;
	uint64_t *all = calloc(g->nwords + 1, sizeof(*all));

	cl->slot = malloc((p->nchannels + 1) * sizeof(*cl->slot));
	cl->slot_channel = malloc((p->nchannels + 1) * sizeof(*cl->slot_channel));
	if (all == NULL || cl->slot == NULL || cl->slot_channel == NULL) {
		free(all);
		return pol_fail(c, at, "out of memory");
	}
	for (size_t gi = 0; gi < g->ngrants; gi++)
		for (size_t w = 0; w < g->nwords; w++)
			all[w] |= set_of(g, gi)[w];
	for (size_t i = 0; i < p->nchannels; i++) {
		bool any = (all[i / 64] & (1ull << (i % 64))) != 0;
		cl->slot[i] = any ? (int32_t)cl->nslots : -1;
		if (any)
			cl->slot_channel[cl->nslots++] = (uint32_t)i;
	}
	free(all);
	return 0;
}

static int
check_grants(struct pol_ctx *c, const struct cg_client_policy *cl,
    const struct grant_sets *g, const char *at)
{
	char gat[600];

	for (size_t gi = 0; gi < g->ngrants; gi++) {
		const char *pat = json_string_value(json_array_get(cl->grants, gi));
		snprintf(gat, sizeof(gat), "%s/grants/%zu", at, gi);
		if (pat[0] == '\0' || strlen(pat) > 256)
			return pol_fail(c, gat, "a grant is a channel name or glob "
			    "of 1-256 characters");
		if (strspn(pat, "*") == strlen(pat) && c->p->nclients > 1)
			return pol_fail(c, gat, "grant \"%s\" gives client \"%s\" every "
			    "channel, including those of the other clients and any "
			    "added later; name its channels or a prefix such as "
			    "\"%s:*\"", pat, cl->name, cl->name);
		if (g->count[gi] == 0)
			return pol_fail(c, gat, "grant \"%s\" matches no channel", pat);
	}
	return check_overlaps(c, cl, g, at);
}

/*
 * Expands a client's grants into its slot table. explicit is false for the
 * implicit "main" client of a policy without "clients", whose one grant
 * "*" may match nothing (a policy with no channels).
 */
static int
expand_grants(struct pol_ctx *c, struct cg_client_policy *cl, const char *at,
    bool explicit)
{
	struct grant_sets g = { 0 };
	int rc;

	if (match_grants(c, cl, &g) != 0)
		rc = pol_fail(c, at, "out of memory");
	else if (explicit && check_grants(c, cl, &g, at) != 0)
		rc = -1;
	else if (fill_slots(c, cl, &g, at) != 0)
		rc = -1;
	else
		rc = check_phase_grants(c, cl, &g, at);
	free(g.bits);
	free(g.count);
	return rc;
}

static int
parse_client(struct pol_ctx *c, const char *name, json_t *obj,
    struct cg_client_policy *cl)
{
	static const char *const keys[] = { "grants", "exec", "description",
	    NULL };
	char at[512], xat[600];

	pol_pointer(at, sizeof(at), "/clients", name);
	if (!json_is_object(obj))
		return pol_fail(c, at, "a client must be an object");
	if (name[0] == '\0' || strlen(name) > 63 ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") != strlen(name))
		return pol_fail(c, at, "a client name has 1-63 of A-Z a-z 0-9 . _ -");
	if ((cl->name = strdup(name)) == NULL)
		return pol_fail(c, at, "out of memory");
	if (pol_check_keys(c, obj, at, keys) != 0 ||
	    pol_get_string(c, obj, at, "description", NULL) != 0 ||
	    pol_get_string_array(c, obj, at, "grants", &cl->grants) != 0 ||
	    pol_get_string_array(c, obj, at, "exec", &cl->exec) != 0)
		return -1;
	snprintf(xat, sizeof(xat), "%s/exec", at);
	if (cl->exec != NULL && json_array_size(cl->exec) == 0)
		return pol_fail(c, xat, "expected \"exec\": [PROGRAM, ARGS...]");
	if (cl->grants == NULL)
		return pol_fail(c, at, "expected \"grants\": an array of channel "
		    "names or globs");
	if (json_array_size(cl->grants) > POLICY_GRANTS_MAX)
		return pol_fail(c, at, "more than %d grants", POLICY_GRANTS_MAX);
	return expand_grants(c, cl, at, true);
}

int
policy_parse_clients(struct pol_ctx *c, json_t *clients)
{
	const char *name;
	json_t *v;
	size_t n = 0;

	if (clients == NULL) {
		/* A single-client policy: the client is "main" and is granted
		 * every channel the policy declares. */
		c->p->clients = calloc(1, sizeof(*c->p->clients));
		if (c->p->clients == NULL)
			return pol_fail(c, "", "out of memory");
		c->p->nclients = 1;
		c->p->clients[0].name = strdup("main");
		c->p->clients[0].grants = json_pack("[s]", "*");
		if (c->p->clients[0].name == NULL || c->p->clients[0].grants == NULL)
			return pol_fail(c, "", "out of memory");
		return expand_grants(c, &c->p->clients[0], "", false);
	}
	if (!json_is_object(clients) || json_object_size(clients) == 0)
		return pol_fail(c, "/clients", "\"clients\" must be a non-empty object");
	if (json_object_size(clients) > POLICY_CLIENTS_MAX)
		return pol_fail(c, "/clients", "more than %d clients",
		    POLICY_CLIENTS_MAX);
	c->p->clients = calloc(json_object_size(clients), sizeof(*c->p->clients));
	if (c->p->clients == NULL)
		return pol_fail(c, "/clients", "out of memory");
	/* nclients is the final count before any client is parsed: the "*"
	 * rule depends on it. */
	c->p->nclients = json_object_size(clients);
	json_object_foreach(clients, name, v) {
		if (parse_client(c, name, v, &c->p->clients[n++]) != 0 &&
		    pol_next(c) != 0)
			return -1;
	}
	return 0;
}
