/*
 * Phases: "after" and "until", the per-state table of OpenSSH's monitor
 * made declarative. A channel is usable once every channel in its "after"
 * list has succeeded for the client, and until any channel in its "until"
 * list has. The loader refuses phases that could never work.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_internal.h"

#define POLICY_PHASE_MAX 16

/* One entry of "after"/"until": a channel that can succeed. */
static int
phase_target(struct pol_ctx *c, size_t i, json_t *v, const char *at,
    const char *key, int32_t *out)
{
	const struct cg_channel *t;

	if (!json_is_string(v))
		return pol_fail(c, at, "\"%s\" must name a channel, or be a list "
		    "of channel names", key);
	*out = policy_channel_index(c->p, json_string_value(v),
	    json_string_length(v));
	if (*out < 0)
		return pol_fail(c, at, "\"%s\" names no channel in this policy",
		    json_string_value(v));
	if ((size_t)*out == i)
		return pol_fail(c, at, "a channel cannot depend on itself");
	t = &c->p->channels[*out];
	if (t->kind == CG_CHAN_EVENT)
		return pol_fail(c, at, "\"%s\" is an event channel, which a "
		    "client never calls: it can never succeed", t->name);
	return 0;
}

/* "after"/"until": a channel name or a non-empty list of them. */
static int
resolve_phase(struct pol_ctx *c, size_t i, const char *key, int32_t **list,
    uint32_t *n)
{
	struct cg_channel *ch = &c->p->channels[i];
	json_t *v = json_object_get(ch->config, key), *e;
	char at[512], kat[600], eat[620];
	size_t count, k;

	if (v == NULL)
		return 0;
	pol_pointer(at, sizeof(at), "/channels", ch->name);
	snprintf(kat, sizeof(kat), "%s/%s", at, key);
	count = json_is_array(v) ? json_array_size(v) : 1;
	if (count == 0 || count > POLICY_PHASE_MAX)
		return pol_fail(c, kat, "\"%s\" lists 1 to %d channels", key,
		    POLICY_PHASE_MAX);
	if ((*list = calloc(count, sizeof(**list))) == NULL)
		return pol_fail(c, kat, "out of memory");
	*n = (uint32_t)count;
	if (!json_is_array(v))
		return phase_target(c, i, v, kat, key, &(*list)[0]);
	json_array_foreach(v, k, e) {
		snprintf(eat, sizeof(eat), "%s/%zu", kat, k);
		if (phase_target(c, i, e, eat, key, &(*list)[k]) != 0)
			return -1;
		for (size_t j = 0; j < k; j++)
			if ((*list)[j] == (*list)[k])
				return pol_fail(c, eat, "\"%s\" is listed twice",
				    json_string_value(e));
	}
	return 0;
}

/* A channel that is in its own "after" and "until" can never be used. */
static int
check_phase_overlap(struct pol_ctx *c, size_t i)
{
	const struct cg_channel *ch = &c->p->channels[i];
	char at[512], kat[600];

	for (uint32_t a = 0; a < ch->nafter; a++) {
		for (uint32_t u = 0; u < ch->nuntil; u++) {
			if (ch->after_all[a] != ch->until_any[u])
				continue;
			pol_pointer(at, sizeof(at), "/channels", ch->name);
			snprintf(kat, sizeof(kat), "%s/until", at);
			return pol_fail(c, kat, "\"%s\" is in both \"after\" and "
			    "\"until\": the channel could never be used",
			    c->p->channels[ch->after_all[a]].name);
		}
	}
	return 0;
}

/*
 * A cycle of "after" (a after b, b after a) makes every channel on it
 * unusable. Iterative depth-first search with colours: 0 unseen, 1 on the
 * current path, 2 done; the path is an explicit stack, so a long chain of
 * 100000 channels cannot overflow the C stack.
 */
static int
check_after_cycles(struct pol_ctx *c)
{
	struct cg_policy *p = c->p;
	unsigned char *colour = calloc(p->nchannels + 1, 1);
	uint32_t *stack = malloc((p->nchannels + 1) * sizeof(*stack));
	uint32_t *next = calloc(p->nchannels + 1, sizeof(*next));
	int rc = 0;

	if (colour == NULL || stack == NULL || next == NULL)
		rc = pol_fail(c, "/channels", "out of memory");
	for (size_t root = 0; rc == 0 && root < p->nchannels; root++) {
		size_t depth = 0;
		if (colour[root] != 0)
			continue;
		stack[depth++] = (uint32_t)root;
		colour[root] = 1;
		while (depth > 0 && rc == 0) {
			uint32_t v = stack[depth - 1];
			const struct cg_channel *ch = &p->channels[v];
			if (next[v] == ch->nafter) {
				colour[v] = 2;
				depth--;
				continue;
			}
			uint32_t w = (uint32_t)ch->after_all[next[v]++];
			if (colour[w] == 1) {
				char at[512], kat[600];
				pol_pointer(at, sizeof(at), "/channels", ch->name);
				snprintf(kat, sizeof(kat), "%s/after", at);
				rc = pol_fail(c, kat, "\"after\" makes a cycle through "
				    "\"%s\": no channel on it can ever be used",
				    p->channels[w].name);
			} else if (colour[w] == 0) {
				colour[w] = 1;
				stack[depth++] = w;
			}
		}
	}
	free(colour);
	free(stack);
	free(next);
	return rc;
}

/* Phases need the index; called after it is built. */
int
policy_resolve_phases(struct pol_ctx *c)
{
	for (size_t i = 0; i < c->p->nchannels; i++) {
		struct cg_channel *ch = &c->p->channels[i];
		if ((resolve_phase(c, i, "after", &ch->after_all, &ch->nafter) != 0 ||
		    resolve_phase(c, i, "until", &ch->until_any, &ch->nuntil) != 0 ||
		    check_phase_overlap(c, i) != 0) && pol_next(c) != 0)
			return -1;
		ch->after = ch->nafter > 0 ? ch->after_all[0] : -1;
		ch->until = ch->nuntil > 0 ? ch->until_any[0] : -1;
	}
	/* a channel that failed above may hold unresolved entries */
	return c->nerrors > 0 ? -1 : check_after_cycles(c);
}


