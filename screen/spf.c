/*
 * screen/spf.c - RFC 7208 check_host() with libspf2 behind a DNS layer that
 * reads the screen's DNS view (screen/dnsview.h).
 *
 * Owns: the libspf2 DNS layer for one evaluation. Why this layer: libspf2's
 * own resolvers block (res_ninit) or serve a static zone; this one answers
 * from the view and records a miss as TRY_AGAIN, so an evaluation that met
 * a miss is reported pending and run again once the miss is fetched.
 * libspf2 stops at its first TRY_AGAIN, so it costs one round per lookup.
 * A broken record comes back as result "(invalid)" with an error code:
 * SPF_E_DNS_ERROR maps to temperror, anything else to permerror.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spf2/spf.h>
#include <spf2/spf_dns.h>

#include "spf.h"

struct view_layer {
	struct dns_view	*view;
	bool		 missed;
};

static int
dv_type_of(ns_type t, enum dv_type *out)
{
	switch (t) {
	case ns_t_a:	*out = DV_A; return 0;
	case ns_t_aaaa:	*out = DV_AAAA; return 0;
	case ns_t_ptr:	*out = DV_PTR; return 0;
	case ns_t_txt:	*out = DV_TXT; return 0;
	case ns_t_mx:	*out = DV_MX; return 0;
	default:	return -1;
	}
}

static int
rr_fill(SPF_dns_rr_t *rr, int i, ns_type t, const struct dv_rr *in)
{
	size_t size = t == ns_t_a ? sizeof(struct in_addr) :
	    t == ns_t_aaaa ? sizeof(struct in6_addr) : in->len + 1;

	if (SPF_dns_rr_buf_realloc(rr, i, size) != SPF_E_SUCCESS)
		return -1;
	if (t == ns_t_a)
		return inet_pton(AF_INET, in->data, &rr->rr[i]->a) == 1 ? 0 : -1;
	if (t == ns_t_aaaa)
		return inet_pton(AF_INET6, in->data, &rr->rr[i]->aaaa) == 1 ? 0 : -1;
	memcpy(rr->rr[i]->txt, in->data, in->len);
	rr->rr[i]->txt[in->len] = '\0';
	return 0;
}

static SPF_dns_rr_t *
view_lookup(SPF_dns_server_t *srv, const char *domain, ns_type t, int cache)
{
	struct view_layer *layer = srv->hook;
	struct dv_answer a;
	enum dv_type type;
	SPF_dns_rr_t *rr;

	(void)cache;
	if (dv_type_of(t, &type) == -1)
		return SPF_dns_rr_new_init(srv, domain, t, 0, NO_DATA);
	switch (dv_lookup(layer->view, domain, type, &a)) {
	case DV_MISS:
		layer->missed = true;
		return SPF_dns_rr_new_init(srv, domain, t, 0, TRY_AGAIN);
	case DV_TEMPFAIL:
		return SPF_dns_rr_new_init(srv, domain, t, 0, TRY_AGAIN);
	case DV_NXDOMAIN:
		return SPF_dns_rr_new_init(srv, domain, t, 0, HOST_NOT_FOUND);
	case DV_NODATA:
		return SPF_dns_rr_new_init(srv, domain, t, 0, NO_DATA);
	case DV_OK:
		break;
	}
	rr = SPF_dns_rr_new_init(srv, domain, t, 60, NETDB_SUCCESS);
	for (size_t i = 0; rr != NULL && i < a.n; i++) {
		if (rr_fill(rr, (int)i, t, &a.rr[i]) == -1)
			break;
		rr->num_rr = (int)i + 1;
	}
	return rr;
}

static void
view_layer_free(SPF_dns_server_t *srv)
{
	free(srv);
}

static enum spf_result
map_result(SPF_result_t r, SPF_errcode_t rc)
{
	switch (r) {
	case SPF_RESULT_NEUTRAL:	return SPF_NEUTRAL;
	case SPF_RESULT_PASS:		return SPF_PASS;
	case SPF_RESULT_FAIL:		return SPF_FAIL;
	case SPF_RESULT_SOFTFAIL:	return SPF_SOFTFAIL;
	case SPF_RESULT_NONE:		return SPF_NONE;
	case SPF_RESULT_TEMPERROR:	return SPF_TEMPERROR;
	case SPF_RESULT_PERMERROR:	return SPF_PERMERROR;
	default:
		return rc == SPF_E_DNS_ERROR ? SPF_TEMPERROR : SPF_PERMERROR;
	}
}

static int
request_setup(SPF_request_t *req, const struct spf_request *in)
{
	struct in6_addr a6;

	if (inet_pton(AF_INET6, in->ip, &a6) == 1) {
		if (SPF_request_set_ipv6(req, a6) != SPF_E_SUCCESS)
			return -1;
	} else if (SPF_request_set_ipv4_str(req, in->ip) != SPF_E_SUCCESS) {
		return -1;
	}
	if (in->helo[0] != '\0')
		SPF_request_set_helo_dom(req, in->helo);
	return SPF_request_set_env_from(req, in->sender) == 0 ? 0 : -1;
}

enum spf_eval_status
spf_evaluate(struct dns_view *view, const struct spf_request *in,
    struct spf_outcome *out)
{
	struct view_layer layer = { view, false };
	SPF_dns_server_t *dns = calloc(1, sizeof(*dns));
	SPF_server_t *server;
	SPF_request_t *req;
	SPF_response_t *resp = NULL;
	SPF_errcode_t rc;
	const char *exp;

	memset(out, 0, sizeof(*out));
	if (dns == NULL)
		return SPF_EVAL_PENDING;
	dns->destroy = view_layer_free;
	dns->lookup = view_lookup;
	dns->name = "view";
	dns->hook = &layer;
	server = SPF_server_new_dns(dns, 0);
	SPF_server_set_rec_dom(server, in->receiver != NULL && in->receiver[0] != '\0' ?
	    in->receiver : "unknown");
	SPF_server_set_explanation(server, "", &resp);
	if (resp != NULL)
		SPF_response_free(resp);
	resp = NULL;
	req = SPF_request_new(server);
	if (request_setup(req, in) == -1) {
		out->result = SPF_NONE;
		rc = SPF_E_SUCCESS;
	} else {
		rc = SPF_request_query_mailfrom(req, &resp);
		out->result = map_result(SPF_response_result(resp), rc);
		exp = SPF_response_get_explanation(resp);
		if (out->result == SPF_FAIL && exp != NULL)
			snprintf(out->explanation, sizeof(out->explanation), "%s", exp);
		if (rc != SPF_E_SUCCESS)
			snprintf(out->problem, sizeof(out->problem), "%s", SPF_strerror(rc));
	}
	if (resp != NULL)
		SPF_response_free(resp);
	SPF_request_free(req);
	SPF_server_free(server);
	return layer.missed ? SPF_EVAL_PENDING : SPF_EVAL_DONE;
}

const char *
spf_result_name(enum spf_result r)
{
	static const char *names[] = { "?", "none", "neutral", "pass", "fail",
	    "softfail", "temperror", "permerror" };

	return r >= SPF_NONE && r <= SPF_RESULT_MAX ? names[r] : "?";
}
