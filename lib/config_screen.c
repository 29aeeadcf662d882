/*
 * lib/config_screen.c - the screen's list-shaped settings in homemx.conf:
 * weight, dnsbl, dnswl, suspicious_tlds, dynamic_ptr_words and
 * trusted_networks, with their built-in defaults, plus the rules that tie
 * the thresholds together. (The scalar settings - scores, greylist
 * durations, screen_dir - are rows of the parameter table in lib/config.c.)
 *
 * Owns: the built-in DNS list set, the suspicious TLDs (the new generic
 * TLDs that carry mostly spam) and the words that mark a dynamic PTR.
 * Why built-ins a user can replace wholesale: a new self-hoster should get
 * a screen that works without touching it, and one `dnsbl` line means "I
 * choose my lists": mixing hidden defaults with chosen ones surprises.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static const char *const weight_names[W_COUNT] = {
#define X(id, name, def) [id] = name,
	SCREEN_WEIGHT_TABLE
#undef X
};

static const int weight_defaults[W_COUNT] = {
#define X(id, name, def) [id] = def,
	SCREEN_WEIGHT_TABLE
#undef X
};

/*
 * The built-in lists, written in the config grammar so that they read like
 * the lines a user would write. Spamhaus ZEN (RFC 5782 codes): SBL .2,
 * CSS .3, XBL .4-.7, DROP .9, PBL .10/.11 (end-user ranges: a weak sign
 * alone). SBL, CSS and DROP list spam operations by hand, and those run
 * tidy MTAs (PTR, HELO, SPF in order): their weight is over reject_score
 * plus every hygiene bonus (helo_matches_ptr, spf_pass), so only an allow
 * list or a passed authentication at end of DATA can outweigh them.
 * dnswl.org answers 127.0.<category>.<trust 0-3>.
 */
static const char *const default_lists[] = {
	"dnsbl zen.spamhaus.org weight=8 127.0.0.2=13 127.0.0.3=13 127.0.0.4=8 "
	    "127.0.0.5=8 127.0.0.6=8 127.0.0.7=8 127.0.0.9=13 127.0.0.10=3 "
	    "127.0.0.11=3 ipv6=yes",
	"dnsbl bl.spamcop.net weight=4",
	"dnsbl ix.dnsbl.manitu.net weight=4",
	"dnsbl psbl.surriel.com weight=3",
	"dnswl list.dnswl.org weight=-1 match=last-octet 0=-1 1=-3 2=-5 3=-8 ipv6=yes",
};

/* New generic TLDs that SpamAssassin-style rule sets score as mostly spam. */
static const char *const default_tlds[] = {
	"icu", "online", "work", "date", "top", "fun", "life", "review", "bid",
	"stream",
};

/* Words in a PTR name that mark an end-user address (whole label parts). */
static const char *const default_words[] = {
	"dyn", "dynamic", "dial", "dialup", "dialin", "pool", "dsl", "adsl",
	"vdsl", "xdsl", "cable", "dhcp", "ppp", "pppoe", "customer", "cust",
	"client", "broadband", "residential", "dip", "user", "host", "ip",
	"mobile", "wireless", "catv", "ftth", "fiber",
};

static const char *const default_trusted[] = { "127.0.0.0/8", "::1/128" };

const char *
screen_weight_name(enum screen_weight_id id)
{
	return id < W_COUNT ? weight_names[id] : "?";
}

static int
serr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* A signed whole number in [-SCREEN_WEIGHT_LIMIT, SCREEN_WEIGHT_LIMIT]. */
int
screen_parse_weight(const char *v, int *out)
{
	char *end;
	long n;

	if (v[0] == '\0' || (!isdigit((unsigned char)v[0]) && v[0] != '-' && v[0] != '+'))
		return -1;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || end == v || n < -SCREEN_WEIGHT_LIMIT ||
	    n > SCREEN_WEIGHT_LIMIT)
		return -1;
	*out = (int)n;
	return 0;
}

/* ---- networks ------------------------------------------------------------- */

int
screen_net_parse(const char *text, struct screen_net *n)
{
	char buf[64], *slash;
	long prefix = -1;

	if (snprintf(buf, sizeof(buf), "%s", text) >= (int)sizeof(buf))
		return -1;
	if ((slash = strchr(buf, '/')) != NULL) {
		char *end;
		*slash = '\0';
		if (!isdigit((unsigned char)slash[1]))
			return -1;
		errno = 0;
		prefix = strtol(slash + 1, &end, 10);
		if (errno != 0 || *end != '\0')
			return -1;
	}
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, buf, n->addr) == 1) {
		n->family = AF_INET;
		n->prefix = prefix < 0 ? 32 : (unsigned)prefix;
		if (prefix > 32)
			return -1;
	} else if (inet_pton(AF_INET6, buf, n->addr) == 1) {
		n->family = AF_INET6;
		n->prefix = prefix < 0 ? 128 : (unsigned)prefix;
		if (prefix > 128)
			return -1;
	} else
		return -1;
	/* host bits must be zero: "192.0.2.1/24" is almost always a typo */
	size_t len = n->family == AF_INET ? 4 : 16;
	for (size_t bit = n->prefix; bit < len * 8; bit++)
		if (n->addr[bit / 8] & (0x80 >> (bit % 8)))
			return -1;
	return 0;
}

bool
screen_net_contains(const struct screen_net *n, int family, const uint8_t *addr)
{
	if (n->family != family)
		return false;
	for (unsigned bit = 0; bit < n->prefix; bit++) {
		uint8_t mask = (uint8_t)(0x80 >> (bit % 8));
		if ((n->addr[bit / 8] & mask) != (addr[bit / 8] & mask))
			return false;
	}
	return true;
}

bool
screen_ip_trusted(const struct screen_config *sc, const char *ip)
{
	uint8_t addr[16];
	int family;

	if (inet_pton(AF_INET, ip, addr) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, ip, addr) == 1) {
		family = AF_INET6;
		/* ::ffff:192.0.2.1 is the IPv4 client it stands for */
		if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)(void *)addr)) {
			memmove(addr, addr + 12, 4);
			family = AF_INET;
		}
	} else
		return false;
	for (size_t i = 0; i < sc->ntrusted; i++)
		if (screen_net_contains(&sc->trusted[i], family, addr))
			return true;
	return false;
}

/* ---- dnsbl / dnswl lines ------------------------------------------------ */

static int
list_code(const char *k, enum screen_list_match match, uint32_t *code)
{
	struct in_addr a;
	char *end;

	if (match == LIST_MATCH_LAST_OCTET) {
		errno = 0;
		unsigned long n = strtoul(k, &end, 10);
		if (!isdigit((unsigned char)k[0]) || errno != 0 || *end != '\0' || n > 255)
			return -1;
		*code = (uint32_t)n;
		return 0;
	}
	if (inet_pton(AF_INET, k, &a) != 1 || (ntohl(a.s_addr) >> 24) != 127)
		return -1;
	*code = ntohl(a.s_addr);
	return 0;
}

static int
list_option(struct screen_list *l, char *opt, char *err, size_t errlen)
{
	char *eq = strchr(opt, '=');
	const char *v;
	int w;

	if (eq == NULL)
		return serr(err, errlen, "%s %s: expected KEY=VALUE, got '%s'",
		    l->allow ? "dnswl" : "dnsbl", l->zone, opt);
	*eq = '\0';
	v = eq + 1;
	if (strcmp(opt, "ipv6") == 0) {
		if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
			return serr(err, errlen, "%s: ipv6: expected yes or no, got '%s'", l->zone, v);
		l->ipv6 = strcmp(v, "yes") == 0;
		return 0;
	}
	if (strcmp(opt, "match") == 0) {
		if (l->ncodes > 0)
			return serr(err, errlen, "%s: match= must come before the codes", l->zone);
		if (strcmp(v, "address") == 0)
			l->match = LIST_MATCH_ADDRESS;
		else if (strcmp(v, "last-octet") == 0)
			l->match = LIST_MATCH_LAST_OCTET;
		else
			return serr(err, errlen, "%s: match: expected address or last-octet, got '%s'",
			    l->zone, v);
		return 0;
	}
	if (screen_parse_weight(v, &w) == -1)
		return serr(err, errlen, "%s: %s: expected a weight from -%d to %d, got '%s'",
		    l->zone, opt, SCREEN_WEIGHT_LIMIT, SCREEN_WEIGHT_LIMIT, v);
	if (strcmp(opt, "weight") == 0) {
		l->weight = w;
		return 0;
	}
	uint32_t code;
	if (list_code(opt, l->match, &code) == -1)
		return serr(err, errlen, "%s: expected weight=, ipv6=, match= or a return code "
		    "such as %s=N, got '%s'", l->zone,
		    l->match == LIST_MATCH_LAST_OCTET ? "2" : "127.0.0.2", opt);
	for (size_t i = 0; i < l->ncodes; i++)
		if (l->codes[i].code == code)
			return serr(err, errlen, "%s: return code %s given twice", l->zone, opt);
	if (l->ncodes == SCREEN_CODES_MAX)
		return serr(err, errlen, "%s: more than %d return codes", l->zone, SCREEN_CODES_MAX);
	l->codes[l->ncodes].code = code;
	l->codes[l->ncodes++].weight = w;
	return 0;
}

static int
directive_list(struct screen_config *sc, char **w, int nw, bool allow,
    char *err, size_t errlen)
{
	const char *kw = allow ? "dnswl" : "dnsbl";
	struct screen_list l;
	char zone[ADDR_DOMAIN_MAX + 1];
	const char *why;

	if (nw < 2)
		return serr(err, errlen, "%s: expected a zone such as %s", kw,
		    allow ? "list.dnswl.org" : "zen.spamhaus.org");
	if (!sc->lists_set) {
		sc->lists_set = true;	/* the first line replaces the built-ins */
		sc->nlists = 0;
	}
	if (!allow && strcmp(w[1], "none") == 0) {
		if (nw != 2)
			return serr(err, errlen, "dnsbl none: expected nothing after it");
		return 0;
	}
	if (domain_normalize_input(w[1], zone, sizeof(zone), &why) == -1 ||
	    strchr(zone, '.') == NULL)
		return serr(err, errlen, "%s: expected a DNS zone, got '%s'", kw, w[1]);
	for (size_t i = 0; i < sc->nlists; i++)
		if (strcmp(sc->lists[i].zone, zone) == 0)
			return serr(err, errlen, "%s %s: zone listed twice", kw, zone);
	if (sc->nlists == SCREEN_LISTS_MAX)
		return serr(err, errlen, "%s: more than %d lists", kw, SCREEN_LISTS_MAX);
	memset(&l, 0, sizeof(l));
	snprintf(l.zone, sizeof(l.zone), "%s", zone);
	l.allow = allow;
	l.weight = allow ? -2 : 4;
	for (int i = 2; i < nw; i++)
		if (list_option(&l, w[i], err, errlen) == -1)
			return -1;
	/* a dnswl entry must never add suspicion, nor a dnsbl entry trust */
	bool bad = allow ? l.weight > 0 : l.weight < 0;
	for (size_t i = 0; i < l.ncodes; i++)
		bad = bad || (allow ? l.codes[i].weight > 0 : l.codes[i].weight < 0);
	if (bad)
		return serr(err, errlen, "%s %s: weights must be %s", kw, zone,
		    allow ? "zero or negative" : "zero or positive");
	sc->lists[sc->nlists++] = l;
	return 0;
}

/* ---- word lists ---------------------------------------------------------- */

struct word_list {
	const char	*keyword;
	size_t		 max, size;	/* entries, bytes per entry */
	bool		 set;		/* seen in the file: defaults replaced */
};

static int
directive_words(char *dst, size_t *n, struct word_list *wl, char **w, int nw,
    bool (*valid)(const char *), const char *expected, char *err, size_t errlen)
{
	if (nw < 2)
		return serr(err, errlen, "%s: expected %s", wl->keyword, expected);
	if (!wl->set) {
		wl->set = true;
		*n = 0;
	}
	if (strcmp(w[1], "none") == 0 && nw == 2)
		return 0;
	for (int i = 1; i < nw; i++) {
		char word[128];
		if (snprintf(word, sizeof(word), "%s", w[i][0] == '.' ? w[i] + 1 : w[i]) >=
		    (int)sizeof(word) || strlen(word) >= wl->size || !valid(word))
			return serr(err, errlen, "%s: expected %s, got '%s'", wl->keyword,
			    expected, w[i]);
		for (char *p = word; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		if (*n == wl->max)
			return serr(err, errlen, "%s: more than %zu entries", wl->keyword, wl->max);
		memcpy(dst + *n * wl->size, word, strlen(word) + 1);
		(*n)++;
	}
	return 0;
}

static bool
valid_label(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '-')
			return false;
	return true;
}

static bool
valid_word(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s))
			return false;
	return true;
}

/* The state of one parse: which list-shaped directives the file set. */
struct screen_parse_state {
	struct word_list	tlds, words, trusted;
	bool			weight_seen[W_COUNT];
};

static struct screen_parse_state parse_state;

void
screen_config_parse_begin(void)
{
	memset(&parse_state, 0, sizeof(parse_state));
	parse_state.tlds = (struct word_list){ "suspicious_tlds", SCREEN_TLDS_MAX,
	    SCREEN_TLD_MAX + 1, false };
	parse_state.words = (struct word_list){ "dynamic_ptr_words", SCREEN_WORDS_MAX,
	    SCREEN_WORD_MAX + 1, false };
	parse_state.trusted = (struct word_list){ "trusted_networks", SCREEN_NETS_MAX, 0, false };
	scan_config_parse_begin();
}

static int
directive_weight(struct screen_config *sc, char **w, int nw, char *err, size_t errlen)
{
	int v;

	if (nw != 3)
		return serr(err, errlen, "weight: expected NAME VALUE, such as 'weight no_ptr 4'");
	for (int id = 0; id < W_COUNT; id++) {
		if (strcmp(w[1], weight_names[id]) != 0)
			continue;
		if (parse_state.weight_seen[id])
			return serr(err, errlen, "weight %s: set twice", w[1]);
		if (screen_parse_weight(w[2], &v) == -1)
			return serr(err, errlen, "weight %s: expected a whole number from -%d to %d, got '%s'",
			    w[1], SCREEN_WEIGHT_LIMIT, SCREEN_WEIGHT_LIMIT, w[2]);
		parse_state.weight_seen[id] = true;
		sc->weights[id] = v;
		return 0;
	}
	char names[1024] = "";
	for (int id = 0; id < W_COUNT; id++) {
		size_t o = strlen(names);
		snprintf(names + o, sizeof(names) - o, "%s%s", id ? ", " : "", weight_names[id]);
	}
	return serr(err, errlen, "weight: unknown check '%s' (known: %s)", w[1], names);
}

static int
directive_trusted(struct screen_config *sc, char **w, int nw, char *err, size_t errlen)
{
	struct word_list *wl = &parse_state.trusted;

	if (nw < 2)
		return serr(err, errlen, "trusted_networks: expected networks such as 192.0.2.0/24 2001:db8::/32, or none");
	if (!wl->set) {
		wl->set = true;
		sc->ntrusted = 0;
	}
	if (strcmp(w[1], "none") == 0 && nw == 2)
		return 0;
	for (int i = 1; i < nw; i++) {
		struct screen_net n;
		if (screen_net_parse(w[i], &n) == -1)
			return serr(err, errlen, "trusted_networks: expected ADDRESS/PREFIX with zero host bits, got '%s'", w[i]);
		if (sc->ntrusted == SCREEN_NETS_MAX)
			return serr(err, errlen, "trusted_networks: more than %d networks", SCREEN_NETS_MAX);
		sc->trusted[sc->ntrusted++] = n;
	}
	return 0;
}

int
screen_config_directive(struct screen_config *sc, char **w, int nw,
    char *err, size_t errlen)
{
	if (strcmp(w[0], "weight") == 0)
		return directive_weight(sc, w, nw, err, errlen);
	if (strcmp(w[0], "dnsbl") == 0)
		return directive_list(sc, w, nw, false, err, errlen);
	if (strcmp(w[0], "dnswl") == 0)
		return directive_list(sc, w, nw, true, err, errlen);
	if (strcmp(w[0], "suspicious_tlds") == 0)
		return directive_words(&sc->tlds[0][0], &sc->ntlds, &parse_state.tlds, w, nw,
		    valid_label, "top-level domains such as icu top, or none", err, errlen);
	if (strcmp(w[0], "dynamic_ptr_words") == 0)
		return directive_words(&sc->dynamic_words[0][0], &sc->nwords,
		    &parse_state.words, w, nw, valid_word,
		    "letters and digits such as dyn pool dsl, or none", err, errlen);
	if (strcmp(w[0], "trusted_networks") == 0)
		return directive_trusted(sc, w, nw, err, errlen);
	return scan_config_directive(&sc->scan, w, nw, err, errlen);	/* 1: not ours */
}

int
screen_config_finish(struct screen_config *sc, bool tempfail_set, char *err,
    size_t errlen)
{
	if (!tempfail_set)
		sc->tempfail_score = sc->reject_score;
	if (!(sc->greylist_score <= sc->tempfail_score &&
	    sc->tempfail_score <= sc->reject_score))
		return serr(err, errlen, "expected greylist_score (%d) <= tempfail_score (%d) "
		    "<= reject_score (%d)", sc->greylist_score, sc->tempfail_score,
		    sc->reject_score);
	if (sc->greylist_window <= sc->greylist_delay)
		return serr(err, errlen, "greylist_window (%us) must be longer than "
		    "greylist_delay (%us)", sc->greylist_window, sc->greylist_delay);
	return scan_config_finish(&sc->scan, sc->screen_dir, err, errlen);
}

/* Parses one built-in line; a failure is a bug in the table above. */
static void
default_line(struct screen_config *sc, const char *line)
{
	char buf[512], *w[32], *save = NULL, err[256];
	int nw = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *t = strtok_r(buf, " ", &save); t != NULL && nw < 32;
	    t = strtok_r(NULL, " ", &save))
		w[nw++] = t;
	if (screen_config_directive(sc, w, nw, err, sizeof(err)) != 0) {
		fprintf(stderr, "built-in screen setting '%s': %s\n", line, err);
		abort();
	}
}

/* Builds the built-in lists once: parsing them costs more than the rest of
 * a config file, and every parse starts from the defaults. */
static void
screen_config_build_defaults(struct screen_config *sc)
{
	struct screen_parse_state saved = parse_state;

	for (int id = 0; id < W_COUNT; id++)
		sc->weights[id] = weight_defaults[id];
	screen_config_parse_begin();
	for (size_t i = 0; i < sizeof(default_lists) / sizeof(default_lists[0]); i++)
		default_line(sc, default_lists[i]);
	for (size_t i = 0; i < sizeof(default_tlds) / sizeof(default_tlds[0]); i++)
		snprintf(sc->tlds[sc->ntlds++], sizeof(sc->tlds[0]), "%s", default_tlds[i]);
	for (size_t i = 0; i < sizeof(default_words) / sizeof(default_words[0]); i++)
		snprintf(sc->dynamic_words[sc->nwords++], sizeof(sc->dynamic_words[0]), "%s",
		    default_words[i]);
	for (size_t i = 0; i < sizeof(default_trusted) / sizeof(default_trusted[0]); i++)
		if (screen_net_parse(default_trusted[i], &sc->trusted[sc->ntrusted++]) == -1)
			abort();
	sc->lists_set = false;	/* a file's first dnsbl/dnswl line replaces them */
	parse_state = saved;
}

void
screen_config_defaults(struct screen_config *sc)
{
	static struct screen_config built;
	static bool done;

	/* scalars come from lib/config.c's table and are kept; these are the lists */
	if (!done) {
		screen_config_build_defaults(&built);
		done = true;
	}
	memcpy(sc->weights, built.weights, sizeof(sc->weights));
	memcpy(sc->lists, built.lists, sizeof(sc->lists));
	sc->nlists = built.nlists;
	sc->lists_set = false;
	memcpy(sc->tlds, built.tlds, sizeof(sc->tlds));
	sc->ntlds = built.ntlds;
	memcpy(sc->dynamic_words, built.dynamic_words, sizeof(sc->dynamic_words));
	sc->nwords = built.nwords;
	memcpy(sc->trusted, built.trusted, sizeof(sc->trusted));
	sc->ntrusted = built.ntrusted;
	scan_config_defaults(&sc->scan);
}
