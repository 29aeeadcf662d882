// SOURCES: screen/identity.c screen/dnsbl.c screen/sender.c screen/behaviour.c screen/dynptr.c screen/ipname.c screen/dnscache.c screen/score.c lib/config.c lib/config_dest.c lib/config_screen.c lib/config_scan.c lib/hostport.c lib/addr.c lib/addr_intl.c lib/log.c lib/util.c lib/utf8.c
// LIBS: -lpsl -lidn2 -lunistring
/*
 * tests/fuzz/fuzz_screen_checks.c - every check of screen/identity.c,
 * dnsbl.c, sender.c and behaviour.c, and the DNS-list probe, on facts and
 * DNS cache contents from the fuzzer, run in rounds as screen/eval.c runs
 * them. Input, lines:
 *	client_ip / local_ip / helo / mail_from / F<errors>   (F: flags byte)
 *	then records: T S X name rr rr ...   (T type, S status, X truncated;
 *	one byte each; an MX rr is a preference byte then the host)
 * Misses left after the given records are answered from a fixed pattern.
 * The checks must converge in a few rounds (no unbounded work), and every
 * score must stay well-formed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../screen/checks.h"
#include "../../screen/dnscache.h"

#define ROUNDS_MAX	6	/* PTR -> names' addresses -> done, with slack */
#define INPUT_LINE_MAX	1024

typedef void (*check_fn)(const struct screen_env *, const struct screen_facts *,
    struct dns_view *, struct score *);

static const check_fn checks[] = {
	check_client, check_helo, check_lists, check_sender, check_behaviour, dnsbl_probe_check,
};

/* Next line of data into out (NUL-terminated, cut at size). */
static size_t
next_line(const uint8_t **p, const uint8_t *end, char *out, size_t size)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t len = nl != NULL ? (size_t)(nl - *p) : (size_t)(end - *p);
	size_t keep = len < size - 1 ? len : size - 1;

	memcpy(out, *p, keep);
	out[keep] = '\0';
	*p = nl != NULL ? nl + 1 : end;
	return keep;
}

static void
put_record(struct dns_cache *c, const char *line, size_t len)
{
	static const enum dv_status st[] = { DV_OK, DV_NXDOMAIN, DV_NODATA, DV_TEMPFAIL };
	struct dv_rr rr[DV_RR_MAX];
	size_t n = 0, i;
	char name[DV_NAME_MAX + 2];

	if (len < 4)
		return;
	enum dv_type type = (enum dv_type)(DV_A + (uint8_t)line[0] % DV_TYPE_MAX);
	enum dv_status status = st[(uint8_t)line[1] % 4];
	bool trunc = line[2] & 1;
	for (i = 3; i < len && line[i] != ' ' && i - 3 < sizeof(name) - 1; i++)
		name[i - 3] = line[i];
	name[i - 3] = '\0';
	while (i < len && n < DV_RR_MAX) {
		size_t start = ++i;
		while (i < len && line[i] != ' ')
			i++;
		const char *d = line + start;
		size_t dl = i - start;
		uint16_t pref = 0;
		if (type == DV_MX && dl > 0) {
			pref = (uint8_t)d[0];
			d++;
			dl--;
		}
		rr[n++] = (struct dv_rr){ d, dl, pref };
	}
	dns_cache_put(c, name, type, status, rr, n, trunc, 300);
}

/* A miss the input did not answer: a fixed pattern of answers. */
static void
answer_miss(struct dns_cache *c, const char *name, enum dv_type type, unsigned k)
{
	static const char *const ok[] = { NULL, "127.0.0.2", "2001:db8::1",
	    "mail.example.net", "v=spf1 -all", "mx.example.net" };
	struct dv_rr rr = { ok[type], strlen(ok[type]), 10 };

	switch (k % 4) {
	case 0:	dns_cache_put(c, name, type, DV_OK, &rr, 1, false, 300); break;
	case 1:	dns_cache_put(c, name, type, DV_NXDOMAIN, NULL, 0, false, 300); break;
	case 2:	dns_cache_put(c, name, type, DV_NODATA, NULL, 0, k & 4, 300); break;
	default: dns_cache_put(c, name, type, DV_TEMPFAIL, NULL, 0, false, 300); break;
	}
}

static void
score_check(const struct score *s)
{
	if (s->n > SCORE_ITEMS_MAX)
		abort();
	for (size_t i = 0; i < s->n; i++) {
		const struct score_item *it = &s->item[i];
		if (it->name[0] == '\0' || it->weight > it->worst ||
		    (!it->unknown && it->weight != it->worst) ||
		    memchr(it->reason, '\0', sizeof(it->reason)) == NULL)
			abort();
	}
}

static void
facts_from(const uint8_t **p, const uint8_t *end, struct screen_facts *f)
{
	char line[INPUT_LINE_MAX];

	memset(f, 0, sizeof(*f));
	f->stage = SCREEN_STAGE_RCPT;
	next_line(p, end, f->client_ip, sizeof(f->client_ip));
	next_line(p, end, f->local_ip, sizeof(f->local_ip));
	next_line(p, end, f->helo, sizeof(f->helo));
	next_line(p, end, f->mail_from, sizeof(f->mail_from));
	if (next_line(p, end, line, sizeof(line)) > 0) {
		f->flags = (uint8_t)line[0] & SCREEN_FACTS_ALL;
		f->errors = (uint16_t)strtoul(line + 1, NULL, 10);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	static int ready;
	struct dnsbl_health health;
	struct screen_env env = { &cfg, &health, NULL };
	struct screen_facts f;
	struct score s;
	char line[INPUT_LINE_MAX];
	const uint8_t *p = data, *end = data + size;
	unsigned round, k = size > 0 ? data[size - 1] : 0;

	if (!ready) {
		config_defaults(&cfg);
		ready = 1;
	}
	if (size > 8192)
		return 0;
	dnsbl_health_init(&health);
	facts_from(&p, end, &f);
	struct dns_cache *c = dns_cache_new(4096);
	while (p < end) {
		size_t len = next_line(&p, end, line, sizeof(line));
		put_record(c, line, len);
	}
	struct dns_view *v = dv_new(c);
	for (round = 0; round < ROUNDS_MAX; round++) {
		dv_round_reset(v);
		score_init(&s);
		for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
			checks[i](&env, &f, v, &s);
		score_check(&s);
		if (dv_misses(v) == 0)
			break;
		for (size_t i = 0; i < dv_misses(v); i++) {
			const char *name;
			enum dv_type type;
			dv_miss(v, i, &name, &type);
			answer_miss(c, name, type, k++);
		}
	}
	if (round == ROUNDS_MAX)
		abort();	/* the checks keep asking: unbounded */
	dv_free(v);
	dns_cache_free(c);
	return 0;
}
