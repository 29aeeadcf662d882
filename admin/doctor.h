/*
 * admin/doctor.h - `mxctl doctor [DOMAIN]`: what the checks share.
 *
 * Owns: the shape of a finding (OK, WARN or FAIL, an id, what was found
 * and the exact fix), the facts gathered before any DNS query (the
 * host's addresses, the DKIM keys, the configured certificate, what our
 * own listeners answered on loopback, the MTA-STS policies fetched), and
 * the list of checks. How it runs (admin/cmd_doctor.c): the local facts
 * first (keys need root, then privileges are dropped), then the listener
 * probes (admin/doctor_tls.c), then the DNS checks in rounds like the
 * screen's (screen/dnsview.h): every check is a pure function of the facts
 * and the DNS cache, records what it misses, and all of them run again
 * once the misses are fetched (admin/doctor_dns.c). A round without
 * misses is the report. Why this way: the checks are unit-tested on a
 * cache filled by hand, the SPF and DNS-list checks are the screen's own
 * code (screen/spf.c, screen/dnsbl.c), and every query goes to the
 * configured resolver through c-ares, never through the system's.
 *
 * Exit status of the command: 0 all OK, 1 the worst finding is a WARN,
 * 2 a FAIL, 3 the doctor could not run (config, resolver).
 */
#ifndef HMX_ADMIN_DOCTOR_H
#define HMX_ADMIN_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "certinfo.h"
#include "config.h"
#include "dkimpub.h"
#include "hostaddrs.h"

struct doctor_dns;

enum dr_status { DR_OK = 0, DR_WARN = 1, DR_FAIL = 2 };
#define DR_EXIT_ERROR		3

#define DR_ID_MAX		(ADDR_DOMAIN_MAX + 100)
#define DR_WHAT_MAX		700
#define DR_FIX_MAX		3000	/* a DKIM record fits */
#define DR_FINDINGS_MAX		600
#define DOCTOR_DOMAINS_MAX	64
#define DOCTOR_CERT_WARN_DAYS	14
#define DOCTOR_ERR_MAX		300
#define DR_SPF_TEXT_MAX		1024	/* the SPF record we recommend */
#define DR_NAME_BUF		(ADDR_DOMAIN_MAX + 64)	/* "_mta-sts." + a domain */

struct dr_finding {
	enum dr_status	status;
	char		id[DR_ID_MAX + 1];	/* "spf example.org": stable between runs */
	char		what[DR_WHAT_MAX + 1];
	char		fix[DR_FIX_MAX + 1];	/* "" when OK */
};

struct dr_report {
	size_t			n;
	bool			overflow;
	struct dr_finding	f[DR_FINDINGS_MAX];
};

void		dr_reset(struct dr_report *);
/* Adds a finding; fix may be NULL (nothing to do). */
void		dr_add(struct dr_report *, enum dr_status, const char *id, const char *fix,
		    const char *what_fmt, ...) __attribute__((format(printf, 5, 6)));
enum dr_status	dr_worst(const struct dr_report *);
const char	*dr_status_name(enum dr_status);
/* The finding with id, or NULL. */
const struct dr_finding *dr_find(const struct dr_report *, const char *id);

/* ---- MTA-STS (admin/doctor_sts.c) ------------------------------------------ */

#define STS_MX_MAX		16
#define STS_BODY_MAX		65536	/* RFC 8461 3.3: a sender reads at most 64 KiB */
#define STS_ADDRS_MAX		4

enum sts_policy_mode { STS_MODE_NONE = 0, STS_MODE_TESTING, STS_MODE_ENFORCE };

struct sts_policy {
	enum sts_policy_mode	mode;
	unsigned long		max_age;
	size_t			nmx;
	char			mx[STS_MX_MAX][ADDR_DOMAIN_MAX + 1];	/* "*.example.org" allowed */
};

/* RFC 8461 3.2: 0, or -1 with why (the first problem). Unknown keys are
 * ignored; version, mode and max_age must be there, mx too unless mode none. */
int	sts_policy_parse(const char *text, size_t len, struct sts_policy *, char *why,
	    size_t whysize);
/* RFC 8461 4.1: exact, or "*.suffix" for one more label. */
bool	sts_policy_mx_matches(const struct sts_policy *, const char *host);
/* An HTTP/1.x response: 0 with the status code, the body and whether the
 * Content-Type is text/plain; -1 with why if it is not a response. */
int	sts_http_response(const char *buf, size_t len, int *status, const char **body,
	    size_t *bodylen, bool *text_plain, char *why, size_t whysize);

/* One domain's policy as fetched (between DNS rounds). */
struct sts_fetch {
	bool			wanted;		/* a valid _mta-sts record: fetch it */
	size_t			naddrs;		/* mta-sts.DOMAIN's addresses */
	char			addrs[STS_ADDRS_MAX][INET6_ADDRSTRLEN];
	bool			done;
	bool			ok;		/* policy parsed */
	char			error[DOCTOR_ERR_MAX];
	struct sts_policy	policy;
};

/* GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt from the addresses in
 * f, verifying the certificate for mta-sts.DOMAIN; fills f. */
void	sts_fetch(const char *domain, struct sts_fetch *f, unsigned timeout_ms);

/* ---- our own listeners (admin/doctor_tls.c) ------------------------------- */

struct dr_listener {
	const struct listen_conf *conf;
	char		target[INET6_ADDRSTRLEN + 8];	/* what we connected to */
	bool		reached;
	bool		tls_offered;	/* STARTTLS in EHLO, or implicit TLS */
	bool		handshake;
	char		tls_version[16];	/* "TLSv1.3" */
	char		error[DOCTOR_ERR_MAX];
	struct cert_chain chain;	/* as served, leaf first */
	bool		verifies;	/* for the host name, public CAs */
	char		verify_why[CERT_WHY_MAX];
	/* port 25: RCPT to an outside domain; 587/465: MAIL without AUTH */
	bool		relay_tried;
	int		relay_code;	/* the reply that counts, 0 if none */
	char		relay_reply[200];
	char		relay_rcpt[ADDR_MAX + 1];
};

/* ---- the context ------------------------------------------------------------- */

struct dr_domain {
	char			name[ADDR_DOMAIN_MAX + 1];
	struct dkim_pub		dkim[DKIM_ALG_COUNT];
	struct sts_fetch	sts;
};

struct doctor {
	const struct config	*cfg;
	const char		*hostname;
	time_t			 now;
	struct host_addrs	 public, sending;
	bool			 sends_ipv6;
	char			 smarthost[ADDR_DOMAIN_MAX + 1];
	size_t			 ndomains;
	struct dr_domain	*dom;
	size_t			 ndomains_skipped;	/* over DOCTOR_DOMAINS_MAX */
	struct cert_chain	 configured;	/* tls_certificate, n = 0 without */
	char			 cert_err[DOCTOR_ERR_MAX + CONFIG_PATH_MAX];
	size_t			 nlisteners;
	struct dr_listener	 listener[CONFIG_MAX_LISTEN];
	bool			 listeners_probed;	/* false: --no-listeners, or tests */
};

/* One round of every check (doctor_round), and its parts. */
void	doctor_round(struct doctor *, struct doctor_dns *, struct dr_report *);
/* admin/doctor_host.c: PTR, FCrDNS, HELO, IPv6 sending, DNS lists */
void	doctor_check_host(struct doctor *, struct doctor_dns *, struct dr_report *);
/* admin/doctor_domain.c: MX, SPF, DKIM, DMARC of one domain */
void	doctor_check_domain(struct doctor *, struct dr_domain *, struct doctor_dns *,
	    struct dr_report *);
/* admin/doctor_policy.c: MTA-STS, TLS-RPT of one domain; TLSA of the host */
void	doctor_check_policies(struct doctor *, struct dr_domain *, struct doctor_dns *,
	    struct dr_report *);
void	doctor_check_tlsa(struct doctor *, struct doctor_dns *, struct dr_report *);
/* admin/doctor_tls.c */
void	doctor_probe_listeners(struct doctor *, const char *outside_domain);
void	doctor_check_listeners(struct doctor *, struct dr_report *);
/* The first port-25 listener as probed, or NULL (none, or not probed). */
const struct dr_listener *doctor_smtp_listener(const struct doctor *);

/* admin/doctor_report.c: one line per finding, or JSON. */
void	doctor_print_line(FILE *, const struct dr_finding *, const char *note);
void	doctor_print_text(FILE *, const struct doctor *, const struct dr_report *,
	    const char *servers);
void	doctor_print_json(FILE *, const struct doctor *, const struct dr_report *,
	    const char *servers);

/* Shared helpers (admin/doctor_domain.c). */
/* The SPF result for ip sending as sender (or <> with "") with our HELO:
 * 1 done (*out set), 0 pending. */
struct spf_outcome;
int	doctor_spf(struct doctor_dns *, const char *ip, const char *sender,
	    const char *helo, time_t now, struct spf_outcome *out);
/* A DKIM key record's p= (RFC 6376 3.6.1), whitespace removed; k= in alg
 * ("rsa" when absent). -1 if it is no DKIM key record. */
int	dkim_record_key(const char *txt, size_t len, char *p, size_t psize, char *k,
	    size_t ksize, char *why, size_t whysize);

#endif
