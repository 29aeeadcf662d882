/*
 * screen/dnsbl.c - DNS block and allow lists (RFC 5782): check_lists, and
 * the lists' health (probe, state, changes to log; screen/dnsbl_health.h).
 *
 * Owns: the meaning of a list's answer. A listing is an A record in
 * 127.0.0.0/8 (RFC 5782 2.3); its code (the whole address, or the last
 * octet for match=last-octet lists such as dnswl.org) picks the weight,
 * the list's own weight counts for an unknown code, and of several codes
 * the strongest counts: the highest for a block list, the lowest (most
 * trust) for an allow list. Answers outside 127/8 are not listings (a
 * hijacked or expired zone answers everything) and leave a zero-weight
 * note. A refusal code is never a listing: it marks the list refusing.
 * All lists are asked in the same round; a list that cannot answer now
 * adds the range of what it might have said (screen/score.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <stdio.h>
#include <string.h>

#include "checks.h"
#include "dnsbl_health.h"
#include "ipname.h"

#define LIST_NAME_MAX	(SCORE_NAME_MAX + 1)

/* ---- health ------------------------------------------------------------------- */

void
dnsbl_health_init(struct dnsbl_health *h)
{
	memset(h, 0, sizeof(*h));	/* LIST_UNKNOWN everywhere */
}

static bool
state_usable(enum list_state st)
{
	return st == LIST_UNKNOWN || st == LIST_HEALTHY;
}

bool
dnsbl_list_usable(const struct dnsbl_health *h, size_t i)
{
	return h == NULL || i >= SCREEN_LISTS_MAX || state_usable(h->state[i]);
}

bool
dnsbl_list_usable6(const struct dnsbl_health *h, size_t i)
{
	return dnsbl_list_usable(h, i) &&
	    (h == NULL || i >= SCREEN_LISTS_MAX || state_usable(h->state6[i]));
}

const char *
list_state_name(enum list_state st)
{
	switch (st) {
	case LIST_UNKNOWN:		return "unknown";
	case LIST_HEALTHY:		return "healthy";
	case LIST_LISTS_EVERYTHING:	return "lists_everything";
	case LIST_DEAD:			return "dead";
	case LIST_REFUSING:		return "refusing";
	}
	return "?";
}

void
dnsbl_health_note_refusing(struct dnsbl_health *h, size_t i, bool ipv6)
{
	if (h == NULL || i >= SCREEN_LISTS_MAX)
		return;
	if (ipv6)
		h->state6[i] = LIST_REFUSING;
	else
		h->state[i] = LIST_REFUSING;
}

void
dnsbl_health_apply(struct dnsbl_health *h, const struct screen_config *sc,
    const struct dnsbl_probe *p)
{
	for (size_t i = 0; i < sc->nlists && i < SCREEN_LISTS_MAX; i++) {
		h->state[i] = p->state[i];
		h->state6[i] = sc->lists[i].ipv6 ? p->state6[i] : LIST_UNKNOWN;
	}
}

bool
dnsbl_health_change(struct dnsbl_health *h, size_t *i, bool *ipv6,
    enum list_state *from, enum list_state *to)
{
	for (size_t k = 0; k < SCREEN_LISTS_MAX; k++) {
		if (h->state[k] != h->logged[k]) {
			*i = k;
			*ipv6 = false;
			*from = h->logged[k];
			*to = h->logged[k] = h->state[k];
			return true;
		}
		if (h->state6[k] != h->logged6[k]) {
			*i = k;
			*ipv6 = true;
			*from = h->logged6[k];
			*to = h->logged6[k] = h->state6[k];
			return true;
		}
	}
	return false;
}

/* ---- one answer ------------------------------------------------------------------ */

/* 127.255.255.x, and 127.0.0.255 from an allow list. */
static bool
code_is_refusal(const struct screen_list *l, uint32_t addr)
{
	return (addr & 0xffffff00u) == 0x7fffff00u || (l->allow && addr == 0x7f0000ffu);
}

static bool
code_in_loopback(uint32_t addr)
{
	return (addr >> 24) == 127;
}

/* The A record's address in host order; false if it is not IPv4 text. */
static bool
rr_addr(const struct dv_rr *rr, uint32_t *out)
{
	struct in_addr in;

	if (inet_pton(AF_INET, rr->data, &in) != 1)
		return false;
	*out = ntohl(in.s_addr);
	return true;
}

static bool
answer_refuses(const struct screen_list *l, const struct dv_answer *a)
{
	uint32_t addr;

	for (size_t i = 0; i < a->n; i++)
		if (rr_addr(&a->rr[i], &addr) && code_is_refusal(l, addr))
			return true;
	return false;
}

static bool
answer_lists(const struct screen_list *l, const struct dv_answer *a)
{
	uint32_t addr;

	for (size_t i = 0; i < a->n; i++)
		if (rr_addr(&a->rr[i], &addr) && code_in_loopback(addr) &&
		    !code_is_refusal(l, addr))
			return true;
	return false;
}

static int
code_weight(const struct screen_list *l, uint32_t addr)
{
	uint32_t code = l->match == LIST_MATCH_LAST_OCTET ? (addr & 0xff) : addr;

	for (size_t i = 0; i < l->ncodes && i < SCREEN_CODES_MAX; i++)
		if (l->codes[i].code == code)
			return l->codes[i].weight;
	return l->weight;
}

static void
list_name(const struct screen_list *l, char *out, size_t size)
{
	snprintf(out, size, "%s:%s", l->allow ? "dnswl" : "dnsbl", l->zone);
}

/* Somewhere between nothing and the list's strongest code. */
static void
list_unknown(const struct screen_list *l, const char *name, struct score *s)
{
	int lo = l->weight < 0 ? l->weight : 0, hi = l->weight > 0 ? l->weight : 0;

	for (size_t i = 0; i < l->ncodes && i < SCREEN_CODES_MAX; i++) {
		if (l->codes[i].weight < lo)
			lo = l->codes[i].weight;
		if (l->codes[i].weight > hi)
			hi = l->codes[i].weight;
	}
	score_add_unknown(s, name, lo, hi, "tempfail");
}

static void
list_listed(const struct screen_list *l, const char *name, const struct dv_answer *a,
    struct score *s)
{
	const char *strongest = NULL, *ignored = NULL;
	int best = 0;
	uint32_t addr;

	for (size_t i = 0; i < a->n; i++) {
		if (!rr_addr(&a->rr[i], &addr))
			continue;
		if (!code_in_loopback(addr)) {
			if (ignored == NULL)
				ignored = a->rr[i].data;
			continue;
		}
		int w = code_weight(l, addr);
		if (strongest == NULL || (l->allow ? w < best : w > best)) {
			best = w;
			strongest = a->rr[i].data;
		}
	}
	if (ignored != NULL)
		score_add(s, name, 0, "ignored %s: outside 127/8", ignored);
	if (strongest == NULL)
		return;
	score_add(s, name, best, "listed %s", strongest);
	if (l->allow)	/* never greylisted (screen/judge.c) */
		s->allow_listed = true;
}

void
check_lists(const struct screen_env *env, const struct screen_facts *f,
    struct dns_view *v, struct score *s)
{
	const struct screen_config *sc = &env->cfg->screen;
	char qname[DV_NAME_MAX + 1], name[LIST_NAME_MAX];
	struct ip_addr client;
	struct dv_answer a;

	if (ip_addr_parse(f->client_ip, &client) == -1)
		return;
	bool v6 = client.family == AF_INET6;
	for (size_t i = 0; i < sc->nlists && i < SCREEN_LISTS_MAX; i++) {
		const struct screen_list *l = &sc->lists[i];
		if ((v6 && !l->ipv6) ||
		    !(v6 ? dnsbl_list_usable6(env->health, i) : dnsbl_list_usable(env->health, i)) ||
		    ip_reverse_name(&client, l->zone, qname, sizeof(qname)) == -1)
			continue;
		list_name(l, name, sizeof(name));
		switch (dv_lookup(v, qname, DV_A, &a)) {
		case DV_MISS:
			break;		/* the other lists are asked this round too */
		case DV_TEMPFAIL:
			list_unknown(l, name, s);
			break;
		case DV_OK:
			if (answer_refuses(l, &a))
				dnsbl_health_note_refusing(env->health, i, v6);
			else
				list_listed(l, name, &a, s);
			break;
		default:
			break;		/* not listed */
		}
	}
}

/* ---- the probe -------------------------------------------------------------------- */

enum probe_answer { PROBE_MISS, PROBE_LISTED, PROBE_NOT_LISTED, PROBE_REFUSING, PROBE_FAILED };

static enum probe_answer
probe_one(const struct screen_list *l, const struct ip_addr *ip, struct dns_view *v)
{
	char qname[DV_NAME_MAX + 1];
	struct dv_answer a;

	if (ip_reverse_name(ip, l->zone, qname, sizeof(qname)) == -1)
		return PROBE_FAILED;
	switch (dv_lookup(v, qname, DV_A, &a)) {
	case DV_MISS:
		return PROBE_MISS;
	case DV_TEMPFAIL:
		return PROBE_FAILED;
	case DV_OK:
		if (answer_refuses(l, &a))
			return PROBE_REFUSING;
		return answer_lists(l, &a) ? PROBE_LISTED : PROBE_NOT_LISTED;
	default:
		return PROBE_NOT_LISTED;
	}
}

/* RFC 5782 5: the "listed" test point must be listed, the other not. */
static enum list_state
probe_pair(const struct screen_list *l, const struct ip_addr *listed,
    const struct ip_addr *unlisted, struct dns_view *v, bool *complete)
{
	enum probe_answer yes = probe_one(l, listed, v), no = probe_one(l, unlisted, v);

	if (yes == PROBE_MISS || no == PROBE_MISS) {
		*complete = false;
		return LIST_UNKNOWN;
	}
	if (yes == PROBE_REFUSING || no == PROBE_REFUSING)
		return LIST_REFUSING;
	if (no == PROBE_LISTED)
		return LIST_LISTS_EVERYTHING;
	if (yes != PROBE_LISTED || no == PROBE_FAILED)
		return LIST_DEAD;
	return LIST_HEALTHY;
}

static void
test_point6(struct ip_addr *ip, uint8_t last)
{
	/* ::FFFF:7F00:x as IPv6 proper: ip_addr_parse would make it IPv4 */
	memset(ip, 0, sizeof(*ip));
	ip->family = AF_INET6;
	ip->a[10] = ip->a[11] = 0xff;
	ip->a[12] = 0x7f;
	ip->a[15] = last;
}

bool
dnsbl_probe(const struct screen_config *sc, struct dns_view *v, struct dnsbl_probe *out)
{
	struct ip_addr two = { AF_INET, { 127, 0, 0, 2 } }, one = { AF_INET, { 127, 0, 0, 1 } };
	struct ip_addr two6, one6;
	bool complete = true;

	test_point6(&two6, 2);
	test_point6(&one6, 1);
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < sc->nlists && i < SCREEN_LISTS_MAX; i++) {
		const struct screen_list *l = &sc->lists[i];
		out->state[i] = probe_pair(l, &two, &one, v, &complete);
		if (l->ipv6)
			out->state6[i] = probe_pair(l, &two6, &one6, v, &complete);
	}
	return complete;
}

void
dnsbl_probe_check(const struct screen_env *env, const struct screen_facts *f,
    struct dns_view *v, struct score *s)
{
	struct dnsbl_probe p;

	(void)f;
	(void)s;
	if (dnsbl_probe(&env->cfg->screen, v, &p) && env->health != NULL)
		dnsbl_health_apply(env->health, &env->cfg->screen, &p);
}
