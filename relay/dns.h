/*
 * relay/dns.h - MX and address lookups for outbound mail, with c-ares
 * inside the libevent loop.
 *
 * Owns: the relay's one c-ares channel. MX and TLSA queries go out with
 * the EDNS DO bit and the AD bit set (RFC 4035 3.2.1, RFC 6840 5.7), so a
 * validating resolver tells whether the answer was secure (relay/dane.h);
 * so do the A/AAAA queries of an MX host whose TLSA records are asked.
 * It is set up in preinit (before
 * the chroot), never reads /etc/hosts (ARES_OPT_LOOKUPS "b") and sends only
 * to the configured dns_server (doc/libraries.md section 4).
 * Answers never arrive inside the call that asked: each lookup starts from
 * the event loop and reports to a callback with the caller's id, so the
 * caller looks its job up again and a job that is gone is simply not found.
 */
#ifndef RELAY_DNS_H
#define RELAY_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"
#include "dane.h"

struct event_base;

enum dns_status {
	DNS_OK = 0,
	DNS_NODATA,	/* the name exists, no record of this type */
	DNS_NXDOMAIN,	/* the name does not exist */
	DNS_NULL_MX,	/* RFC 7505: the domain accepts no mail */
	DNS_TEMPFAIL,	/* timeout, SERVFAIL, REFUSED, no server: try later */
};

#define DNS_MX_MAX	16	/* MX records kept per domain */
#define DNS_ADDR_MAX	8	/* addresses kept per name and family */
#define DNS_ERR_MAX	128

struct dns_mx {
	char		host[ADDR_DOMAIN_MAX + 1];
	uint16_t	pref;
};

/* n records, already sorted (see mx_sort in targets.h). secure: the
 * answer came with the AD bit (believe it only with dns_validating). */
typedef void (*dns_mx_cb)(uint64_t id, enum dns_status, const struct dns_mx *,
    size_t n, const char *err, bool secure);
/* family is AF_INET or AF_INET6; addrs have port 0. secure: the answer
 * came with the AD bit (only asked for with dnssec, see dns_lookup_addr). */
typedef void (*dns_addr_cb)(uint64_t id, uint32_t tag, int family,
    enum dns_status, const struct sockaddr_storage *, size_t n, const char *err,
    bool secure);

/* The TLSA records of _PORT._tcp.HOST (relay/dane.h reads the answer). */
typedef void (*dns_tlsa_cb)(uint64_t id, uint32_t tag, enum dane_rcode, bool ad,
    const struct dane_set *);
/* TXT strings of a name joined per record (RFC 7208 3.3 style), "" NUL
 * separated in buf: n records; status as for the others. */
typedef void (*dns_txt_cb)(uint64_t id, enum dns_status, const char *const *txt,
    size_t n, const char *err);

/* server_csv: "IP:PORT[,...]" or "" for the system's resolv.conf. */
void	dns_init(struct event_base *, const char *server_csv);
/* Applies a new dns_server on reload ("" keeps the current servers). */
void	dns_set_servers(const char *server_csv);
void	dns_lookup_mx(const char *domain, dns_mx_cb, uint64_t id);
/* tag is handed back unchanged (the caller's host index). dnssec: ask with
 * the DO and AD bits, for an MX host whose TLSA records count only if its
 * addresses are secure too (RFC 7672 2.2.2). */
void	dns_lookup_addr(const char *host, int family, dns_addr_cb, uint64_t id,
	    uint32_t tag, bool dnssec);
void	dns_lookup_tlsa(const char *host, uint16_t port, dns_tlsa_cb, uint64_t id,
	    uint32_t tag);
void	dns_lookup_txt(const char *name, dns_txt_cb, uint64_t id);
void	dns_shutdown(void);

#endif
