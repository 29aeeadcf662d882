/*
 * screen/identity.c - who the client says it is and what the DNS says:
 * check_client (PTR, forward-confirmed reverse DNS, dynamic-looking PTR)
 * and check_helo (forged, literal, not a domain, no address, matches the
 * verified PTR). See screen/checks.h.
 *
 * Owns: nothing between calls; both checks are pure functions of the
 * facts, the configuration and the view. They share one reading of the
 * client's PTR (client_ptr_learn), so check_helo's "matches a verified PTR
 * name" and check_client's "fcrdns" can never disagree. Every lookup a
 * check needs is asked in the same round (PTR first, then all the PTR
 * names' addresses at once), and a check that met a miss adds nothing:
 * that round does not count (screen/dnsview.h).
 * FCrDNS: at most PTR_NAMES_MAX names are followed, the limit RFC 7208
 * 5.5 sets for the "ptr" mechanism, so a PTR answer cannot fan out into
 * unbounded lookups.
 */
#include <sys/socket.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "checks.h"
#include "dynptr.h"
#include "ipname.h"

#define PTR_NAMES_MAX	10	/* RFC 7208 5.5 */

enum ptr_state {
	PTR_MISS,	/* not known yet this round */
	PTR_NONE,	/* NXDOMAIN or NODATA */
	PTR_BAD_NAMES,	/* PTR records, none a host name (resolver.c) */
	PTR_TEMPFAIL,
	PTR_NAMES,
};

struct client_ptr {
	enum ptr_state	state;
	size_t		n;
	const char	*name[PTR_NAMES_MAX];	/* pinned by the view */
	bool		verified[PTR_NAMES_MAX];
	bool		fwd_tempfail[PTR_NAMES_MAX];
	bool		fwd_miss;		/* some address lookup missed */
	const char	*best;			/* first verified, else first */
	bool		any_verified;
	bool		any_fwd_tempfail;
};

/* True if one record of the answer is the client's address. */
static bool
answer_has_addr(const struct dv_answer *a, const struct ip_addr *client)
{
	struct ip_addr x;

	for (size_t i = 0; i < a->n; i++)
		if (ip_addr_parse(a->rr[i].data, &x) == 0 && ip_addr_equal(&x, client))
			return true;
	return false;
}

/* Follows each PTR name forward (A for IPv4 clients, AAAA for IPv6). */
static void
client_ptr_confirm(const struct ip_addr *client, struct dns_view *v, struct client_ptr *cp)
{
	enum dv_type fwd = client->family == AF_INET ? DV_A : DV_AAAA;
	struct dv_answer a;

	for (size_t i = 0; i < cp->n; i++) {
		switch (dv_lookup(v, cp->name[i], fwd, &a)) {
		case DV_MISS:
			cp->fwd_miss = true;
			break;
		case DV_TEMPFAIL:
			cp->fwd_tempfail[i] = cp->any_fwd_tempfail = true;
			break;
		case DV_OK:
			cp->verified[i] = answer_has_addr(&a, client);
			if (cp->verified[i] && !cp->any_verified) {
				cp->any_verified = true;
				cp->best = cp->name[i];
			}
			break;
		default:
			break;
		}
	}
}

/* What the DNS says about the client's name this round. */
static void
client_ptr_learn(const struct ip_addr *client, struct dns_view *v, struct client_ptr *cp)
{
	char qname[DV_NAME_MAX + 1];
	struct dv_answer a;

	memset(cp, 0, sizeof(*cp));
	if (ip_reverse_name(client, client->family == AF_INET ? "in-addr.arpa" : "ip6.arpa",
	    qname, sizeof(qname)) == -1) {
		cp->state = PTR_NONE;	/* cannot happen for a parsed address */
		return;
	}
	switch (dv_lookup(v, qname, DV_PTR, &a)) {
	case DV_MISS:
		cp->state = PTR_MISS;
		return;
	case DV_TEMPFAIL:
		cp->state = PTR_TEMPFAIL;
		return;
	case DV_OK:
		break;
	default:
		cp->state = a.status == DV_NODATA && a.truncated ? PTR_BAD_NAMES : PTR_NONE;
		return;
	}
	cp->state = PTR_NAMES;
	for (size_t i = 0; i < a.n && cp->n < PTR_NAMES_MAX; i++)
		cp->name[cp->n++] = a.rr[i].data;
	cp->best = cp->name[0];
	client_ptr_confirm(client, v, cp);
}

static int
min3(int a, int b, int c)
{
	int m = a < b ? a : b;

	return m < c ? m : c;
}

static int
max3(int a, int b, int c)
{
	int m = a > b ? a : b;

	return m > c ? m : c;
}

/* The PTR could not be learned: anything from a verified server name to
 * no PTR, or a failed, dynamic-looking one. */
static void
client_unknown(const int *w, struct score *s)
{
	int fail_dyn = w[W_FCRDNS_FAIL] + w[W_DYNAMIC_PTR];
	int best = min3(0, w[W_NO_PTR], min3(w[W_FCRDNS_FAIL], w[W_DYNAMIC_PTR], fail_dyn));
	int worst = max3(0, w[W_NO_PTR], max3(w[W_FCRDNS_FAIL], w[W_DYNAMIC_PTR], fail_dyn));

	score_add_unknown(s, screen_weight_name(W_NO_PTR), best, worst, "ptr=tempfail");
}

void
check_client(const struct screen_env *env, const struct screen_facts *f,
    struct dns_view *v, struct score *s)
{
	const int *w = env->cfg->screen.weights;
	struct ip_addr client;
	struct client_ptr cp;
	char why[64];

	if (ip_addr_parse(f->client_ip, &client) == -1)
		return;
	client_ptr_learn(&client, v, &cp);
	if (cp.state == PTR_MISS || cp.fwd_miss)
		return;
	switch (cp.state) {
	case PTR_TEMPFAIL:
		client_unknown(w, s);
		return;
	case PTR_NONE:
		score_add(s, screen_weight_name(W_NO_PTR), w[W_NO_PTR], "ptr=none");
		return;
	case PTR_BAD_NAMES:
		score_add(s, screen_weight_name(W_NO_PTR), w[W_NO_PTR], "bad_ptr_name");
		return;
	default:
		break;
	}
	if (cp.any_verified)	/* the log line's ptr= and the greylist's name */
		snprintf(s->ptr, sizeof(s->ptr), "%s", cp.best);
	if (!cp.any_verified && cp.any_fwd_tempfail)
		score_add_unknown(s, screen_weight_name(W_FCRDNS_FAIL), 0, w[W_FCRDNS_FAIL],
		    "ptr=%s fcrdns=tempfail", cp.best);
	else if (!cp.any_verified)
		score_add(s, screen_weight_name(W_FCRDNS_FAIL), w[W_FCRDNS_FAIL],
		    "ptr=%s fcrdns=fail", cp.best);
	if (dynptr_check(cp.best, f->client_ip, &env->cfg->screen, why, sizeof(why)) != DYNPTR_NONE)
		score_add(s, screen_weight_name(W_DYNAMIC_PTR), w[W_DYNAMIC_PTR],
		    "ptr=%s dynamic %s", cp.best, why);
}

/* ---- HELO --------------------------------------------------------------------- */

#define HELO_TEXT_MAX	(DV_NAME_MAX + 16)	/* room to print a bad one */

/* A label of letters, digits and inner hyphens (RFC 1123 2.1). */
static bool
label_ok(const char *p, size_t len)
{
	if (len == 0 || len > 63 || p[0] == '-' || p[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)p[i]) && p[i] != '-')
			return false;
	return true;
}

/* At least two labels, each valid, the last not all digits. */
static bool
helo_is_fqdn(const char *name)
{
	size_t len = strlen(name), labels = 0, start = 0;
	bool digits = true;

	if (len == 0 || len > DV_NAME_MAX)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && name[i] != '.')
			continue;
		if (!label_ok(name + start, i - start))
			return false;
		labels++;
		digits = true;
		for (size_t j = start; j < i; j++)
			if (!isdigit((unsigned char)name[j]))
				digits = false;
		start = i + 1;
	}
	return labels >= 2 && !digits;
}

/* "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321 4.1.3). 1 if it is a
 * literal with a valid address, 0 if not a literal, -1 if a bad one. */
static int
helo_literal(const char *helo, struct ip_addr *out)
{
	char inner[SCREEN_HELO_MAX + 1];
	size_t len = strlen(helo);
	const char *p;

	if (len < 2 || helo[0] != '[')
		return 0;
	if (helo[len - 1] != ']' || len - 2 >= sizeof(inner))
		return -1;
	memcpy(inner, helo + 1, len - 2);
	inner[len - 2] = '\0';
	p = inner;
	if (strncasecmp(p, "IPv6:", 5) == 0) {
		p += 5;
		if (strchr(p, ':') == NULL)
			return -1;
	} else if (strchr(p, ':') != NULL) {
		return -1;	/* IPv6 needs its tag */
	}
	return ip_addr_parse(p, out) == 0 ? 1 : -1;
}

static bool
helo_is_ours(const struct config *cfg, const char *helo)
{
	if (cfg->hostname[0] != '\0' && strcasecmp(helo, cfg->hostname) == 0)
		return true;
	for (size_t i = 0; i < cfg->ndomains; i++)
		if (strcasecmp(helo, cfg->domains[i]) == 0)
			return true;
	return false;
}

/* The HELO argument lowercased, one trailing dot off; printable for the
 * reason (a byte outside 0x21..0x7e becomes '?'). */
static void
helo_normalize(const char *in, char *out, size_t size)
{
	size_t len = strnlen(in, SCREEN_HELO_MAX), i;

	if (len > 1 && in[len - 1] == '.' && in[0] != '[')
		len--;
	for (i = 0; i < len && i + 1 < size; i++) {
		unsigned char ch = (unsigned char)in[i];
		out[i] = ch > 0x20 && ch < 0x7f ? (char)tolower(ch) : '?';
	}
	out[i] = '\0';
}

/* The HELO against the verified PTR names; only called once it resolves. */
static void
helo_vs_ptr(const struct screen_env *env, const char *helo, const struct client_ptr *cp,
    struct score *s)
{
	int w = env->cfg->screen.weights[W_HELO_MATCHES_PTR];
	const char *name = screen_weight_name(W_HELO_MATCHES_PTR);

	if (cp->state == PTR_TEMPFAIL) {
		score_add_unknown(s, name, 0, w, "helo=%s ptr=tempfail", helo);
		return;
	}
	if (cp->state != PTR_NAMES)
		return;
	for (size_t i = 0; i < cp->n; i++) {
		if (strcasecmp(cp->name[i], helo) != 0)
			continue;
		if (cp->verified[i]) {
			score_add(s, name, w, "helo=%s verified ptr", helo);
			return;
		}
		if (cp->fwd_tempfail[i]) {
			score_add_unknown(s, name, 0, w, "helo=%s ptr fcrdns=tempfail", helo);
			return;
		}
	}
}

void
check_helo(const struct screen_env *env, const struct screen_facts *f,
    struct dns_view *v, struct score *s)
{
	const int *w = env->cfg->screen.weights;
	char helo[HELO_TEXT_MAX];
	struct ip_addr lit, local, client;
	struct client_ptr cp;
	struct dv_answer a4, a6;
	int literal;

	if (f->helo[0] == '\0')
		return;		/* no HELO yet */
	helo_normalize(f->helo, helo, sizeof(helo));
	literal = helo_literal(helo, &lit);
	bool bare = literal == 0 && ip_addr_parse(helo, &lit) == 0;
	bool is_local = (literal == 1 || bare) && ip_addr_parse(f->local_ip, &local) == 0 &&
	    ip_addr_equal(&lit, &local);
	if (is_local || helo_is_ours(env->cfg, helo)) {
		score_add(s, screen_weight_name(W_HELO_FORGED), w[W_HELO_FORGED],
		    "helo=%s is ours", helo);
		return;
	}
	if (literal == 1) {
		score_add(s, screen_weight_name(W_HELO_LITERAL), w[W_HELO_LITERAL],
		    "helo=%s", helo);
		return;
	}
	if (literal == -1 || bare || !helo_is_fqdn(helo)) {
		score_add(s, screen_weight_name(W_HELO_NOT_FQDN), w[W_HELO_NOT_FQDN],
		    "helo=%s not a domain", helo);
		return;
	}
	dv_lookup(v, helo, DV_A, &a4);
	dv_lookup(v, helo, DV_AAAA, &a6);
	bool have_client = ip_addr_parse(f->client_ip, &client) == 0;
	if (have_client)
		client_ptr_learn(&client, v, &cp);
	if (a4.status == DV_MISS || a6.status == DV_MISS ||
	    (have_client && (cp.state == PTR_MISS || cp.fwd_miss)))
		return;
	if (a4.status == DV_OK || a6.status == DV_OK) {
		if (have_client)
			helo_vs_ptr(env, helo, &cp, s);
	} else if (a4.status == DV_TEMPFAIL || a6.status == DV_TEMPFAIL) {
		score_add_unknown(s, screen_weight_name(W_HELO_NO_DNS), 0, w[W_HELO_NO_DNS],
		    "helo=%s dns=tempfail", helo);
	} else {
		score_add(s, screen_weight_name(W_HELO_NO_DNS), w[W_HELO_NO_DNS],
		    "helo=%s a=none aaaa=none", helo);
	}
}
