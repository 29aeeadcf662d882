/*
 * admin/dnsrecords.h - every DNS record a domain served by homemx should
 * publish, each with a one-line reason: MX, A/AAAA of the mail host, the
 * PTR its provider must set, SPF, both DKIM keys, DMARC, MTA-STS (the TXT
 * record and the policy file), TLS-RPT and TLSA.
 *
 * Owns: what homemx recommends, in one place. dnsrec_build() is a pure
 * function of its input (no files, no DNS), so it is unit-tested and other
 * commands can print the same records: `mxctl dns` (admin/cmd_dns.c),
 * `mxctl doctor` (its fixes name these records) and the setup command
 * (dnsrecords_print). Why these values:
 *  - SPF lists our sending addresses and ends in -all (RFC 7208 8.4): a
 *    receiver may then refuse forgeries; without known addresses, "mx".
 *  - DMARC p=reject with strict alignment (adkim=s, aspf=s, RFC 7489
 *    6.3): homemx signs every message with d= the sender's own domain and
 *    sends with that domain in MAIL FROM, so our mail aligns strictly.
 *  - MTA-STS (RFC 8461) only with a certificate; mode enforce only when
 *    the certificate verifies for the host name against the public CAs,
 *    else testing (an enforce policy with a certificate senders cannot
 *    verify would stop their mail to us). Its id is derived from the
 *    policy text, so it changes exactly when the policy does.
 *  - TLSA 3 1 1 (DANE-EE, SubjectPublicKeyInfo, SHA-256; RFC 7671 5.1):
 *    survives a renewal that keeps the key.
 */
#ifndef HMX_ADMIN_DNSRECORDS_H
#define HMX_ADMIN_DNSRECORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "addr.h"
#include "certinfo.h"
#include "dkimpub.h"
#include "hostaddrs.h"

struct mxctl;

#define DNSREC_MAX		48
#define DNSREC_NAME_MAX		(ADDR_DOMAIN_MAX + 80)	/* "_25._tcp." + name, PTR names */
#define DNSREC_VALUE_MAX	DKIM_ZONE_TXT_MAX
#define DNSREC_WHY_MAX		400
#define DNSREC_NOTES_MAX	8
#define STS_POLICY_MAX		(512 + ADDR_DOMAIN_MAX)
#define STS_ID_HEX_BYTES	10	/* an id of 20 hex digits (RFC 8461 3.1: 1-32) */
#define STS_MAX_AGE_ENFORCE	604800	/* one week (RFC 8461 3.2 suggests weeks) */
#define STS_MAX_AGE_TESTING	86400

enum dnsrec_where {
	DNSREC_ZONE = 1,	/* the zone that holds the name */
	DNSREC_PROVIDER,	/* a PTR: set by whoever owns the address */
};

struct dnsrec {
	char			name[DNSREC_NAME_MAX + 1];	/* with the final dot */
	char			type[8];			/* "MX", "TXT", ... */
	char			value[DNSREC_VALUE_MAX + 1];	/* rdata, zone-file form */
	char			text[DNSREC_VALUE_MAX + 1];	/* TXT: the strings joined */
	char			why[DNSREC_WHY_MAX + 1];
	enum dnsrec_where	where;
};

enum sts_mode { STS_OFF = 0, STS_TESTING, STS_ENFORCE };

struct dnsrec_input {
	const char		*domain;	/* normalized */
	const char		*hostname;
	const struct host_addrs	*public;	/* A/AAAA and PTR */
	const struct host_addrs	*sending;	/* SPF */
	const struct dkim_pub	*dkim;		/* DKIM_ALG_COUNT keys, or NULL */
	const char		*selector;	/* dkim_selector, for the notes */
	const char		*report_address;	/* "" = postmaster@domain */
	bool			 tls;		/* tls_certificate is set and loads */
	const char		*tlsa_hex;	/* 3 1 1 data of its leaf, or NULL */
	bool			 cert_verifies;	/* for hostname, public CAs */
	const char		*cert_why;	/* why not, for the note */
	const char		*smarthost;	/* "" = delivering directly */
};

struct dnsrec_list {
	size_t		n;
	struct dnsrec	r[DNSREC_MAX];
	size_t		nnotes;
	char		note[DNSREC_NOTES_MAX][DNSREC_WHY_MAX + 1];	/* no record fixes these */
	enum sts_mode	sts_mode;
	char		sts_url[ADDR_DOMAIN_MAX + 64];
	char		sts_policy[STS_POLICY_MAX];	/* CRLF lines (RFC 8461 3.2) */
	char		sts_id[2 * STS_ID_HEX_BYTES + 1];
	char		report_address[ADDR_MAX + 1];	/* as used in rua= */
};

/* Fills out (every field). -1 only if a name does not fit DNS. */
int	dnsrec_build(const struct dnsrec_input *, struct dnsrec_list *out);

/* The pieces doctor compares with DNS. */
void	dnsrec_spf_text(const struct host_addrs *sending, char *out, size_t size);
void	dnsrec_report_address(const char *domain, const char *configured, char *out,
	    size_t size);
/* The first record of type at name (name with or without the final dot). */
const struct dnsrec *dnsrec_find(const struct dnsrec_list *, const char *type,
	    const char *name);

/* Zone-file text: a comment line with the reason above each record. */
void	dnsrec_print_zone(FILE *, const struct dnsrec_input *, const struct dnsrec_list *);
/* {"domain":..., "records":[{name,type,value,text,why,where}], "notes":[...],
 *  "mta_sts":{"mode","id","url","policy"}} */
void	dnsrec_print_json(FILE *, const struct dnsrec_input *, const struct dnsrec_list *);

/*
 * The live inputs of one domain and the storage dnsrec_input points into:
 * the host's addresses, the DKIM keys of dkim_selector, the configured
 * certificate. dnsrec_facts_read reads the keys (root, or the key
 * directory's owner) and fills in; 0, or -1 with m->err when the key
 * directory cannot be read (a missing key is a note, not an error).
 * Implemented in admin/cmd_dns.c.
 */
struct dnsrec_facts {
	struct host_addrs	public, sending;
	struct dkim_pub		dkim[DKIM_ALG_COUNT];
	struct cert_chain	chain;		/* tls_certificate, leaf first; n = 0 without */
	char			cert_err[CERT_WHY_MAX + CONFIG_PATH_MAX];	/* set but unusable */
	char			cert_why[CERT_WHY_MAX];	/* why it does not verify */
	char			tlsa_hex[TLSA_HEX_MAX];
	char			smarthost[ADDR_DOMAIN_MAX + 1];
	struct dnsrec_input	in;
};
int	dnsrec_facts_read(struct mxctl *, const char *domain, struct dnsrec_facts *);
void	dnsrec_facts_free(struct dnsrec_facts *);

/*
 * For other commands: the records of domain from the live config, keys and
 * certificate, printed as `mxctl dns DOMAIN [--json]` prints them. Reads
 * the DKIM keys, so run as root (or the key directory's owner). MX_OK,
 * or MX_FAIL with m->err (implemented in admin/cmd_dns.c).
 */
int	dnsrecords_print(struct mxctl *, const char *domain, bool json, FILE *out);

#endif
