/*
 * Internals shared by the schema compiler (schema.c, schema_ref.c), the
 * validator (schema_validate.c), format checks (schema_format.c) and the
 * regex adapter (schema_regex.c). Not part of the public interface.
 *
 * A compiled schema is a graph of struct sch_node allocated from one arena
 * owned by struct cg_schema. Nodes are immutable after compilation, except
 * the regex match data, which is why a schema serves one thread at a time.
 */
#ifndef CG_POLICY_SCHEMA_INTERNAL_H
#define CG_POLICY_SCHEMA_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "policy/schema.h"

/* Nested evaluations allowed during one validation; deeper instances are
 * rejected (the frame parser already caps instances at 32-64 levels). */
#define SCH_MAX_DEPTH 512
/*
 * The work one validation may do, beyond which it fails closed: subschema
 * evaluations (a recursive schema under anyOf/oneOf can need exponentially
 * many in the instance's depth: 2^26 for a 500-byte expression tree), and
 * time (regular expressions: each match is bounded by PCRE2's limits, but a
 * message can hold thousands of keys, each tested against each pattern).
 * The clock is read at every regex match and every SCH_CLOCK_EVERY steps.
 * A legitimate message of the frame's size needs a small fraction of both.
 */
#define SCH_MAX_STEPS (1u << 20)
#define SCH_MAX_NS (50u * 1000u * 1000u)
#define SCH_CLOCK_EVERY 4096u
/* $ref -> $ref hops followed at compile time before giving up. */
#define SCH_MAX_REF_CHAIN 64
/* Nesting of schema documents walked at compile time. */
#define SCH_MAX_SCHEMA_DEPTH 256

/* Instance type classes used to pick the keywords that apply. */
enum sch_class {
	SCH_C_ANY = 0,
	SCH_C_NUMBER = 1,
	SCH_C_STRING = 2,
	SCH_C_ARRAY = 3,
	SCH_C_OBJECT = 4,
	SCH_C_COUNT = 5,
};

/* Bits of the "type" keyword. */
enum sch_type_bit {
	SCH_T_NULL = 1u << 0,
	SCH_T_BOOLEAN = 1u << 1,
	SCH_T_OBJECT = 1u << 2,
	SCH_T_ARRAY = 1u << 3,
	SCH_T_NUMBER = 1u << 4,
	SCH_T_STRING = 1u << 5,
	SCH_T_INTEGER = 1u << 6,
};

enum sch_kw_kind {
	SCH_KW_TYPE,
	SCH_KW_CONST,
	SCH_KW_ENUM,
	SCH_KW_ALLOF,
	SCH_KW_ANYOF,
	SCH_KW_ONEOF,
	SCH_KW_NOT,
	SCH_KW_IF,
	SCH_KW_MINIMUM,
	SCH_KW_MAXIMUM,
	SCH_KW_EXCL_MINIMUM,
	SCH_KW_EXCL_MAXIMUM,
	SCH_KW_MULTIPLE_OF,
	SCH_KW_MIN_LENGTH,
	SCH_KW_MAX_LENGTH,
	SCH_KW_PATTERN,
	SCH_KW_FORMAT,
	SCH_KW_ITEMS,
	SCH_KW_CONTAINS,
	SCH_KW_MIN_ITEMS,
	SCH_KW_MAX_ITEMS,
	SCH_KW_UNIQUE_ITEMS,
	SCH_KW_PROPS,
	SCH_KW_PROPERTY_NAMES,
	SCH_KW_DEPENDENCIES,
	SCH_KW_MIN_PROPERTIES,
	SCH_KW_MAX_PROPERTIES,
};

/* A JSON number kept exactly as jansson holds it. */
struct sch_num {
	bool is_int;
	json_int_t i;
	double d;
};

/* A decimal m * 10^e, exact for the shortest round-trip form of a double. */
struct sch_decimal {
	uint64_t m;
	int e;
};

struct sch_regex;
struct sch_node;

/* Precomputed membership set for "enum" (and deep equality helpers). */
struct sch_valueset {
	json_t **values;     /* owned references */
	size_t count;
	uint32_t *slots;     /* open addressing: index+1, 0 = empty */
	uint64_t *hashes;    /* hash of values[i] */
	size_t mask;
};

struct sch_prop {
	const char *name;     /* arena copy */
	size_t len;
	uint64_t hash;
	const struct sch_node *schema;  /* NULL: listed only in "required" */
	int required_bit;     /* -1 when not required or beyond 64 */
};

struct sch_pattern_prop {
	struct sch_regex *re;
	const struct sch_node *schema;
};

/* properties + patternProperties + additionalProperties + required, checked
 * in one pass over the instance's members. */
struct sch_props {
	struct sch_prop *table;   /* open addressing, mask+1 slots; name NULL = empty */
	size_t mask;
	struct sch_pattern_prop *patterns;
	size_t npatterns;
	const struct sch_node *additional;  /* NULL when absent */
	/* required names, checked by bitmask when <= 64 of them */
	const struct sch_prop **required;
	size_t nrequired;
	uint64_t required_mask;
	bool has_props;       /* "properties" present (for error keywords) */
};

struct sch_dependency {
	const char *name;
	size_t len;
	const struct sch_node *schema;  /* schema form, or NULL */
	const char **names;             /* array form */
	size_t *name_lens;
	size_t nnames;
};

struct sch_kw {
	enum sch_kw_kind kind;
	union {
		unsigned types;
		json_t *value;                 /* const */
		struct sch_valueset *set;      /* enum */
		struct {
			const struct sch_node **v;
			size_t n;
		} list;                        /* allOf/anyOf/oneOf */
		const struct sch_node *schema; /* not, contains, propertyNames */
		struct {
			const struct sch_node *cond, *then, *otherwise;
		} cond;
		struct {
			struct sch_num num;
			struct sch_decimal dec;  /* multipleOf */
		} num;
		size_t count;                  /* min/max Length/Items/Properties */
		struct sch_regex *re;          /* pattern */
		int format;                    /* enum sch_format */
		struct {
			const struct sch_node *all;     /* "items": schema */
			const struct sch_node **tuple;  /* "items": [schemas] */
			size_t ntuple;
			const struct sch_node *additional;
		} items;
		struct sch_props *props;
		struct {
			struct sch_dependency *v;
			size_t n;
		} deps;
	} u;
};

struct sch_kwlist {
	struct sch_kw *v;
	size_t n;
};

struct sch_node {
	/* $ref: when set, every other keyword of this node is ignored
	 * (draft-07), and the compiler points it at the final target. */
	const struct sch_node *ref;
	int boolean;          /* -1: not a boolean schema; 0 false; 1 true */
	struct sch_kwlist kw[SCH_C_COUNT];
	/* compile-time bookkeeping */
	const json_t *json;
	const char *location;     /* schema pointer (for errors) */
	const char *ref_uri;      /* unresolved $ref text until linked */
	const char *base;         /* base URI in effect */
	int mark;                 /* cycle detection colour */
};

/* --- arena (schema.c) --- */
struct sch_arena;
void *sch_alloc(struct sch_arena **arena, size_t size);
char *sch_strndup(struct sch_arena **arena, const char *s, size_t len);
void sch_arena_free(struct sch_arena *arena);

/* --- regex (schema_regex.c) --- */
struct sch_regex *sch_regex_compile(const char *pattern, size_t len,
    char *errbuf, size_t errlen);
/* 1 match, 0 no match, -1 resource limit or engine error */
int sch_regex_match(struct sch_regex *re, const char *s, size_t len);
void sch_regex_free(struct sch_regex *re);
bool sch_regex_is_valid(const char *pattern, size_t len);

/* --- formats (schema_format.c) --- */
enum sch_format {
	SCH_F_UNKNOWN = 0,
	SCH_F_DATE_TIME,
	SCH_F_DATE,
	SCH_F_TIME,
	SCH_F_EMAIL,
	SCH_F_HOSTNAME,
	SCH_F_IPV4,
	SCH_F_IPV6,
	SCH_F_URI,
	SCH_F_URI_REFERENCE,
	SCH_F_UUID,
	SCH_F_REGEX,
	SCH_F_JSON_POINTER,
	SCH_F_RELATIVE_JSON_POINTER,
	SCH_F_IRI,
	SCH_F_IRI_REFERENCE,
	SCH_F_URI_TEMPLATE,
};
int sch_format_lookup(const char *name);
const char *sch_format_name(int format);
bool sch_format_check(int format, const char *s, size_t len);

/* --- URIs and references (schema_ref.c) --- */
/* Resolves ref against base (RFC 3986 section 5.2); malloc'd result. */
char *sch_uri_resolve(const char *base, const char *ref);
/* Decodes a JSON pointer fragment's percent-escapes; malloc'd result. */
char *sch_percent_decode(const char *s, size_t len);

/* --- values (schema_values.c) --- */
/* 1 equal, 0 different, -1 nested deeper than SCH_MAX_DEPTH */
int sch_json_equal(const json_t *a, const json_t *b, int depth);
uint64_t sch_json_hash(const json_t *v, int depth);
uint64_t sch_hash_bytes(const char *s, size_t len);
int sch_num_get(const json_t *v, struct sch_num *out);
int sch_decimal_of(const struct sch_num *n, struct sch_decimal *out);
int sch_num_cmp(const struct sch_num *a, const struct sch_num *b);
bool sch_decimal_multiple(const struct sch_decimal *a,
    const struct sch_decimal *b);

/* --- compiler state (schema.c, schema_keywords.c, schema_ref.c) --- */
struct sch_doc {
	const json_t *root;
	const char *uri;          /* retrieval URI without fragment, "" if none */
};

/* A schema resource known by URI: a document root, a subschema with an
 * absolute "$id", or a location-independent identifier ("#foo"). */
struct sch_resource {
	const char *uri;          /* absolute; "#name" kept for anchors */
	const json_t *json;
	const char *base;         /* base URI in effect at json */
	const char *location;     /* JSON pointer of json in its document */
	size_t doc;
};

struct sch_compiler {
	struct cg_schema *schema;
	const struct cg_schema_options *opts;
	struct cg_error *err;
	struct sch_doc *docs;
	size_t ndocs, capdocs;
	struct sch_resource *res;
	size_t nres, capres;
	/* json identity -> compiled node */
	const json_t **memo_keys;
	struct sch_node **memo_vals;
	size_t memo_mask, memo_count;
	struct sch_node **nodes;  /* every node, in creation order */
	size_t nnodes, capnodes;
	int depth;
};

/* One resolved schema location. */
struct sch_target {
	const json_t *json;
	const char *base;
	const char *location;
};

int sch_compile_fail(struct sch_compiler *c, const char *location,
    const char *keyword, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void *sch_calloc(struct sch_compiler *c, size_t size);
int sch_compile_keywords(struct sch_compiler *c, struct sch_node *node,
    const json_t *obj, const char *base, const char *loc);
int sch_compiler_add_doc(struct sch_compiler *c, const json_t *root,
    const char *uri, const char *location);
int sch_walk_pointer(struct sch_compiler *c, const json_t *from,
    const char *base, const char *location, const char *fragment,
    struct sch_target *out);
int sch_resolve_ref(struct sch_compiler *c, const char *uri,
    struct sch_target *out);
int sch_link_refs(struct sch_compiler *c, size_t first);
int sch_check_cycles(struct sch_compiler *c);
struct sch_node *sch_compile_node(struct sch_compiler *c, const json_t *json,
    const char *base, const char *location);
char *sch_path_join(struct sch_compiler *c, const char *location,
    const char *key);
const char *sch_id_base(const json_t *json);

/* Compiled schema handle. */
struct cg_schema {
	struct sch_arena *arena;
	const struct sch_node *root;
	struct sch_regex **regexes;   /* every regex, for freeing */
	size_t nregexes;
	json_t **owned;               /* json references kept (const, enum) */
	size_t nowned;
	struct sch_valueset **sets;
	size_t nsets;
};

#endif
