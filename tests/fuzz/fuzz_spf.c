// SOURCES: screen/spf.c screen/spf_record.c screen/spf_macro.c screen/dnscache.c lib/util.c lib/log.c
// LIBS:
/*
 * tests/fuzz/fuzz_spf.c - the SPF evaluator (screen/spf.c, the record
 * grammar in screen/spf_record.c, the macros in screen/spf_macro.c) on
 * arbitrary records, over a small fixed zone.
 *
 * Input: byte 0 picks the client (IPv4, IPv6, ip4-mapped) and whether the
 * sender is <> (HELO identity); the rest is split at '\n' into the record
 * of fuzz.example, the record of every name starting "inc" (so include:
 * and redirect= recurse into fuzzed text), and a macro string expanded
 * directly in each of the three kinds.
 * Misses are answered round by round: TXT from those records, A 127.0.0.2
 * for names starting "a", a temporary failure for names starting "t",
 * NXDOMAIN otherwise. Checks: no crash or UB; the evaluation ends within
 * ROUNDS_MAX rounds; every output string is terminated within its field,
 * the problem text is visible ASCII; the counters respect RFC 7208 4.6.4
 * (one over a limit at most, where it stopped); an explanation only with
 * fail; a second evaluation gives the same outcome; a valid domain-spec
 * expands to a name of at most 253 characters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../screen/dnscache.h"
#include "../../screen/spf.h"
#include "../../screen/spf_macro.h"

#define ROUNDS_MAX	100
#define FIELD_MAX	1024

struct fuzz_input {
	char	record[FIELD_MAX + 1];
	size_t	record_len;
	char	inc[FIELD_MAX + 1];
	size_t	inc_len;
	char	macro[FIELD_MAX + 1];
	size_t	macro_len;
};

static size_t
take_field(const uint8_t **p, const uint8_t *end, char *out)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t len = (size_t)((nl != NULL ? nl : end) - *p);

	if (len > FIELD_MAX)
		len = FIELD_MAX;
	memcpy(out, *p, len);
	out[len] = '\0';
	*p = nl != NULL ? nl + 1 : end;
	return len;
}

static void
put(struct dns_cache *c, const char *name, enum dv_type t, const char *data)
{
	struct dv_rr rr = { data, strlen(data), 10 };

	dns_cache_put(c, name, t, DV_OK, &rr, 1, false, 300);
}

static void
zone_fixed(struct dns_cache *c)
{
	put(c, "fuzz.example", DV_A, "192.0.2.1");
	put(c, "fuzz.example", DV_AAAA, "2001:db8::1");
	put(c, "fuzz.example", DV_MX, "mx.fuzz.example");
	put(c, "mx.fuzz.example", DV_A, "192.0.2.2");
	put(c, "mx.fuzz.example", DV_AAAA, "2001:db8::2");
	put(c, "2.2.0.192.in-addr.arpa", DV_PTR, "mx.fuzz.example");
	put(c, "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
	    DV_PTR, "mx.fuzz.example");
}

static void
answer_miss(struct dns_cache *c, const struct fuzz_input *in, const char *name,
    enum dv_type t)
{
	struct dv_rr rr = { NULL, 0, 0 };
	enum dv_status st = DV_NXDOMAIN;
	size_t n = 0;

	if (t == DV_TXT && strcmp(name, "fuzz.example") == 0) {
		rr.data = in->record;
		rr.len = in->record_len;
		n = 1;
	} else if (t == DV_TXT && strncmp(name, "inc", 3) == 0) {
		rr.data = in->inc;
		rr.len = in->inc_len;
		n = 1;
	} else if (name[0] == 'a') {
		rr.data = "127.0.0.2";
		rr.len = 9;
		n = t == DV_A ? 1 : 0;
	} else if (name[0] == 't') {
		st = DV_TEMPFAIL;
	}
	if (n > 0)
		st = DV_OK;
	else if (st == DV_NXDOMAIN && (name[0] == 'a' || strcmp(name, "fuzz.example") == 0))
		st = DV_NODATA;
	if (dns_cache_put(c, name, t, st, &rr, n, false, 300) == -1)
		abort();	/* misses are valid names, and nothing else pins */
}

static void
check_string(const char *s, size_t size, bool visible)
{
	size_t len = strnlen(s, size);

	if (len == size)
		abort();	/* not terminated within its field */
	for (size_t i = 0; visible && i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			abort();
}

static void
check_outcome(const struct spf_outcome *o)
{
	if (o->result < SPF_NONE || o->result > SPF_RESULT_MAX)
		abort();
	check_string(o->domain, sizeof(o->domain), true);
	check_string(o->term, sizeof(o->term), true);
	check_string(o->explanation, sizeof(o->explanation), true);
	check_string(o->problem, sizeof(o->problem), true);
	if (o->lookups > SPF_LOOKUP_LIMIT + 1 || o->void_lookups > SPF_VOID_LIMIT + 1)
		abort();
	if ((o->lookups > SPF_LOOKUP_LIMIT || o->void_lookups > SPF_VOID_LIMIT) &&
	    o->result != SPF_PERMERROR)
		abort();
	if (o->explanation[0] != '\0' && o->result != SPF_FAIL)
		abort();
}

static void
fuzz_evaluate(const struct fuzz_input *in, uint8_t selector)
{
	static const char *ips[] = { "192.0.2.2", "2001:db8::2", "::ffff:192.0.2.2",
	    "198.51.100.7" };
	struct dns_cache *c = dns_cache_new(512);
	struct dns_view *v = dv_new(c);
	struct spf_request req = {
		.ip = ips[selector & 3], .helo = "fuzz.example",
		.sender = (selector & 4) ? "" : "a.b+c=d@fuzz.example",
		.receiver = "mx.home.test", .now = 1700000000,
	};
	struct spf_outcome out, again;
	unsigned round;

	zone_fixed(c);
	for (round = 0; round < ROUNDS_MAX; round++) {
		dv_round_reset(v);
		if (spf_evaluate(v, &req, &out) == SPF_EVAL_DONE)
			break;
		if (dv_misses(v) == 0)
			abort();	/* pending must say what it misses */
		for (size_t i = 0; i < dv_misses(v); i++) {
			const char *name;
			enum dv_type t;
			dv_miss(v, i, &name, &t);
			answer_miss(c, in, name, t);
		}
	}
	if (round == ROUNDS_MAX)
		abort();
	check_outcome(&out);
	if (spf_evaluate(v, &req, &again) != SPF_EVAL_DONE ||
	    memcmp(&out, &again, sizeof(out)) != 0)
		abort();	/* the same answers must give the same outcome */
	dv_free(v);
	dns_cache_free(c);
}

static void
fuzz_macro(const struct fuzz_input *in)
{
	static const enum spf_macro_kind kinds[] = {
		SPF_MACRO_DOMAIN, SPF_MACRO_MODIFIER, SPF_MACRO_EXPLAIN };
	struct spf_macro_vars vars = {
		.sender = "a.b+c=d@fuzz.example", .local = "a.b+c=d",
		.sender_domain = "fuzz.example", .domain = "inc.fuzz.example",
		.ip_dotted = "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2",
		.ip_text = "2001:db8::2", .ip_version = "ip6", .helo = "[192.0.2.1]",
		.receiver = "mx.home.test", .validated = "unknown", .now = 1700000000,
	};
	char out[300], name[DV_NAME_MAX + 1];

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		bool valid = spf_macro_valid(in->macro, in->macro_len, kinds[k]);
		int n = spf_macro_expand(&vars, in->macro, in->macro_len, kinds[k], out,
		    sizeof(out));
		if (!valid && n != -1)
			abort();
		if (valid && kinds[k] == SPF_MACRO_EXPLAIN &&
		    (n < 0 || (size_t)n >= sizeof(out) || strlen(out) != (size_t)n))
			abort();
	}
	if (spf_macro_domain(&vars, in->macro, in->macro_len, name) == 0 &&
	    strlen(name) > DV_NAME_MAX)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_input in;
	const uint8_t *p = data + 1, *end = data + size;

	if (size < 1)
		return 0;
	in.record_len = take_field(&p, end, in.record);
	in.inc_len = take_field(&p, end, in.inc);
	in.macro_len = take_field(&p, end, in.macro);
	fuzz_evaluate(&in, data[0]);
	fuzz_macro(&in);
	return 0;
}
