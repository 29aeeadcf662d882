/*
 * admin/cmd_screen.c - `mxctl screen test [--file MESSAGE] IP HELO FROM
 * RCPT`: runs every inbound check live, as the screen role would for that
 * transaction, and prints each contribution and the verdict at RCPT; with
 * --file, also the end-of-DATA verdict on that message (DKIM, DMARC,
 * header sanity) and the Authentication-Results the role would add. Sends
 * no mail and remembers nothing: the greylist is only looked at (as the
 * screen's own user, so the memory's files stay the role's), no verdict is
 * recorded.
 *
 * Owns: nothing beyond one run: its own DNS cache, resolver and
 * evaluations (screen/eval.h), against dns_server from homemx.conf only.
 * It first probes the DNS lists (RFC 5782 5) like the role does at start,
 * so a list that refuses the configured resolver shows up here as it
 * would in production, then evaluates the transaction. Why in mxctl: an
 * admin asking "would this server take mail from X?" should get the answer
 * from the same code and settings, without sending a message.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "../screen/dnsbl_health.h"
#include "../screen/dynptr.h"
#include "../screen/eval.h"
#include "../screen/ipname.h"
#include "../screen/judge.h"
#include "../screen/resolvconf.h"
#include "../screen/resolver.h"
#include "mxctl.h"
#include "screen_test.h"
#include "util.h"

#define SCREEN_TEST_CACHE	4096


static const screen_check_fn probe_checks[] = { dnsbl_probe_check };

static void
on_eval_done(const struct eval_result *r, void *arg)
{
	struct screen_run *run = arg;

	run->result = *r;
	run->done = true;
	event_base_loopexit(run->base, NULL);
}

/* Runs the checks to the end (the loop returns once done). */
int
screen_evaluate(struct mxctl *m, struct eval_params *p, const struct screen_facts *f,
    struct screen_run *run)
{
	run->done = false;
	if (eval_start(p, f, on_eval_done, run) == NULL)
		return mx_fail(m, "screen test: out of memory");
	event_base_dispatch(run->base);
	if (!run->done)
		return mx_fail(m, "screen test: the evaluation did not finish");
	return 0;
}

const char *
action_text(enum screen_action a)
{
	switch (a) {
	case SCREEN_ACCEPT:	return "accept";
	case SCREEN_GREYLIST:	return "greylist zone";
	case SCREEN_TEMPFAIL:	return "tempfail";
	case SCREEN_REJECT:	return "reject";
	}
	return "?";
}

const char *
reply_text(enum screen_reply r)
{
	switch (r) {
	case SCREEN_REPLY_OK:		return "250 2.1.5";
	case SCREEN_REPLY_GREYLIST:	return "451 4.7.1, on a first attempt only";
	case SCREEN_REPLY_TEMPFAIL:	return "451 4.7.1";
	case SCREEN_REPLY_DNS_TEMPFAIL:	return "451 4.4.3, DNS could not answer in time";
	case SCREEN_REPLY_REJECT:	return "550 5.7.1";
	case SCREEN_REPLY_SPF_REJECT:	return "550 5.7.23";
	case SCREEN_REPLY_VIRUS:	return "554 5.7.1, a virus";
	case SCREEN_REPLY_USER_UNKNOWN:	return "550 5.1.1, as if the user did not exist (spam memory)";
	}
	return "?";
}

static void
print_lists(const struct config *cfg, const struct dnsbl_health *h)
{
	printf("dns lists:\n");
	if (cfg->screen.nlists == 0)
		printf("  (none configured)\n");
	for (size_t i = 0; i < cfg->screen.nlists; i++) {
		const struct screen_list *l = &cfg->screen.lists[i];
		printf("  %-6s %-28s %s", l->allow ? "dnswl" : "dnsbl", l->zone,
		    list_state_name(h->state[i]));
		if (l->ipv6)
			printf(", ipv6 %s", list_state_name(h->state6[i]));
		printf("%s\n", dnsbl_list_usable(h, i) ? "" : " (ignored)");
	}
}

void
print_score(const struct score *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct score_item *it = &s->item[i];
		char w[32];
		if (it->unknown)
			snprintf(w, sizeof(w), "?%+d..%+d", it->weight, it->worst);
		else
			snprintf(w, sizeof(w), "%+d", it->weight);
		printf("  %-32s %9s  %s\n", it->name, w, it->reason);
	}
	if (s->n == 0)
		printf("  (nothing to say)\n");
	if (s->overflow)
		printf("  (more contributions than a score keeps)\n");
}

/* The screen's memory for a greylist look, or NULL (said why). */
static struct screen_memory *
screen_test_memory(struct mxctl *m)
{
	const struct screen_config *sc = &m->cfg.screen;
	char dir[CONFIG_PATH_MAX + 16], err[MEMORY_ERR_MAX];
	struct screen_memory *mem;

	if (mx_become_owner_of(m, sc->screen_dir) == -1 ||
	    memory_dir(sc->screen_dir, dir, sizeof(dir)) == -1) {
		printf("greylist memory: not available (%s)\n", m->err);
		return NULL;
	}
	if ((mem = memory_open(dir, sc->memory_max_entries, err, sizeof(err))) == NULL)
		printf("greylist memory: not available (%s)\n", err);
	return mem;
}

/* The verdict as the role would give it now (screen/judge.c), greylist
 * looked at but not written, and the line the role would log. */
static void
print_verdict(const struct config *cfg, const struct screen_facts *f,
    const struct eval_result *r, struct screen_memory *mem)
{
	struct screen_verdict v;
	char line[JUDGE_LINE_MAX];

	judge_decide(cfg, f, r, mem, true, time(NULL), &v, line, sizeof(line));
	printf("total: %d", score_total(&r->score));
	if (score_has_unknown(&r->score))
		printf(" (worst case %d)", score_worst(&r->score));
	printf("   thresholds: greylist %d, tempfail %d, reject %d\n",
	    cfg->screen.greylist_score, cfg->screen.tempfail_score,
	    cfg->screen.reject_score);
	if (!r->complete)
		printf("dns: too many rounds: the verdict waits for DNS\n");
	else if (r->gave_up)
		printf("dns: the budget ran out; what was missing counts as a temporary "
		    "failure\n");
	printf("verdict: %s (%s)\n", action_text(v.action), reply_text(v.reply));
	printf("log line: event=verdict %s\n", line);
}

/* FROM: "<>" or "" is the null sender; else an address. */
static int
facts_fill(struct mxctl *m, char **argv, struct screen_facts *f)
{
	struct ip_addr ip;

	memset(f, 0, sizeof(*f));
	f->stage = SCREEN_STAGE_RCPT;
	f->rcpt_seq = 1;
	snprintf(f->sess, sizeof(f->sess), "mxctl");
	if (strlen(argv[0]) >= sizeof(f->client_ip) || ip_addr_parse(argv[0], &ip) == -1)
		return mx_fail(m, "screen test: '%.64s' is not an IP address", argv[0]);
	snprintf(f->client_ip, sizeof(f->client_ip), "%s", argv[0]);
	if (strlen(argv[1]) >= sizeof(f->helo))
		return mx_fail(m, "screen test: the HELO name is longer than %d octets",
		    SCREEN_HELO_MAX);
	snprintf(f->helo, sizeof(f->helo), "%s", argv[1]);
	f->flags = SCREEN_FACT_MAIL_SEEN;
	if (strcmp(argv[2], "<>") == 0 || argv[2][0] == '\0')
		f->flags |= SCREEN_FACT_NULL_SENDER;
	else if (mx_norm_address(m, "sender", argv[2], f->mail_from, sizeof(f->mail_from)) == -1)
		return -1;
	return mx_norm_address(m, "recipient", argv[3], f->rcpt, sizeof(f->rcpt));
}

static void
print_facts(const struct screen_facts *f, bool trusted)
{
	printf("screen test: client %s helo %s from <%s> to <%s>%s\n", f->client_ip,
	    f->helo, f->mail_from, f->rcpt, trusted ? " (a trusted network)" : "");
}

static int
screen_test(struct mxctl *m, struct event_base *base, struct dns_cache *cache,
    const struct screen_facts *f, int msg_fd, struct screen_memory *mem)
{
	static struct dnsbl_health health;
	struct screen_env env = { &m->cfg, &health };
	struct eval_params p = {
		&env, probe_checks, 1, cache, resolver_fetch, base,
		m->cfg.screen.dns_timeout * 1000,
	};
	struct screen_facts probe_facts = { .stage = SCREEN_STAGE_CONNECT };
	struct screen_run run = { .base = base };
	bool trusted = screen_ip_trusted(&m->cfg.screen, f->client_ip);

	dnsbl_health_init(&health);
	snprintf(probe_facts.sess, sizeof(probe_facts.sess), "probe");
	if (screen_evaluate(m, &p, &probe_facts, &run) == -1)
		return -1;
	print_facts(f, trusted);
	print_lists(&m->cfg, &health);
	p.checks = judge_checks;	/* the role's list, in the role's order */
	p.nchecks = judge_nchecks;
	if (screen_evaluate(m, &p, f, &run) == -1)
		return -1;
	/* as the role does: a trusted network is its own contribution */
	if (trusted)
		score_add(&run.result.score, screen_weight_name(W_TRUSTED_NETWORK),
		    m->cfg.screen.weights[W_TRUSTED_NETWORK], "ip=%s", f->client_ip);
	printf("checks (%u rounds, %u lookups, %.2f s):\n", run.result.rounds,
	    run.result.fetches, run.result.elapsed);
	print_score(&run.result.score);
	print_verdict(&m->cfg, f, &run.result, mem);
	if (msg_fd == -1)
		return 0;
	if (trusted) {
		printf("end of DATA: a trusted network: nothing checked, nothing added\n");
		return 0;
	}
	return screen_test_message(m, &p, &env, f, msg_fd, mem);
}

/* Starts the resolver on dns_server and runs the test; MX_OK or MX_FAIL. */
static int
screen_test_live(struct mxctl *m, const struct screen_facts *f, int msg_fd)
{
	struct screen_memory *mem;
	struct event_base *base;
	struct dns_cache *cache;
	char servers[256];
	const char *why;
	int rc;

	if (screen_dns_servers(m->cfg.dns_server, RESOLV_CONF, servers, sizeof(servers),
	    &why) == -1) {
		mx_fail(m, "screen test: %s (%s)", why, m->config_path);
		return MX_FAIL;
	}
	dynptr_init();		/* before the drop: the suffix list is read now */
	mem = screen_test_memory(m);
	if ((base = event_base_new()) == NULL) {
		memory_close(mem);
		mx_fail(m, "screen test: event_base_new failed");
		return MX_FAIL;
	}
	cache = dns_cache_new(SCREEN_TEST_CACHE);
	if (resolver_init(base, servers, cache, NULL, &why) == -1) {
		mx_fail(m, "screen test: dns_server %s: %s", servers, why);
		rc = MX_FAIL;
	} else {
		rc = screen_test(m, base, cache, f, msg_fd, mem) == 0 ? MX_OK : MX_FAIL;
		resolver_shutdown();
	}
	dns_cache_free(cache);
	event_base_free(base);
	memory_close(mem);
	return rc;
}

int
cmd_screen_test(struct mxctl *m, int argc, char **argv)
{
	struct screen_facts f;
	int msg_fd = -1, rc;

	if (argc >= 1 && strcmp(argv[0], "--file") == 0) {
		if (argc != 6) {
			mx_fail(m, "usage: mxctl screen test [--file MESSAGE] IP HELO "
			    "FROM|<> RCPT");
			return MX_FAIL;
		}
		if ((msg_fd = screen_test_file_open(m, argv[1])) == -1)
			return MX_FAIL;
		argv += 2;
		argc -= 2;
	} else if (argc != 4) {
		mx_fail(m, "usage: mxctl screen test [--file MESSAGE] IP HELO FROM|<> RCPT");
		return MX_FAIL;
	}
	if (facts_fill(m, argv, &f) == -1)
		rc = MX_FAIL;
	else
		rc = screen_test_live(m, &f, msg_fd);
	if (msg_fd != -1)
		close(msg_fd);
	return rc;
}
