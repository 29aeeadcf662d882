/*
 * admin/doctor_dns.h - the DNS of `mxctl doctor`: the screen's cache and
 * view for A, AAAA, PTR, TXT and MX (so the screen's SPF and DNS-list code
 * runs on it unchanged), raw answers for CNAME, TLSA and type 99
 * (admin/dnsraw.h), and the rounds that fill both.
 *
 * Owns: one c-ares channel toward the configured servers only, driven
 * synchronously (mxctl has nothing else to do meanwhile), the raw answers,
 * the misses of the current round and the time budget. The checks read
 * through ddns_lookup/ddns_raw; a miss is recorded and fetched before the
 * next round. Raw queries carry the AD bit (RFC 6840 5.7) so that a
 * validating resolver says whether it validated.
 */
#ifndef HMX_ADMIN_DOCTOR_DNS_H
#define HMX_ADMIN_DOCTOR_DNS_H

#include <stdbool.h>
#include <stdint.h>

#include "../screen/dnscache.h"
#include "dnsraw.h"

struct doctor_dns;

#define DDNS_ROUNDS_MAX		40	/* an SPF chain is 10 deep, CNAME/MX chains short */
#define DDNS_RAW_MAX		256	/* raw answers kept */
#define DDNS_TIMEOUT_MS		2000	/* one try; c-ares retries once */

/* A doctor on servers ("IP:PORT,..."), or NULL with why. budget_ms bounds
 * all DNS waiting of the run. */
struct doctor_dns *ddns_new(const char *servers, unsigned budget_ms, const char **why);
/* A doctor on a cache filled by hand, without a network (unit tests).
 * With fetch, each miss of a round is handed to it (qtype 0 for the view's
 * types), and it answers with dns_cache_put or ddns_put_raw, as c-ares
 * would; without, misses become temporary failures at once. */
typedef void (*ddns_fetch_fn)(struct doctor_dns *, const char *name, enum dv_type,
    uint16_t qtype, void *arg);
struct doctor_dns *ddns_new_offline(struct dns_cache *, ddns_fetch_fn fetch, void *arg);
void	ddns_free(struct doctor_dns *);
/* Offline doctors: store a raw answer, as the fetch would. */
void	ddns_put_raw(struct doctor_dns *, const char *name, uint16_t qtype,
	    const struct dnsraw_answer *);

enum dv_status	ddns_lookup(struct doctor_dns *, const char *name, enum dv_type,
		    struct dv_answer *out);
/* *out points into the doctor's store (valid until ddns_free); on DV_MISS
 * it is NULL. */
enum dv_status	ddns_raw(struct doctor_dns *, const char *name, uint16_t qtype,
		    const struct dnsraw_answer **out);
struct dns_view	*ddns_view(struct doctor_dns *);
/* Misses recorded in this round (view and raw). */
size_t	ddns_misses(struct doctor_dns *);

/* Runs round(arg, dd) until a round records no miss, fetching in between;
 * when the budget or DDNS_ROUNDS_MAX runs out, one last round sees every
 * missing answer as a temporary failure. Returns the rounds run. An
 * offline doctor never fetches: its misses become temporary failures. */
unsigned ddns_settle(struct doctor_dns *, void (*round)(void *, struct doctor_dns *),
	    void *arg);
bool	ddns_gave_up(const struct doctor_dns *);
unsigned ddns_queries(const struct doctor_dns *);

#endif
