/*
 * lib/config.h - homemx.conf: the grammar's result as one plain struct.
 *
 * Owns: every tunable, its default and its bounds (one row each in
 * config.c). The supervisor parses and validates the file; each role parses
 * the same text, handed over by the supervisor, so all roles always agree.
 */
#ifndef HMX_CONFIG_H
#define HMX_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "addr.h"
#include "config_screen.h"

#define CONFIG_MAX_LISTEN	16
#define CONFIG_MAX_DOMAINS	64
#define CONFIG_PATH_MAX		512
#define CONFIG_LMTP_PATH_MAX	108	/* sun_path of a struct sockaddr_un */
#define CONFIG_TEXT_MAX		60000	/* must fit one MSG_SUP_RELOAD */
#define CONFIG_ERR_MAX		1024
#define CONFIG_LISTEN_TEXT_MAX	112	/* "[v6]:port", or a socket path (sun_path: 108) */

enum listen_kind {
	LISTEN_SMTP = 1,	/* port 25: inbound, no relay */
	LISTEN_SUBMISSION,	/* 587 STARTTLS (next issue) */
	LISTEN_SUBMISSIONS,	/* 465 implicit TLS (next issue) */
	LISTEN_LOCAL,		/* the UNIX socket of sendmail(8): submission/local.c */
};

struct listen_conf {
	enum listen_kind	kind;
	struct sockaddr_storage	addr;	/* a sockaddr_un for LISTEN_LOCAL */
	socklen_t		addrlen;
	char			text[CONFIG_LISTEN_TEXT_MAX];	/* as written, for logs */
};

/* The socket of sendmail(8) when the config has no "listen local" line
 * of its own: the path sendmail/sendmail.c connects to by default. */
#define CONFIG_LOCAL_SOCKET_DEFAULT	"/var/lib/homemx/sendmail/socket"

/* local_sender LOGIN ADDRESS: what a local user's mail is sent as
 * (submission/local.c); without one, LOGIN@hostname. */
#define CONFIG_MAX_LOCAL_SENDERS	64
#define CONFIG_LOGIN_MAX		ADDR_LOGIN_MAX
struct local_sender {
	char	login[CONFIG_LOGIN_MAX + 1];
	char	address[ADDR_MAX + 1];
};

#define CONFIG_MAX_DESTINATIONS	64
#define CONFIG_MAX_PUBLIC	8	/* public_address: addresses of this host */

enum dest_match { DEST_MATCH_DOMAIN = 1, DEST_MATCH_MX };
/* DEST_FAMILY_ANY (not set) and DEST_FAMILY_PREFER_IPV6 both try IPv6
 * first; the explicit value lets a rule override a built-in one. */
enum dest_family { DEST_FAMILY_ANY = 0, DEST_FAMILY_IPV4_ONLY, DEST_FAMILY_IPV6_ONLY,
	DEST_FAMILY_PREFER_IPV4, DEST_FAMILY_PREFER_IPV6 };

/*
 * One per-destination rule for outbound delivery:
 *	destination domain gmail.com family=ipv4-only
 *	destination mx *.google.com family=ipv4-only max_connections=2
 *	destination domain * relay=[smtp.example.net]:587 auth=/etc/homemx/relay.secret
 * A pattern is an exact name, "*" (anything) or "*.suffix". The first rule
 * that matches wins for each setting it sets. After the config's rules come
 * built-in ones (lib/config_dest.c: IPv4 only toward Gmail and Google-hosted MX),
 * which set only a family that no rule set.
 */
struct dest_rule {
	enum dest_match		match;
	char			pattern[ADDR_DOMAIN_MAX + 3];
	enum dest_family	family;		/* DEST_FAMILY_ANY = not set */
	uint32_t		max_connections;	/* 0 = not set */
	bool			tls_require;
	char			relay_host[ADDR_DOMAIN_MAX + 1];	/* "" = none */
	uint16_t		relay_port;
	char			auth_file[CONFIG_PATH_MAX];	/* "user password" */
	char			helo[ADDR_DOMAIN_MAX + 1];
	char			source_ip[64];
};

/*
 * What one kind of listener offers in TLS (lib/tlsconf.h applies it):
 * smtpd_tls_* for port 25, submission_tls_* for 587 and 465. The lists are
 * OpenSSL's syntax, checked by OpenSSL when the config is checked.
 */
#define TLS_LIST_MAX	512
struct tls_settings {
	uint32_t		min_version;	/* 0x0301 TLSv1 .. 0x0304 TLSv1.3 */
	char			ciphers[TLS_LIST_MAX];	/* TLS 1.2 and below */
	char			ciphersuites[TLS_LIST_MAX];	/* TLS 1.3 */
	char			groups[TLS_LIST_MAX];	/* key exchange */
};

struct config {
	char			hostname[ADDR_DOMAIN_MAX + 1];
	struct listen_conf	listen[CONFIG_MAX_LISTEN];
	size_t			nlisten;
	char			domains[CONFIG_MAX_DOMAINS][ADDR_DOMAIN_MAX + 1];
	size_t			ndomains;

	char			spool_dir[CONFIG_PATH_MAX];
	char			store_dir[CONFIG_PATH_MAX];
	char			maildir_root[CONFIG_PATH_MAX];
	char			chroot_dir[CONFIG_PATH_MAX];
	char			tls_certificate[CONFIG_PATH_MAX];
	char			tls_key[CONFIG_PATH_MAX];
	/* a second pair beside the first: ECDSA clients get it, others the
	 * RSA one of tls_certificate (lib/tlscheck.h checks the types) */
	char			tls_certificate_ecdsa[CONFIG_PATH_MAX];
	char			tls_key_ecdsa[CONFIG_PATH_MAX];
	uint32_t		tls_ocsp_stapling;	/* 0 or 1 (supervisor/ocsp.h) */
	char			ocsp_dir[CONFIG_PATH_MAX];	/* the responses, cached */
	struct tls_settings	tls_smtp;	/* port 25 */
	struct tls_settings	tls_submission;	/* 587 and 465 */
	char			subaddress_delimiters[16];

	uint64_t		max_message_size;	/* bytes */
	uint32_t		max_recipients;
	uint32_t		max_errors;
	uint32_t		max_connections;
	uint32_t		max_connections_per_ip;
	uint32_t		timeout_command;	/* seconds */
	uint32_t		timeout_data;
	uint32_t		greeting_delay;
	uint32_t		queue_lifetime;
	uint32_t		retry_min;
	uint32_t		retry_max;
	uint32_t		delivery_concurrency;

	/* submission, DKIM, outbound */
	char			dkim_key_dir[CONFIG_PATH_MAX];
	char			dkim_selector[64];
	char			control_group[33];	/* may use mxctl's control socket */
	char			dns_server[80];	/* "IP:PORT", "" = resolv.conf */
	uint32_t		submission_hide_client_ip;	/* 0 or 1 */
	uint32_t		max_connections_per_destination;
	uint32_t		family_fallback_memory;	/* seconds */
	uint32_t		auth_failures_per_ip;	/* then 421/454 */
	uint32_t		bounce_tags;	/* 0 or 1: BATV on relayed senders */
	struct dest_rule	destinations[CONFIG_MAX_DESTINATIONS];
	size_t			ndestinations;

	/* the inbound screen (lib/config_screen.h) */
	struct screen_config	screen;

	/* port 25 under abuse (smtpd/guard.h) */
	uint32_t		session_timeout;	/* seconds, a whole session */
	uint32_t		max_connections_per_net;	/* same /24 or /64 */
	/* a client that sent clean mail lately (smtpd/reputation.h) */
	uint32_t		max_connections_per_known_ip;
	uint32_t		known_client_memory;	/* seconds; 0 = off */

	/* what mxctl dns prints and mxctl doctor checks (admin/dnsrecords.h):
	 * the addresses the Internet reaches this host at and it sends
	 * from (none: found on the interfaces), and where DMARC and TLS-RPT
	 * reports go ("" = postmaster@DOMAIN) */
	char			public_address[CONFIG_MAX_PUBLIC][INET6_ADDRSTRLEN];
	size_t			npublic_address;
	char			report_address[ADDR_MAX + 1];

	/* outbound TLS policy (relay/tls.h, dane.h, mtasts.h, tlsrpt.h) */
	char			relay_ca_file[CONFIG_PATH_MAX];
	uint32_t		dns_validating;	/* 0 or 1: trust dns_server's AD bit */
	uint32_t		mta_sts;	/* 0 or 1 */
	char			relay_state_dir[CONFIG_PATH_MAX];
	/* Dovecot (admin/dovecot_passwd.h, delivery/lmtp.h): the passwd-file
	 * mxctl keeps in sync with the users ("" = none), and local delivery
	 * through Dovecot's LMTP socket instead of writing Maildirs ("" =
	 * Maildir, "delivery maildir"; "delivery lmtp:/run/dovecot/lmtp") */
	char			dovecot_passwd_file[CONFIG_PATH_MAX];
	char			delivery_lmtp[CONFIG_LMTP_PATH_MAX];
	/* sendmail(8): the address each local login sends as, when it is not
	 * LOGIN@hostname (submission/local.c) */
	struct local_sender	local_senders[CONFIG_MAX_LOCAL_SENDERS];
	size_t			nlocal_senders;
};

/* The rule fields that apply to a recipient domain and an MX host name
 * (NULL: not known yet): for each setting, the first rule that matches and
 * sets it; then the built-in family rules. */
void	config_destination_for(const struct config *, const char *rcpt_domain,
	    const char *mx_host, struct dest_rule *out);
bool	dest_pattern_matches(const char *pattern, const char *name);

/* 0x0301..0x0304 for "TLSv1".."TLSv1.3" (OpenSSL's names), else 0. */
uint32_t	tls_version_number(const char *name);
/* The name of such a number, "?" for another. */
const char	*tls_version_name(uint32_t number);

/* Fills every field with its default. */
void	config_defaults(struct config *);

/*
 * Parses text (len bytes) as homemx.conf. name is used in messages, which
 * look like "homemx.conf:12: max_recipients: expected a number from 1 to 200,
 * got 'lots'". Returns 0, or -1 with err filled. On -1, *out is unchanged.
 */
int	config_parse(const char *name, const char *text, size_t len,
	    struct config *out, char *err, size_t errlen);

/* Reads a file (at most CONFIG_TEXT_MAX bytes) and parses it. On success
 * *text is the malloc'd file content, for handing to the roles. */
int	config_load(const char *path, struct config *out, char **text,
	    size_t *textlen, char *err, size_t errlen);

/* The local_sender address of login, or NULL. */
const char *config_local_sender(const struct config *, const char *login);

/* True if domain (lowercase ASCII) is listed with `domain`. */
bool	config_has_domain(const struct config *, const char *domain);

/* The embedded config `homemxd -d DIR` (demo mode) runs on. */
extern const char config_demo_template[];

#endif
