/*
 * lib/config.c - the homemx.conf grammar.
 *
 * Owns: the parameter table (name, kind, default, min, max) and the error
 * messages. Grammar, one directive per line:
 *
 *	# comment
 *	key value [value ...]
 *
 * Values are words separated by blanks; a value may be double-quoted to
 * hold blanks or '#'. Sizes take K/M/G suffixes, durations s/m/h/d. Every
 * error names file:line and what was expected. Why a table: the default and
 * the bounds of a setting live in one row, where a reader finds them.
 * Lines that are small languages of their own are parsed apart and handed
 * on from parse_line(): the screen's lists (lib/config_screen.c), the
 * content scanners (lib/config_scan.c) and the outbound 'destination'
 * rules (lib/config_dest.c).
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "config_dest.h"
#include "hostport.h"

enum param_kind { P_SIZE, P_COUNT, P_DURATION, P_PATH, P_HOSTNAME, P_DELIMS,
	P_BOOL, P_SELECTOR, P_HOSTPORT, P_SCORE, P_GROUP, P_TLSVERSION, P_TLSLIST };

struct param {
	const char	*name;
	enum param_kind	 kind;
	size_t		 offset;
	uint64_t	 def, min, max;
	const char	*def_str;
};

#define OFF(f)	offsetof(struct config, f)
#define KB	1024ULL
#define MB	(1024ULL * 1024)
#define GB	(1024ULL * 1024 * 1024)
#define MIN_	60
#define HOUR	3600
#define DAY	86400

/* TLS defaults (lib/tlsconf.h). Port 25 keeps OpenSSL's DEFAULT list, as
 * before these settings existed: a sender that can only do an old cipher
 * should still get TLS rather than plain text (RFC 7435, opportunistic
 * security). Submission is for our own users' current programs: ECDHE key
 * exchange with an AEAD cipher only - no CBC, no static RSA, no DHE (the
 * TLS 1.2 part of Mozilla's "intermediate" profile). */
#define TLS12_AEAD_ECDHE	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS13_SUITES	"TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"
#define TLS_GROUPS	"X25519:P-256:X448:P-521:P-384"
#define TLS_V1_2	0x0303	/* TLS1_2_VERSION; lib/tlsconf.c maps the others */

static const struct param params[] = {
	/* name                      kind        offset                      default        min     max */
	{ "hostname",                P_HOSTNAME, OFF(hostname),              0, 0, 0,       "localhost" },
	{ "spool_dir",               P_PATH,     OFF(spool_dir),             0, 0, 0,       "/var/spool/homemx" },
	{ "store_dir",               P_PATH,     OFF(store_dir),             0, 0, 0,       "/var/lib/homemx/store" },
	{ "maildir_root",            P_PATH,     OFF(maildir_root),          0, 0, 0,       "/var/mail/homemx" },
	{ "chroot_dir",              P_PATH,     OFF(chroot_dir),            0, 0, 0,       "/var/lib/homemx/empty" },
	{ "control_group",           P_GROUP,    OFF(control_group),         0, 0, 0,       "homemx-admin" },
	{ "tls_certificate",         P_PATH,     OFF(tls_certificate),       0, 0, 0,       "" },
	{ "tls_key",                 P_PATH,     OFF(tls_key),               0, 0, 0,       "" },
	{ "tls_certificate_ecdsa",   P_PATH,     OFF(tls_certificate_ecdsa), 0, 0, 0,       "" },
	{ "tls_key_ecdsa",           P_PATH,     OFF(tls_key_ecdsa),         0, 0, 0,       "" },
	{ "tls_ocsp_stapling",       P_BOOL,     OFF(tls_ocsp_stapling),     1,             0,      1,      NULL },
	{ "ocsp_dir",                P_PATH,     OFF(ocsp_dir),              0, 0, 0,       "/var/lib/homemx/ocsp" },
	{ "smtpd_tls_min_version",   P_TLSVERSION, OFF(tls_smtp.min_version), TLS_V1_2,    0, 0,   NULL },
	{ "smtpd_tls_ciphers",       P_TLSLIST,  OFF(tls_smtp.ciphers),      0, 0, 0,       "DEFAULT" },
	{ "smtpd_tls_ciphersuites",  P_TLSLIST,  OFF(tls_smtp.ciphersuites), 0, 0, 0,       TLS13_SUITES },
	{ "smtpd_tls_groups",        P_TLSLIST,  OFF(tls_smtp.groups),       0, 0, 0,       TLS_GROUPS },
	{ "submission_tls_min_version", P_TLSVERSION, OFF(tls_submission.min_version), TLS_V1_2, 0, 0, NULL },
	{ "submission_tls_ciphers",  P_TLSLIST,  OFF(tls_submission.ciphers), 0, 0, 0,      TLS12_AEAD_ECDHE },
	{ "submission_tls_ciphersuites", P_TLSLIST, OFF(tls_submission.ciphersuites), 0, 0, 0, TLS13_SUITES },
	{ "submission_tls_groups",   P_TLSLIST,  OFF(tls_submission.groups), 0, 0, 0,      TLS_GROUPS },
	{ "subaddress_delimiters",   P_DELIMS,   OFF(subaddress_delimiters), 0, 0, 0,       "+-" },
	{ "max_message_size",        P_SIZE,     OFF(max_message_size),      25 * MB,       1 * KB, 1 * GB, NULL },
	{ "max_recipients",          P_COUNT,    OFF(max_recipients),        100,           1,      200,    NULL },
	{ "max_errors",              P_COUNT,    OFF(max_errors),            10,            1,      1000,   NULL },
	{ "max_connections",         P_COUNT,    OFF(max_connections),       200,           1,      10000,  NULL },
	{ "max_connections_per_ip",  P_COUNT,    OFF(max_connections_per_ip), 10,           1,      10000,  NULL },
	{ "timeout_command",         P_DURATION, OFF(timeout_command),       300,           1,      HOUR,   NULL },
	{ "timeout_data",            P_DURATION, OFF(timeout_data),          180,           1,      HOUR,   NULL },
	{ "greeting_delay",          P_DURATION, OFF(greeting_delay),        0,             0,      60,     NULL },
	{ "queue_lifetime",          P_DURATION, OFF(queue_lifetime),        2 * DAY,       60,     30 * DAY, NULL },
	{ "retry_min",               P_DURATION, OFF(retry_min),             5 * MIN_,      1,      DAY,    NULL },
	{ "retry_max",               P_DURATION, OFF(retry_max),             HOUR,          1,      DAY,    NULL },
	{ "delivery_concurrency",    P_COUNT,    OFF(delivery_concurrency),  20,            1,      500,    NULL },
	{ "dkim_key_dir",            P_PATH,     OFF(dkim_key_dir),          0, 0, 0,       "/var/lib/homemx/dkim" },
	{ "dkim_selector",           P_SELECTOR, OFF(dkim_selector),         0, 0, 0,       "mx1" },
	{ "dns_server",              P_HOSTPORT, OFF(dns_server),            0, 0, 0,       "" },
	{ "submission_hide_client_ip", P_BOOL,   OFF(submission_hide_client_ip), 1,         0,      1,      NULL },
	{ "max_connections_per_destination", P_COUNT, OFF(max_connections_per_destination), 2, 1, 100, NULL },
	{ "family_fallback_memory",  P_DURATION, OFF(family_fallback_memory), 7 * DAY,      60,     90 * DAY, NULL },
	{ "auth_failures_per_ip",    P_COUNT,    OFF(auth_failures_per_ip),  5,             1,      1000,   NULL },
	/* the inbound screen; its list-shaped settings are in config_screen.c */
	{ "reject_score",            P_SCORE,    OFF(screen.reject_score),   10,            0, 0,           NULL },
	{ "tempfail_score",          P_SCORE,    OFF(screen.tempfail_score), 10,            0, 0,           NULL },
	{ "greylist_score",          P_SCORE,    OFF(screen.greylist_score), 4,             0, 0,           NULL },
	{ "spf_fail_reject",         P_BOOL,     OFF(screen.spf_fail_reject), 0,            0,      1,      NULL },
	{ "dmarc_reject",            P_BOOL,     OFF(screen.dmarc_reject),   1,             0,      1,      NULL },
	{ "greylist_delay",          P_DURATION, OFF(screen.greylist_delay), 5 * MIN_,      1,      DAY,    NULL },
	{ "greylist_window",         P_DURATION, OFF(screen.greylist_window), DAY,          2,      7 * DAY, NULL },
	{ "greylist_pass_memory",    P_DURATION, OFF(screen.greylist_pass_memory), 30 * DAY, 1,     365 * DAY, NULL },
	{ "screen_dns_timeout",      P_DURATION, OFF(screen.dns_timeout),    5,             1,      60,     NULL },
	{ "verdict_memory",          P_DURATION, OFF(screen.verdict_memory), 7 * DAY,       60,     90 * DAY, NULL },
	{ "screen_memory_max",       P_COUNT,    OFF(screen.memory_max_entries), 200000,    100,    10000000, NULL },
	{ "dovecot_passwd_file",     P_PATH,     OFF(dovecot_passwd_file),   0, 0, 0,       "" },
	{ "screen_dir",              P_PATH,     OFF(screen.screen_dir),     0, 0, 0,       "/var/lib/homemx/screen" },
	/* memories of the screen (screen/memory.h): 0 or off forgets at once */
	{ "spam_memory_time",        P_DURATION, OFF(screen.spam_memory_time), 0,           0,      90 * DAY, NULL },
	{ "backscatter_memory_time", P_DURATION, OFF(screen.backscatter_memory_time), 4 * DAY, 0,   90 * DAY, NULL },
	/* BATV on relayed senders (queue/bounce_tag.h) and checked at RCPT */
	{ "bounce_tags",             P_BOOL,     OFF(bounce_tags),           0,             0,      1,      NULL },
	/* a whole session: 25 MB over a 60 kbit/s uplink still fits in 1h */
	{ "session_timeout",         P_DURATION, OFF(session_timeout),       HOUR,          1,      DAY,    NULL },
	{ "max_connections_per_net", P_COUNT,    OFF(max_connections_per_net), 20,          1,      10000,  NULL },
	/* Postfix opens up to 20 connections to one destination: a client
	 * that sent clean mail gets room for that and sessions still closing
	 * (smtpd/reputation.c) */
	{ "max_connections_per_known_ip", P_COUNT, OFF(max_connections_per_known_ip), 30,    1,      10000,  NULL },
	{ "known_client_memory",     P_DURATION, OFF(known_client_memory),   7 * DAY,       0,      90 * DAY, NULL },
	/* content scanners at the end of DATA (lib/config_scan.h): one timeout
	 * for all of a message's scans; a message over a scanner's cap is not
	 * sent to it (screen/scanner.h says why that is not a tempfail).
	 * spamc's own default cap is 500 KB; clamd's StreamMaxLength is 25M. */
	{ "scanner_timeout",         P_DURATION, OFF(screen.scan.timeout),   30,            1,      300,    NULL },
	{ "rspamd_max_size",         P_SIZE,     OFF(screen.scan.target[SCAN_RSPAMD].max_size), 10 * MB, 1 * KB, 1 * GB, NULL },
	{ "spamd_max_size",          P_SIZE,     OFF(screen.scan.target[SCAN_SPAMD].max_size), 500 * KB, 1 * KB, 1 * GB, NULL },
	{ "clamd_max_size",          P_SIZE,     OFF(screen.scan.target[SCAN_CLAMD].max_size), 25 * MB, 1 * KB, 1 * GB, NULL },
	/* outbound TLS (relay/tls.h): the CA bundle that verifies MX
	 * certificates when a policy asks for it (tls=require, MTA-STS), read
	 * once at start; whether dns_server validates DNSSEC and may be
	 * trusted with its AD bit (a resolver on this host: relay/dane.h);
	 * MTA-STS (relay/mtasts.h) on or off; where the relay keeps its
	 * MTA-STS cache and TLS-RPT counts (relay/tlsrpt.h) */
	{ "relay_ca_file",           P_PATH,     OFF(relay_ca_file),         0, 0, 0,       "/etc/ssl/certs/ca-certificates.crt" },
	{ "dns_validating",          P_BOOL,     OFF(dns_validating),        0,             0,      1,      NULL },
	{ "mta_sts",                 P_BOOL,     OFF(mta_sts),               1,             0,      1,      NULL },
	{ "relay_state_dir",         P_PATH,     OFF(relay_state_dir),       0, 0, 0,       "/var/lib/homemx/relay" },
};

static int	parse_listen_addr(const char *, struct listen_conf *);

struct parse_ctx {
	const char	*name;
	unsigned	 line;
	char		*err;
	size_t		 errlen;
	unsigned	 delivery_seen;	/* 'delivery' lines so far */
};

static int
perr(struct parse_ctx *p, const char *fmt, ...)
{
	char msg[CONFIG_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%u: %s", p->name, p->line, msg);
	return -1;
}

static int
set_string(struct parse_ctx *p, char *dst, size_t size, const char *key,
    const char *v)
{
	if (strlen(v) >= size)
		return perr(p, "%s: value longer than %zu bytes", key, size - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int
parse_number(const char *v, uint64_t *out, const char *suffixes,
    const uint64_t *mult)
{
	char *end;

	if (!isdigit((unsigned char)v[0]))
		return -1;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno != 0)
		return -1;
	uint64_t m = 1;
	if (*end != '\0') {
		const char *s = strchr(suffixes, *end);
		if (s == NULL || end[1] != '\0' || *end == '\0')
			return -1;
		m = mult[s - suffixes];
	}
	if (n > UINT64_MAX / m)
		return -1;
	*out = n * m;
	return 0;
}

/* The protocol versions as OpenSSL names them (SSL_get_version()) and
 * numbers them on the wire (RFC 8446 B.1: legacy_version). */
static const struct { const char *name; uint32_t number; } tls_versions[] = {
	{ "TLSv1", 0x0301 }, { "TLSv1.1", 0x0302 }, { "TLSv1.2", 0x0303 },
	{ "TLSv1.3", 0x0304 },
};

uint32_t
tls_version_number(const char *name)
{
	for (size_t i = 0; i < sizeof(tls_versions) / sizeof(tls_versions[0]); i++)
		if (strcmp(name, tls_versions[i].name) == 0)
			return tls_versions[i].number;
	return 0;
}

const char *
tls_version_name(uint32_t number)
{
	for (size_t i = 0; i < sizeof(tls_versions) / sizeof(tls_versions[0]); i++)
		if (number == tls_versions[i].number)
			return tls_versions[i].name;
	return "?";
}

static int
set_param(struct parse_ctx *p, struct config *c, const struct param *pr,
    const char *v)
{
	static const uint64_t size_mult[] = { KB, KB, MB, MB, GB, GB };
	static const uint64_t dur_mult[] = { 1, MIN_, HOUR, DAY };
	char *field = (char *)c + pr->offset;
	uint64_t n;
	const char *why;

	switch (pr->kind) {
	case P_PATH:
		if (v[0] != '/' && v[0] != '\0')
			return perr(p, "%s: expected an absolute path, got '%s'", pr->name, v);
		return set_string(p, field, CONFIG_PATH_MAX, pr->name, v);
	case P_HOSTNAME: {
		char norm[ADDR_DOMAIN_MAX + 1];
		if (domain_normalize_input(v, norm, sizeof(norm), &why) == -1)
			return perr(p, "%s: expected a host name, got '%s' (%s)", pr->name, v, why);
		return set_string(p, field, ADDR_DOMAIN_MAX + 1, pr->name, norm);
	}
	case P_DELIMS:
		if (v[0] == '\0')
			return set_string(p, field, 16, pr->name, v);
		for (const char *s = v; *s != '\0'; s++)
			if (strchr("+-_.=", *s) == NULL || strchr(s + 1, *s) != NULL)
				return perr(p, "%s: expected distinct characters from \"+-_.=\", got '%s'", pr->name, v);
		return set_string(p, field, 16, pr->name, v);
	case P_SIZE:
		if (parse_number(v, &n, "kKmMgG", size_mult) == -1 || n < pr->min || n > pr->max)
			return perr(p, "%s: expected a size from %llu to %llu bytes (K, M, G suffixes allowed), got '%s'",
			    pr->name, (unsigned long long)pr->min, (unsigned long long)pr->max, v);
		*(uint64_t *)(void *)field = n;
		return 0;
	case P_DURATION:
		/* a duration that may be 0 is something to switch off */
		if (pr->min == 0 && strcmp(v, "off") == 0)
			v = "0";
		if (parse_number(v, &n, "smhd", dur_mult) == -1 || n < pr->min || n > pr->max)
			return perr(p, "%s: expected a duration from %llus to %llus (s, m, h, d suffixes allowed%s), got '%s'",
			    pr->name, (unsigned long long)pr->min, (unsigned long long)pr->max,
			    pr->min == 0 ? ", or off" : "", v);
		*(uint32_t *)(void *)field = (uint32_t)n;
		return 0;
	case P_BOOL:
		if (strcmp(v, "yes") == 0 || strcmp(v, "on") == 0)
			n = 1;
		else if (strcmp(v, "no") == 0 || strcmp(v, "off") == 0)
			n = 0;
		else
			return perr(p, "%s: expected yes or no, got '%s'", pr->name, v);
		*(uint32_t *)(void *)field = (uint32_t)n;
		return 0;
	case P_SELECTOR:
		if (v[0] == '\0' || strlen(v) > 63 || !domain_is_valid(v, strlen(v)))
			return perr(p, "%s: expected a DNS label such as mx1, got '%s'", pr->name, v);
		return set_string(p, field, 64, pr->name, v);
	case P_GROUP:	/* Debian's default NAME_REGEX (adduser.conf(5)) */
		if (strlen(v) == 0 || strlen(v) > 32 || strspn(v, "abcdefghijklmnopqrstuvwxyz_") < 1 ||
		    strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(v))
			return perr(p, "%s: expected a group name such as homemx-admin, got '%s'",
			    pr->name, v);
		return set_string(p, field, 33, pr->name, v);
	case P_HOSTPORT: {
		struct listen_conf l;
		if (v[0] != '\0' && parse_listen_addr(v, &l) == -1)
			return perr(p, "%s: expected IP:PORT such as 127.0.0.1:53 or [::1]:53, got '%s'", pr->name, v);
		return set_string(p, field, 80, pr->name, v);
	}
	case P_SCORE: {
		int score;
		if (screen_parse_weight(v, &score) == -1)
			return perr(p, "%s: expected a whole number from -%d to %d, got '%s'",
			    pr->name, SCREEN_WEIGHT_LIMIT, SCREEN_WEIGHT_LIMIT, v);
		*(int *)(void *)field = score;
		return 0;
	}
	case P_TLSVERSION:
		if ((n = tls_version_number(v)) == 0)
			return perr(p, "%s: expected TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3, got '%s'",
			    pr->name, v);
		*(uint32_t *)(void *)field = (uint32_t)n;
		return 0;
	case P_TLSLIST:
		/* OpenSSL's own check comes later (lib/tlsconf.c): it knows the
		 * names; here only what can never be part of such a list */
		if (v[0] == '\0' || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789:+-!@=_.,") != strlen(v))
			return perr(p, "%s: expected an OpenSSL list of names separated by ':', got '%s'",
			    pr->name, v);
		return set_string(p, field, TLS_LIST_MAX, pr->name, v);
	case P_COUNT:
		if (parse_number(v, &n, "", NULL) == -1 || n < pr->min || n > pr->max)
			return perr(p, "%s: expected a number from %llu to %llu, got '%s'",
			    pr->name, (unsigned long long)pr->min, (unsigned long long)pr->max, v);
		*(uint32_t *)(void *)field = (uint32_t)n;
		return 0;
	}
	return perr(p, "internal error");
}

void
config_defaults(struct config *c)
{
	struct parse_ctx p = { "default", 0, NULL, 0, 0 };
	char err[CONFIG_ERR_MAX];

	p.err = err;
	p.errlen = sizeof(err);
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		const struct param *pr = &params[i];
		char *field = (char *)c + pr->offset;
		if (pr->def_str != NULL) {
			if (pr->kind == P_HOSTNAME || pr->kind == P_HOSTPORT)
				set_string(&p, field, ADDR_DOMAIN_MAX + 1, pr->name, pr->def_str);
			else
				set_param(&p, c, pr, pr->def_str);
		} else if (pr->kind == P_SIZE)
			*(uint64_t *)(void *)field = pr->def;
		else if (pr->kind == P_SCORE)
			*(int *)(void *)field = (int)pr->def;
		else
			*(uint32_t *)(void *)field = (uint32_t)pr->def;
	}
	screen_config_defaults(&c->screen);
}

/* "127.0.0.1:25", "[::1]:25", "*:25" (all IPv4), "[::]:25" */
static int
parse_listen_addr(const char *v, struct listen_conf *l)
{
	if (config_parse_hostport(v, HOSTPORT_ALLOW_ANY, &l->addr, &l->addrlen) != HOSTPORT_OK)
		return -1;
	snprintf(l->text, sizeof(l->text), "%s", v);
	return 0;
}

/* "listen local /PATH": an absolute path without "..", that fits a
 * sockaddr_un; the supervisor binds it (supervisor/setup.c). */
static int
parse_listen_path(const char *v, struct listen_conf *l)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&l->addr;
	size_t len = strlen(v);

	if (v[0] != '/' || len >= sizeof(un->sun_path) || len >= sizeof(l->text) ||
	    strstr(v, "/../") != NULL || (len >= 3 && strcmp(v + len - 3, "/..") == 0) ||
	    v[len - 1] == '/')
		return -1;
	memset(l, 0, sizeof(*l));
	un->sun_family = AF_UNIX;
	memcpy(un->sun_path, v, len + 1);
	l->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	l->kind = LISTEN_LOCAL;
	memcpy(l->text, v, len + 1);
	return 0;
}

const char *
config_local_sender(const struct config *c, const char *login)
{
	for (size_t i = 0; i < c->nlocal_senders; i++)
		if (strcmp(c->local_senders[i].login, login) == 0)
			return c->local_senders[i].address;
	return NULL;
}

/* local_sender LOGIN ADDRESS: may repeat, once per login. */
static int
directive_local_sender(struct parse_ctx *p, struct config *c, char **w, int nw)
{
	struct local_sender *ls;
	const char *why;

	if (nw != 3)
		return perr(p, "local_sender: expected 'local_sender LOGIN ADDRESS'");
	if (!addr_login_is_valid(w[1]))
		return perr(p, "local_sender: expected a login name of at most %d letters, digits "
		    "and . _ - (a valid local part), got '%s'", CONFIG_LOGIN_MAX, w[1]);
	if (config_local_sender(c, w[1]) != NULL)
		return perr(p, "local_sender: '%s' listed twice", w[1]);
	if (c->nlocal_senders == CONFIG_MAX_LOCAL_SENDERS)
		return perr(p, "local_sender: more than %d lines", CONFIG_MAX_LOCAL_SENDERS);
	ls = &c->local_senders[c->nlocal_senders];
	if (addr_normalize_input(w[2], ls->address, sizeof(ls->address), &why) != ADDR_OK) {
		ls->address[0] = '\0';
		return perr(p, "local_sender: '%s': %s", w[2], why);
	}
	snprintf(ls->login, sizeof(ls->login), "%s", w[1]);
	c->nlocal_senders++;
	return 0;
}

static int
directive_listen(struct parse_ctx *p, struct config *c, char **w, int nw)
{
	static const struct { const char *name; enum listen_kind kind; } kinds[] = {
		{ "smtp", LISTEN_SMTP },
		{ "submission", LISTEN_SUBMISSION },
		{ "submissions", LISTEN_SUBMISSIONS },
	};
	struct listen_conf l;
	size_t i;

	if (nw != 3)
		return perr(p, "listen: expected 'listen smtp|submission|submissions ADDRESS:PORT' "
		    "or 'listen local /PATH'");
	if (strcmp(w[1], "local") == 0) {
		if (parse_listen_path(w[2], &l) == -1)
			return perr(p, "listen: expected an absolute socket path of at most %zu "
			    "bytes such as %s, got '%s'", sizeof(((struct sockaddr_un *)0)->sun_path) - 1,
			    CONFIG_LOCAL_SOCKET_DEFAULT, w[2]);
		for (i = 0; i < c->nlisten; i++)
			if (c->listen[i].kind == LISTEN_LOCAL)
				return perr(p, "listen: only one 'listen local' line");
		if (c->nlisten == CONFIG_MAX_LISTEN)
			return perr(p, "listen: more than %d listen lines", CONFIG_MAX_LISTEN);
		c->listen[c->nlisten++] = l;
		return 0;
	}
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(w[1], kinds[i].name) == 0)
			break;
	if (i == sizeof(kinds) / sizeof(kinds[0]))
		return perr(p, "listen: expected 'smtp', 'submission', 'submissions' or 'local', got '%s'", w[1]);
	if (parse_listen_addr(w[2], &l) == -1)
		return perr(p, "listen: expected ADDRESS:PORT such as 127.0.0.1:25 or [::1]:25, got '%s'", w[2]);
	if (c->nlisten == CONFIG_MAX_LISTEN)
		return perr(p, "listen: more than %d listen lines", CONFIG_MAX_LISTEN);
	l.kind = kinds[i].kind;
	c->listen[c->nlisten++] = l;
	return 0;
}

/* public_address IP [IP ...]: may repeat; the text is kept as inet_ntop
 * writes it, so that mxctl compares addresses as text. */
static int
directive_public_address(struct parse_ctx *p, struct config *c, char **w, int nw)
{
	unsigned char bin[16];

	if (nw < 2)
		return perr(p, "public_address: expected 'public_address IP [IP ...]'");
	for (int i = 1; i < nw; i++) {
		int af = strchr(w[i], ':') != NULL ? AF_INET6 : AF_INET;
		char *slot;
		if (inet_pton(af, w[i], bin) != 1)
			return perr(p, "public_address: expected an IPv4 or IPv6 address such as "
			    "192.0.2.1 or 2001:db8::1, got '%s'", w[i]);
		if (c->npublic_address == CONFIG_MAX_PUBLIC)
			return perr(p, "public_address: more than %d addresses", CONFIG_MAX_PUBLIC);
		slot = c->public_address[c->npublic_address++];
		inet_ntop(af, bin, slot, INET6_ADDRSTRLEN);
	}
	return 0;
}

static int
directive_report_address(struct parse_ctx *p, struct config *c, char **w, int nw)
{
	const char *why;

	if (nw != 2)
		return perr(p, "report_address: expected 'report_address ADDRESS'");
	if (c->report_address[0] != '\0')
		return perr(p, "report_address: set twice");
	if (addr_normalize_input(w[1], c->report_address, sizeof(c->report_address),
	    &why) != ADDR_OK) {
		c->report_address[0] = '\0';
		return perr(p, "report_address: '%s': %s", w[1], why);
	}
	return 0;
}

/* delivery maildir | lmtp:/path/to/socket (RFC 2033 over a UNIX socket) */
static int
directive_delivery(struct parse_ctx *p, struct config *c, char **w, int nw)
{
	const char *path;

	if (nw != 2)
		return perr(p, "delivery: expected 'delivery maildir' or 'delivery lmtp:/path/to/socket'");
	if (p->delivery_seen++)
		return perr(p, "delivery: set twice");
	if (strcmp(w[1], "maildir") == 0)
		return 0;
	if (strncmp(w[1], "lmtp:", 5) != 0)
		return perr(p, "delivery: expected 'maildir' or 'lmtp:/path/to/socket', got '%s'", w[1]);
	path = w[1] + 5;
	if (path[0] != '/')
		return perr(p, "delivery: lmtp: expected an absolute socket path, got '%s'", path);
	if (strlen(path) >= CONFIG_LMTP_PATH_MAX)
		return perr(p, "delivery: lmtp: socket path longer than %d bytes", CONFIG_LMTP_PATH_MAX - 1);
	memcpy(c->delivery_lmtp, path, strlen(path) + 1);
	return 0;
}

static int
directive_domain(struct parse_ctx *p, struct config *c, char **w, int nw)
{
	char norm[ADDR_DOMAIN_MAX + 1];
	const char *why;

	if (nw != 2)
		return perr(p, "domain: expected 'domain NAME'");
	if (domain_normalize_input(w[1], norm, sizeof(norm), &why) == -1)
		return perr(p, "domain: '%s': %s", w[1], why);
	if (config_has_domain(c, norm))
		return perr(p, "domain: '%s' listed twice", norm);
	if (c->ndomains == CONFIG_MAX_DOMAINS)
		return perr(p, "domain: more than %d domains (use 'mxctl domain add')", CONFIG_MAX_DOMAINS);
	memcpy(c->domains[c->ndomains++], norm, strlen(norm) + 1);
	return 0;
}

static size_t
param_index(const char *name)
{
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		if (strcmp(params[i].name, name) == 0)
			return i;
	abort();	/* a name missing from the table is a bug */
}

/* Splits a line into words in place; returns count or -1 on bad quoting. */
static int
split_words(char *s, char **w, int maxw, struct parse_ctx *p)
{
	int n = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0' || *s == '#')
			return n;
		if (n == maxw)
			return perr(p, "too many words on one line");
		if (*s == '"') {
			char *end = strchr(s + 1, '"');
			if (end == NULL)
				return perr(p, "unterminated quoted value");
			w[n++] = s + 1;
			*end = '\0';
			s = end + 1;
			if (*s != '\0' && *s != ' ' && *s != '\t')
				return perr(p, "expected a blank after a quoted value");
			continue;
		}
		w[n++] = s;
		while (*s != '\0' && *s != ' ' && *s != '\t')
			s++;
		if (*s != '\0')
			*s++ = '\0';
	}
}

#define LINE_WORDS_MAX	32	/* suspicious_tlds and friends take lists */

static int
parse_line(struct parse_ctx *p, struct config *c, char *line, uint8_t *seen)
{
	char *w[LINE_WORDS_MAX], msg[CONFIG_ERR_MAX];
	int nw = split_words(line, w, LINE_WORDS_MAX, p), rc;

	if (nw <= 0)
		return nw;
	if (strcmp(w[0], "listen") == 0)
		return directive_listen(p, c, w, nw);
	if (strcmp(w[0], "domain") == 0)
		return directive_domain(p, c, w, nw);
	if (strcmp(w[0], "destination") == 0)
		return config_dest_directive(c, w, nw, msg, sizeof(msg)) == 0 ? 0 :
		    perr(p, "%s", msg);
	if (strcmp(w[0], "public_address") == 0)
		return directive_public_address(p, c, w, nw);
	if (strcmp(w[0], "report_address") == 0)
		return directive_report_address(p, c, w, nw);
	if (strcmp(w[0], "delivery") == 0)
		return directive_delivery(p, c, w, nw);
	if (strcmp(w[0], "local_sender") == 0)
		return directive_local_sender(p, c, w, nw);
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		if (strcmp(w[0], params[i].name) != 0)
			continue;
		if (nw != 2)
			return perr(p, "%s: expected exactly one value", w[0]);
		if (seen[i]++)
			return perr(p, "%s: set twice", w[0]);
		return set_param(p, c, &params[i], w[1]);
	}
	if ((rc = screen_config_directive(&c->screen, w, nw, msg, sizeof(msg))) != 1)
		return rc == 0 ? 0 : perr(p, "%s", msg);
	return perr(p, "unknown directive '%s'", w[0]);
}

int
config_parse(const char *name, const char *text, size_t len,
    struct config *out, char *err, size_t errlen)
{
	struct parse_ctx p = { name, 0, err, errlen, 0 };
	uint8_t seen[sizeof(params) / sizeof(params[0])] = { 0 };
	struct config *c;
	char line[1024];
	size_t i = 0;

	if ((c = malloc(sizeof(*c))) == NULL)
		return perr(&p, "out of memory");
	config_defaults(c);
	screen_config_parse_begin();
	while (i < len) {
		size_t start = i;
		while (i < len && text[i] != '\n')
			i++;
		size_t ll = i - start;
		p.line++;
		if (i < len)
			i++;
		if (ll > 0 && text[start + ll - 1] == '\r')
			ll--;
		if (ll >= sizeof(line)) {
			perr(&p, "line longer than %zu bytes", sizeof(line) - 1);
			goto fail;
		}
		memcpy(line, text + start, ll);
		line[ll] = '\0';
		for (size_t k = 0; k < ll; k++)
			if ((unsigned char)line[k] < 0x20 && line[k] != '\t') {
				perr(&p, "control character in line");
				goto fail;
			}
		if (parse_line(&p, c, line, seen) == -1)
			goto fail;
	}
	p.line = 0;
	char msg[CONFIG_ERR_MAX];
	if (screen_config_finish(&c->screen, seen[param_index("tempfail_score")] != 0,
	    msg, sizeof(msg)) == -1) {
		snprintf(err, errlen, "%s: %s", name, msg);
		goto fail;
	}
	if (c->retry_min > c->retry_max) {
		snprintf(err, errlen, "%s: retry_min (%us) is larger than retry_max (%us)",
		    name, c->retry_min, c->retry_max);
		goto fail;
	}
	if (c->nlisten == 0) {
		snprintf(err, errlen, "%s: no 'listen' line: expected at least 'listen smtp ADDRESS:PORT'", name);
		goto fail;
	}
	if ((c->tls_certificate[0] == '\0') != (c->tls_key[0] == '\0')) {
		snprintf(err, errlen, "%s: tls_certificate and tls_key must be set together", name);
		goto fail;
	}
	if ((c->tls_certificate_ecdsa[0] == '\0') != (c->tls_key_ecdsa[0] == '\0')) {
		snprintf(err, errlen, "%s: tls_certificate_ecdsa and tls_key_ecdsa must be set together",
		    name);
		goto fail;
	}
	if (c->tls_certificate_ecdsa[0] != '\0' && c->tls_certificate[0] == '\0') {
		snprintf(err, errlen, "%s: tls_certificate_ecdsa needs tls_certificate and tls_key "
		    "(the RSA pair for clients without ECDSA)", name);
		goto fail;
	}
	for (size_t k = 0; k < c->nlisten; k++)
		if ((c->listen[k].kind == LISTEN_SUBMISSION ||
		    c->listen[k].kind == LISTEN_SUBMISSIONS) && c->tls_certificate[0] == '\0') {
			snprintf(err, errlen, "%s: 'listen %s %s' needs tls_certificate and tls_key "
			    "(AUTH is only offered under TLS)", name,
			    c->listen[k].kind == LISTEN_SUBMISSION ? "submission" : "submissions",
			    c->listen[k].text);
			goto fail;
		}
	*out = *c;
	free(c);
	return 0;
fail:
	free(c);
	return -1;
}

int
config_load(const char *path, struct config *out, char **text, size_t *textlen,
    char *err, size_t errlen)
{
	char *buf;
	size_t len = 0;
	int fd;

	*text = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(CONFIG_TEXT_MAX + 1)) == NULL) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, CONFIG_TEXT_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CONFIG_TEXT_MAX) {
			snprintf(err, errlen, "%s: file larger than %d bytes", path, CONFIG_TEXT_MAX);
			goto fail;
		}
	}
	close(fd);
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(err, errlen, "%s: NUL byte in file", path);
		free(buf);
		return -1;
	}
	if (config_parse(path, buf, len, out, err, errlen) == -1) {
		free(buf);
		return -1;
	}
	*text = buf;
	*textlen = len;
	return 0;
fail:
	close(fd);
	free(buf);
	return -1;
}

bool
config_has_domain(const struct config *c, const char *domain)
{
	for (size_t i = 0; i < c->ndomains; i++)
		if (strcmp(c->domains[i], domain) == 0)
			return true;
	return false;
}

/*
 * The embedded demo config. "@DIR@" is replaced by the demo directory.
 * Loopback only, unprivileged ports, one domain (example.test).
 */
const char config_demo_template[] =
	"# homemx demo instance (embedded default config)\n"
	"hostname mx.example.test\n"
	"listen smtp 127.0.0.1:2525\n"
	"listen submission 127.0.0.1:5587\n"
	"listen submissions 127.0.0.1:4465\n"
	"domain example.test\n"
	"spool_dir @DIR@/spool\n"
	"store_dir @DIR@/store\n"
	"maildir_root @DIR@/maildirs\n"
	"chroot_dir @DIR@/empty\n"
	"dkim_key_dir @DIR@/dkim\n"
	"dns_server 127.0.0.1:9\n"
	"tls_certificate @DIR@/tls/cert.pem\n"
	"tls_key @DIR@/tls/key.pem\n"
	"max_message_size 25M\n"
	"greeting_delay 1s\n"
	"queue_lifetime 2d\n"
	"retry_min 1m\n"
	"retry_max 1h\n";
