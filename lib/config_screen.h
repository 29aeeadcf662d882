/*
 * lib/config_screen.h - the inbound screen's settings in homemx.conf:
 * thresholds, one weight per check, DNS block and allow lists, suspicious
 * TLDs, dynamic-PTR words, trusted networks and the greylist's clock.
 *
 * Owns: the names, defaults and bounds of those settings (one row each in
 * SCREEN_WEIGHT_TABLE and in lib/config_screen.c) and their parsed form.
 * Why a separate file: the screen has more knobs than the rest of homemx
 * together; lib/config.c hands it every line it does not know itself.
 *
 * Grammar (examples; conf/homemx.conf.example documents every line):
 *	reject_score 10
 *	tempfail_score 10		# == reject_score: no 451 zone
 *	greylist_score 4
 *	weight no_ptr 4			# any name of SCREEN_WEIGHT_TABLE
 *	dnsbl zen.spamhaus.org weight=6 127.0.0.2=10 127.0.0.10=3 ipv6=yes
 *	dnswl list.dnswl.org weight=-2 127.0.0.3=-6 match=last-octet
 *	dnsbl none			# no lists at all
 *	suspicious_tlds icu top work
 *	dynamic_ptr_words dyn dial pool dsl
 *	trusted_networks 127.0.0.0/8 ::1/128 192.0.2.0/24
 *	spf_fail_reject no
 *	dmarc_reject yes
 *	greylist_delay 5m  greylist_window 24h  greylist_pass_memory 30d
 *	spam_memory_time 30d  backscatter_memory_time 4d
 */
#ifndef HMX_CONFIG_SCREEN_H
#define HMX_CONFIG_SCREEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "config_scan.h"

#define SCREEN_LISTS_MAX	16	/* dnsbl + dnswl lines */
#define SCREEN_CODES_MAX	16	/* return codes with their own weight */
#define SCREEN_TLDS_MAX		64
#define SCREEN_TLD_MAX		63	/* one label */
#define SCREEN_WORDS_MAX	64
#define SCREEN_WORD_MAX		31
#define SCREEN_NETS_MAX		64
#define SCREEN_WEIGHT_LIMIT	1000	/* |weight| and thresholds */

/*
 * Every named check and its default weight. Positive is suspicious,
 * negative is trust. The defaults are tuned so that a legitimate server
 * (PTR, FCrDNS, a resolving HELO, SPF pass) sits well below greylist_score
 * and one weak sign alone never rejects. X(id, "name", default)
 */
#define SCREEN_WEIGHT_TABLE \
	X(W_NO_PTR,		"no_ptr",		4)	/* no PTR for the client IP */ \
	X(W_FCRDNS_FAIL,	"fcrdns_fail",		3)	/* PTR name does not resolve back */ \
	X(W_DYNAMIC_PTR,	"dynamic_ptr",		4)	/* PTR looks like a dial-up/pool host */ \
	X(W_HELO_NOT_FQDN,	"helo_not_fqdn",	3)	/* no dot, or not a domain */ \
	X(W_HELO_LITERAL,	"helo_literal",		1)	/* [192.0.2.1]: legal, rare for MTAs */ \
	X(W_HELO_NO_DNS,	"helo_no_dns",		2)	/* the HELO name has no A/AAAA */ \
	X(W_HELO_FORGED,	"helo_forged",		100)	/* our own name or address */ \
	X(W_HELO_MATCHES_PTR,	"helo_matches_ptr",	-1)	/* HELO == a verified PTR name */ \
	X(W_SPF_PASS,		"spf_pass",		-2) \
	X(W_SPF_FAIL,		"spf_fail",		6) \
	X(W_SPF_SOFTFAIL,	"spf_softfail",		2) \
	X(W_SPF_NEUTRAL,	"spf_neutral",		0) \
	X(W_SPF_NONE,		"spf_none",		1) \
	X(W_SPF_PERMERROR,	"spf_permerror",	2) \
	X(W_SENDER_NXDOMAIN,	"sender_nxdomain",	10)	/* the MAIL FROM domain does not exist */ \
	X(W_SENDER_NO_MAIL,	"sender_no_mail",	6)	/* no MX, no A/AAAA: cannot get replies */ \
	X(W_SENDER_NULL_MX,	"sender_null_mx",	10)	/* RFC 7505: says it takes no mail */ \
	X(W_SUSPICIOUS_TLD,	"suspicious_tld",	6)	/* sender domain in suspicious_tlds */ \
	X(W_EARLY_TALKER,	"early_talker",		10)	/* spoke before the greeting */ \
	X(W_CLIENT_ERRORS,	"client_errors",	1)	/* per 3 refused commands */ \
	X(W_TRUSTED_NETWORK,	"trusted_network",	-100)	/* in trusted_networks */ \
	X(W_DKIM_PASS_ALIGNED,	"dkim_pass_aligned",	-2)	/* a valid signature by the From domain */ \
	X(W_DKIM_PASS,		"dkim_pass",		0)	/* valid, by another domain */ \
	X(W_DKIM_FAIL,		"dkim_fail",		1)	/* signed, no signature valid */ \
	X(W_DKIM_PERMERROR,	"dkim_permerror",	0)	/* no key, malformed signature */ \
	X(W_DKIM_NONE,		"dkim_none",		0)	/* unsigned */ \
	X(W_DMARC_PASS,		"dmarc_pass",		0)	/* RFC 7489: aligned SPF or DKIM pass */ \
	X(W_DMARC_REJECT,	"dmarc_reject",		8)	/* fail, p=reject (decisive: dmarc_reject) */ \
	X(W_DMARC_QUARANTINE,	"dmarc_quarantine",	4)	/* fail, p=quarantine */ \
	X(W_DMARC_POLICY_NONE,	"dmarc_policy_none",	0)	/* fail, p=none */ \
	X(W_DMARC_NO_RECORD,	"dmarc_no_record",	0) \
	X(W_DMARC_PERMERROR,	"dmarc_permerror",	0)	/* a broken record */ \
	X(W_HEADER_NO_FROM,	"header_no_from",	3)	/* RFC 5322 3.6: exactly one From */ \
	X(W_HEADER_FROM_MULTIPLE, "header_from_multiple", 3)	/* several From fields or domains */ \
	X(W_HEADER_FROM_INVALID, "header_from_invalid",	3)	/* an unparseable From */ \
	X(W_HEADER_NO_DATE,	"header_no_date",	1) \
	X(W_HEADER_DATE_MULTIPLE, "header_date_multiple", 2) \
	X(W_HEADER_NO_MESSAGE_ID, "header_no_message_id", 1) \
	X(W_HEADER_MESSAGE_ID_MULTIPLE, "header_message_id_multiple", 1) \
	X(W_HEADER_8BIT,	"header_8bit",		2)	/* raw 8-bit without SMTPUTF8 */ \
	X(W_HEADER_MALFORMED,	"header_malformed",	2)	/* a line that is not a field */ \
	X(W_HEADER_OVERSIZE,	"header_oversize",	10)	/* over the header section limits */ \
	X(W_FORGED_LOCAL_FROM,	"forged_local_from",	12)	/* From: our domain, from outside, no aligned DKIM pass */ \
	X(W_BOUNCE_TAG_VALID,	"bounce_tag_valid",	-10)	/* a bounce to our BATV tag (decisive: accepted) */ \
	X(W_BACKSCATTER,	"backscatter",		10)	/* a bounce to a bad tag, or untagged while bounce_tags is on */ \
	X(W_BACKSCATTER_SOURCE,	"backscatter_source",	5)	/* the client sent backscatter lately */

enum screen_weight_id {
#define X(id, name, def) id,
	SCREEN_WEIGHT_TABLE
#undef X
	W_COUNT
};

const char	*screen_weight_name(enum screen_weight_id);

enum screen_list_match {
	LIST_MATCH_ADDRESS = 0,	/* codes compare the whole 127.x.y.z */
	LIST_MATCH_LAST_OCTET,	/* codes compare z only (dnswl.org trust level) */
};

struct screen_code {
	uint32_t	code;	/* host order, 127.0.0.2 = 0x7f000002; or z */
	int		weight;
};

struct screen_list {
	char			zone[ADDR_DOMAIN_MAX + 1];
	bool			allow;	/* dnswl: a listing is trust */
	bool			ipv6;	/* also query IPv6 clients */
	enum screen_list_match	match;
	int			weight;	/* a listing with no code of its own */
	size_t			ncodes;
	struct screen_code	codes[SCREEN_CODES_MAX];
};

struct screen_net {
	int		family;		/* AF_INET or AF_INET6 */
	uint8_t		addr[16];	/* network order, host bits zero */
	unsigned	prefix;
};

struct screen_config {
	int			reject_score;
	int			tempfail_score;
	int			greylist_score;
	int			weights[W_COUNT];
	uint32_t		spf_fail_reject;	/* 0 or 1 */
	uint32_t		dmarc_reject;		/* 0 or 1: a DMARC p=reject fail rejects */
	bool			lists_set;	/* a dnsbl/dnswl line or dnsbl_default off */
	struct screen_list	lists[SCREEN_LISTS_MAX];
	size_t			nlists;
	char			tlds[SCREEN_TLDS_MAX][SCREEN_TLD_MAX + 1];
	size_t			ntlds;
	char			dynamic_words[SCREEN_WORDS_MAX][SCREEN_WORD_MAX + 1];
	size_t			nwords;
	struct screen_net	trusted[SCREEN_NETS_MAX];
	size_t			ntrusted;
	uint32_t		greylist_delay;		/* seconds before a retry passes */
	uint32_t		greylist_window;	/* a retry later than this starts over */
	uint32_t		greylist_pass_memory;	/* a passed client/sender is remembered */
	uint32_t		dns_timeout;		/* one evaluation's DNS budget */
	uint32_t		verdict_memory;		/* `mxctl why` looks back this far */
	uint32_t		memory_max_entries;	/* per database: greylist, verdicts */
	uint32_t		spam_memory_time;	/* 0: off; else (net, sender, rcpt)
							 * of spam is refused as unknown */
	uint32_t		backscatter_memory_time;	/* 0: off; a client that
							 * sent backscatter is marked */
	char			screen_dir[512];	/* its Berkeley DB environment */
	struct scan_config	scan;	/* content scanners (lib/config_scan.h) */
};

/* Defaults: the built-in list set, TLDs, words and trusted loopback. */
void	screen_config_defaults(struct screen_config *);

/* True if ip (text) is inside one of the trusted networks. */
bool	screen_ip_trusted(const struct screen_config *, const char *ip);

/*
 * Used by lib/config.c: _begin before a file, _directive for each line it
 * does not know (returns 1 if the line is not the screen's either, 0 when
 * parsed, -1 with err filled), _finish after the last line.
 */
void	screen_config_parse_begin(void);
int	screen_config_directive(struct screen_config *, char **w, int nw,
	    char *err, size_t errlen);
int	screen_config_finish(struct screen_config *, bool tempfail_set,
	    char *err, size_t errlen);
/* "-3", "+4", "10": a weight or a score within SCREEN_WEIGHT_LIMIT. */
int	screen_parse_weight(const char *, int *);

/* Parses "a.b.c.d/n" or "x::/n" (a bare address is /32 or /128). */
int	screen_net_parse(const char *text, struct screen_net *);
bool	screen_net_contains(const struct screen_net *, int family, const uint8_t *addr);

#endif
