/*
 * tests/tools/spf_suite.c - the driver that runs the RFC 7208 test suite
 * through spf_evaluate() (screen/spf.h), round by round.
 *
 * Owns: nothing beyond one run. It reads the fixture that
 * tests/tools/spf_suite.py writes from the suite's YAML:
 *	scenario DESCRIPTION
 *	rr NAME TYPE STATUS [PREF] [DATA]	one answer record, or a status
 *	case ID IP HELO MAILFROM RESULTS EXPL	RESULTS: "fail" or "pass,softfail";
 *						EXPL: "-" (not checked) or
 *						"x" + the expected text
 * Fields are escaped: \xHH for a byte, \- for the empty string.
 * Why rounds against a fresh cache per case: each case starts with an empty
 * dns_cache; a round's misses are answered from the scenario's records
 * (NXDOMAIN for a name it does not have) with dns_cache_put(), then the
 * case is evaluated again, exactly as the screen role's evaluation loop
 * (screen/eval.c) does with its resolver. So the suite tests the round
 * model too, not only the SPF grammar.
 * Prints "PASS ID ..." or "FAIL ID ..." per case and "SPF-ROUNDS max=N".
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dnscache.h"
#include "log.h"
#include "spf.h"
#include "util.h"

#define ROUNDS_MAX	30	/* screen/eval.h's EVAL_ROUNDS_MAX */
#define FIELD_MAX	(DV_TXT_MAX + 1)
#define FIELDS_MAX	8
#define RESULTS_MAX	4

struct zone_rr {
	char		*name;
	enum dv_type	 type;
	enum dv_status	 status;
	uint16_t	 pref;
	char		*data;
	size_t		 len;
};

struct zone {
	struct zone_rr	*rr;
	size_t		 n, cap;
};

struct suite_case {
	char		 id[128];
	char		 ip[64];
	char		 helo[512];
	char		 mailfrom[512];
	enum spf_result	 want[RESULTS_MAX];
	size_t		 nwant;
	bool		 check_expl;
	char		 expl[SPF_EXPLAIN_MAX * 2];
};

static unsigned	rounds_max_seen;

/* ---- the fixture ---------------------------------------------------------- */

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Unescapes a field into out (NUL-terminated too); -1 if malformed or long. */
static int
unescape(const char *in, char *out, size_t outsize, size_t *len)
{
	size_t n = 0;

	if (strcmp(in, "\\-") == 0)
		in = "";
	while (*in != '\0') {
		int ch = (unsigned char)*in++;
		if (ch == '\\') {
			int hi, lo;
			if (in[0] != 'x' || (hi = hexval(in[1])) == -1 ||
			    (lo = hexval(in[2])) == -1)
				return -1;
			ch = hi << 4 | lo;
			in += 3;
		}
		if (n + 1 >= outsize)
			return -1;
		out[n++] = (char)ch;
	}
	out[n] = '\0';
	if (len != NULL)
		*len = n;
	return 0;
}

static size_t
split_fields(char *line, char **field, size_t max)
{
	size_t n = 0;
	char *save = NULL;

	for (char *w = strtok_r(line, " \n", &save); w != NULL && n < max;
	    w = strtok_r(NULL, " \n", &save))
		field[n++] = w;
	return n;
}

static int
parse_type(const char *s, enum dv_type *t)
{
	static const char *names[] = { NULL, "A", "AAAA", "PTR", "TXT", "MX" };

	for (int i = DV_A; i <= DV_TYPE_MAX; i++)
		if (strcmp(s, names[i]) == 0) {
			*t = (enum dv_type)i;
			return 0;
		}
	return -1;
}

static int
parse_status(const char *s, enum dv_status *st)
{
	static const struct { const char *name; enum dv_status st; } rows[] = {
		{ "ok", DV_OK }, { "nxdomain", DV_NXDOMAIN },
		{ "nodata", DV_NODATA }, { "tempfail", DV_TEMPFAIL },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (strcmp(s, rows[i].name) == 0) {
			*st = rows[i].st;
			return 0;
		}
	return -1;
}

static int
parse_result(const char *s, enum spf_result *r)
{
	for (int i = SPF_NONE; i <= SPF_RESULT_MAX; i++)
		if (strcmp(s, spf_result_name((enum spf_result)i)) == 0) {
			*r = (enum spf_result)i;
			return 0;
		}
	return -1;
}

static char *
xmemdup(const char *p, size_t len)
{
	char *q = xcalloc(1, len + 1);

	memcpy(q, p, len);
	return q;
}

/* rr NAME TYPE STATUS [PREF] [DATA] */
static int
zone_add(struct zone *z, char **f, size_t nf)
{
	static char buf[FIELD_MAX];
	struct zone_rr rr = { 0 };
	size_t len, datafield = 4;

	if (nf < 4 || unescape(f[1], buf, sizeof(buf), &len) == -1 ||
	    parse_type(f[2], &rr.type) == -1 || parse_status(f[3], &rr.status) == -1)
		return -1;
	rr.name = xmemdup(buf, len);
	if (rr.type == DV_MX && rr.status == DV_OK) {
		if (nf < 6)
			return -1;
		rr.pref = (uint16_t)strtoul(f[4], NULL, 10);
		datafield = 5;
	}
	if (rr.status == DV_OK) {
		if (nf <= datafield || unescape(f[datafield], buf, sizeof(buf), &len) == -1)
			return -1;
		rr.data = xmemdup(buf, len);
		rr.len = len;
	}
	if (z->n == z->cap) {
		z->cap = z->cap ? z->cap * 2 : 64;
		z->rr = reallocarray(z->rr, z->cap, sizeof(*z->rr));
		if (z->rr == NULL)
			fatal("zone_add");
	}
	z->rr[z->n++] = rr;
	return 0;
}

static void
zone_clear(struct zone *z)
{
	for (size_t i = 0; i < z->n; i++) {
		free(z->rr[i].name);
		free(z->rr[i].data);
	}
	z->n = 0;
}

/* case ID IP HELO MAILFROM RESULTS EXPL */
static int
case_parse(char **f, size_t nf, struct suite_case *c)
{
	char results[128], *save = NULL;

	memset(c, 0, sizeof(*c));
	if (nf != 7 ||
	    unescape(f[1], c->id, sizeof(c->id), NULL) == -1 ||
	    unescape(f[2], c->ip, sizeof(c->ip), NULL) == -1 ||
	    unescape(f[3], c->helo, sizeof(c->helo), NULL) == -1 ||
	    unescape(f[4], c->mailfrom, sizeof(c->mailfrom), NULL) == -1 ||
	    snprintf(results, sizeof(results), "%s", f[5]) >= (int)sizeof(results))
		return -1;
	for (char *w = strtok_r(results, ",", &save); w != NULL;
	    w = strtok_r(NULL, ",", &save)) {
		if (c->nwant == RESULTS_MAX || parse_result(w, &c->want[c->nwant]) == -1)
			return -1;
		c->nwant++;
	}
	if (f[6][0] == 'x') {
		c->check_expl = true;
		if (unescape(f[6] + 1, c->expl, sizeof(c->expl), NULL) == -1)
			return -1;
	} else if (strcmp(f[6], "-") != 0) {
		return -1;
	}
	return c->nwant > 0 ? 0 : -1;
}

/* ---- running a case ------------------------------------------------------- */

/* Answers one miss from the zone: its records, or NXDOMAIN. */
static void
answer_miss(struct dns_cache *cache, const struct zone *z, const char *name,
    enum dv_type type)
{
	struct dv_rr rr[DV_RR_MAX];
	size_t n = 0;
	enum dv_status st = DV_NXDOMAIN;
	bool truncated = false;
	char key[DV_NAME_MAX + 1];

	for (size_t i = 0; i < z->n; i++) {
		if (dns_name_normalize(z->rr[i].name, key, sizeof(key)) == -1 ||
		    strcmp(key, name) != 0)
			continue;
		if (z->rr[i].type != type) {
			if (st == DV_NXDOMAIN)
				st = DV_NODATA;		/* the name exists */
			continue;
		}
		st = z->rr[i].status;
		if (st != DV_OK)
			continue;
		if (n == DV_RR_MAX) {
			truncated = true;
			continue;
		}
		rr[n].data = z->rr[i].data;
		rr[n].len = z->rr[i].len;
		rr[n].pref = z->rr[i].pref;
		n++;
	}
	if (dns_cache_put(cache, name, type, st, rr, n, truncated, 3600) == -1)
		fatalx("dns_cache_put %s failed", name);
}

static bool
case_result_ok(const struct suite_case *c, const struct spf_outcome *o)
{
	bool ok = false;

	for (size_t i = 0; i < c->nwant; i++)
		if (o->result == c->want[i])
			ok = true;
	return ok && (!c->check_expl || strcmp(o->explanation, c->expl) == 0);
}

static void
case_report(const struct suite_case *c, bool done, unsigned rounds,
    const struct spf_outcome *o)
{
	char want[128] = "";
	size_t off = 0;

	for (size_t i = 0; i < c->nwant; i++)
		off += (size_t)snprintf(want + off, sizeof(want) - off, "%s%s",
		    i ? "," : "", spf_result_name(c->want[i]));
	if (!done) {
		printf("FAIL %s rounds ran out (%u)\n", c->id, rounds);
		return;
	}
	printf("%s %s got=%s want=%s rounds=%u lookups=%u void=%u term=\"%s\"",
	    case_result_ok(c, o) ? "PASS" : "FAIL", c->id,
	    spf_result_name(o->result), want, rounds, o->lookups,
	    o->void_lookups, o->term);
	if (o->problem[0] != '\0')
		printf(" problem=\"%s\"", o->problem);
	if (c->check_expl)
		printf(" exp=\"%s\" want_exp=\"%s\"", o->explanation, c->expl);
	printf("\n");
}

static void
case_run(const struct suite_case *c, const struct zone *z)
{
	struct dns_cache *cache = dns_cache_new(4096);
	struct dns_view *view = dv_new(cache);
	struct spf_request req = {
		.ip = c->ip, .helo = c->helo, .sender = c->mailfrom,
		.receiver = "receiver.example.net", .now = 1400000000,
	};
	struct spf_outcome out;
	bool done = false;
	unsigned round;

	for (round = 1; round <= ROUNDS_MAX; round++) {
		dv_round_reset(view);
		if (spf_evaluate(view, &req, &out) == SPF_EVAL_DONE) {
			done = true;
			break;
		}
		if (dv_misses(view) == 0)
			fatalx("%s: pending without a miss", c->id);
		for (size_t i = 0; i < dv_misses(view); i++) {
			const char *name;
			enum dv_type type;
			dv_miss(view, i, &name, &type);
			answer_miss(cache, z, name, type);
		}
	}
	if (done && round > rounds_max_seen)
		rounds_max_seen = round;
	case_report(c, done, done ? round : ROUNDS_MAX, &out);
	dv_free(view);
	dns_cache_free(cache);
}

static int
run_fixture(FILE *f)
{
	static char line[4 * FIELD_MAX];
	struct zone zone = { 0 };
	struct suite_case c;
	char *field[FIELDS_MAX];
	unsigned lineno = 0;

	while (fgets(line, sizeof(line), f) != NULL) {
		size_t nf = split_fields(line, field, FIELDS_MAX);
		lineno++;
		if (nf == 0)
			continue;
		if (strcmp(field[0], "scenario") == 0) {
			zone_clear(&zone);
		} else if (strcmp(field[0], "rr") == 0) {
			if (zone_add(&zone, field, nf) == -1)
				fatalx("fixture line %u: bad rr", lineno);
		} else if (strcmp(field[0], "case") == 0) {
			if (case_parse(field, nf, &c) == -1)
				fatalx("fixture line %u: bad case", lineno);
			case_run(&c, &zone);
		} else {
			fatalx("fixture line %u: unknown line", lineno);
		}
	}
	zone_clear(&zone);
	free(zone.rr);
	printf("SPF-ROUNDS max=%u\n", rounds_max_seen);
	return 0;
}

int
main(int argc, char **argv)
{
	FILE *f;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: spf_suite FIXTURE\n");
		return 2;
	}
	if ((f = fopen(argv[1], "r")) == NULL) {
		perror(argv[1]);
		return 2;
	}
	rc = run_fixture(f);
	fclose(f);
	return rc;
}
