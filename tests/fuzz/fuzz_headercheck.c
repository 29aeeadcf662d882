// SOURCES: screen/message.c screen/headercheck.c screen/dkimverify.c screen/dmarc.c screen/score.c screen/dnscache.c lib/config.c lib/config_dest.c lib/config_screen.c lib/config_scan.c lib/hostport.c lib/addr.c lib/addr_intl.c lib/util.c lib/log.c lib/utf8.c
// LIBS: -lidn2 -lpsl -lopendkim -lcrypto -lunistring
/*
 * tests/fuzz/fuzz_headercheck.c - the message index and From: parser
 * (screen/message.c), check_headers (screen/headercheck.c) and, when
 * asked, check_dkim (screen/dkimverify.c, libopendkim) on arbitrary
 * messages. Byte 0 picks the SMTPUTF8 flag, whether the client is
 * trusted, whether a DKIM pass for home.test is assumed, and whether the
 * signatures are verified (over a zone holding the keys of
 * tests/fixtures/dkim, a temporary failure for selectors starting "t",
 * NXDOMAIN otherwise); the rest is the message, as the spool file.
 * Checks: no crash or UB; every field lies inside the header section, in
 * order, without overlap, starts with a valid name and has its colon;
 * the header section ends where the body starts; the From domains are
 * valid, lowercase, distinct and at most MSG_FROM_DOMAINS_MAX; the body
 * reads back as the input's tail; check_headers asks no DNS, adds only
 * header_* and forged_local_from items with their configured weights,
 * each at most once; and a second run gives the same items. check_dkim
 * ends in two rounds, reports one result per signature field up to
 * SCORE_DKIM_MAX with printable d= and s=, and a second evaluation reuses
 * its memo instead of verifying again.
 */
#include <sys/mman.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../screen/checks.h"
#include "../../screen/dnscache.h"
#include "../../screen/message.h"

static struct config	cfg;
static int		fd = -1;

static void
check_index(const struct screen_message *m, const uint8_t *msg, size_t len)
{
	size_t prev_end = 0;

	if (m->hdr_len > len || m->body_off > len)
		abort();
	if (!m->oversize && m->body_off < m->hdr_len)
		abort();
	for (size_t i = 0; i < m->nfields; i++) {
		const struct msg_field *f = &m->field[i];
		if (f->off < prev_end || f->off + f->len > f->end || f->end > m->hdr_len ||
		    f->name_len == 0 || f->value_off <= f->off + f->name_len ||
		    f->value_off > f->off + f->len + 1 || msg[f->value_off - 1] != ':')
			abort();
		for (size_t j = 0; j < f->name_len; j++)
			if (msg[f->off + j] <= ' ' || msg[f->off + j] > '~' || msg[f->off + j] == ':')
				abort();
		if (memcmp(m->hdr + f->off, msg + f->off, f->len) != 0)
			abort();
		prev_end = f->end;
	}
}

static void
check_from(const struct msg_from *from)
{
	if (from->ndomains > MSG_FROM_DOMAINS_MAX)
		abort();
	for (size_t i = 0; i < from->ndomains; i++) {
		size_t n = strlen(from->domain[i]);
		if (!domain_is_valid(from->domain[i], n))
			abort();
		for (size_t j = 0; j < n; j++)
			if (from->domain[i][j] >= 'A' && from->domain[i][j] <= 'Z')
				abort();
		for (size_t j = 0; j < i; j++)
			if (strcmp(from->domain[i], from->domain[j]) == 0)
				abort();
	}
	if (from->status == MSG_FROM_OK && from->ndomains == 0)
		abort();
}

static void
check_body(const struct screen_message *m, const uint8_t *msg, size_t len)
{
	uint8_t buf[1024];
	uint64_t off = 0;
	ssize_t n;

	if (m->oversize)
		return;
	while ((n = msg_body_read(m, off, buf, sizeof(buf))) > 0) {
		if (m->body_off + off + (uint64_t)n > len ||
		    memcmp(buf, msg + m->body_off + off, (size_t)n) != 0)
			abort();
		off += (uint64_t)n;
	}
	if (n < 0 || m->body_off + off != len)
		abort();
}

static void
run(const struct screen_message *m, uint8_t ctl, struct score *s)
{
	struct screen_env env = { &cfg, NULL, m };
	struct screen_facts f;
	struct dns_cache *c = dns_cache_new(4);
	struct dns_view *v = dv_new(c);

	memset(&f, 0, sizeof(f));
	f.flags = (ctl & 1) ? SCREEN_FACT_SMTPUTF8 : 0;
	snprintf(f.client_ip, sizeof(f.client_ip), "%s", (ctl & 2) ? "127.0.0.1" : "192.0.2.7");
	score_init(s);
	if (ctl & 4) {
		s->ndkim = 1;
		s->dkim[0].result = AUTH_PASS;
		snprintf(s->dkim[0].domain, sizeof(s->dkim[0].domain), "home.test");
	}
	check_headers(&env, &f, v, s);
	if (dv_misses(v) != 0)
		abort();
	dv_free(v);
	dns_cache_free(c);
}

static void
check_items(const struct score *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct score_item *it = &s->item[i];
		bool known = false;
		for (int id = W_HEADER_NO_FROM; id <= W_FORGED_LOCAL_FROM; id++)
			if (strcmp(it->name, screen_weight_name(id)) == 0 && it->weight == cfg.screen.weights[id])
				known = true;
		if (!known || it->unknown)
			abort();
		for (size_t j = 0; j < i; j++)
			if (strcmp(s->item[j].name, it->name) == 0)
				abort();
	}
}

/* The fixture keys (tests/fixtures/dkim/zone.txt, run from the top of
 * the tree; without it every key is NXDOMAIN). */
static char	zone[16][DV_NAME_MAX + 1];
static char	zone_txt[16][DV_TXT_MAX];
static size_t	nzone;

static void
load_zone(void)
{
	FILE *f = fopen("tests/fixtures/dkim/zone.txt", "r");
	char line[DV_TXT_MAX + DV_NAME_MAX + 16];

	while (f != NULL && nzone < 16 && fgets(line, sizeof(line), f) != NULL) {
		char *st = strchr(line, ' '), *txt;
		line[strcspn(line, "\n")] = '\0';
		if (st == NULL || (txt = strchr(st + 1, ' ')) == NULL || strncmp(st, " OK ", 4) != 0)
			continue;
		*st = '\0';
		snprintf(zone[nzone], sizeof(zone[nzone]), "%.253s", line);
		snprintf(zone_txt[nzone++], sizeof(zone_txt[0]), "%s", txt + 1);
	}
	if (f != NULL)
		fclose(f);
}

static void
answer(struct dns_cache *c, const char *name)
{
	for (size_t i = 0; i < nzone; i++)
		if (strcmp(zone[i], name) == 0) {
			struct dv_rr rr = { zone_txt[i], strlen(zone_txt[i]), 0 };
			dns_cache_put(c, name, DV_TXT, DV_OK, &rr, 1, false, 60);
			return;
		}
	dns_cache_put(c, name, DV_TXT, name[0] == 't' ? DV_TEMPFAIL : DV_NXDOMAIN,
	    NULL, 0, false, 60);
}

/* Two evaluations of check_dkim: rounds, results, then the memo. */
static void
check_dkim_runs(const struct screen_message *m)
{
	struct screen_env env = { &cfg, NULL, m };
	struct screen_facts f;
	struct score s;
	size_t nsig = msg_field_count(m, "DKIM-Signature");
	unsigned verified = 0;

	memset(&f, 0, sizeof(f));
	for (int eval = 0; eval < 2; eval++) {
		struct dns_cache *c = dns_cache_new(32);
		struct dns_view *v = dv_new(c);
		unsigned round;
		for (round = 0; round < 3; round++) {
			dv_round_reset(v);
			score_init(&s);
			check_dkim(&env, &f, v, &s);
			if (dv_misses(v) == 0)
				break;
			for (size_t i = 0; i < dv_misses(v); i++) {
				const char *name;
				enum dv_type type;
				dv_miss(v, i, &name, &type);
				answer(c, name);
			}
		}
		if (round > 1 || !s.dkim_done)
			abort();	/* one round for every key, then done */
		dv_free(v);
		dns_cache_free(c);
		if (!m->oversize && s.ndkim != (nsig < SCORE_DKIM_MAX ? nsig : SCORE_DKIM_MAX))
			abort();
		for (size_t i = 0; i < s.ndkim; i++)
			for (const char *p = s.dkim[i].domain; *p != '\0'; p++)
				if (*p <= ' ' || *p > '~')
					abort();
		if (eval == 0)
			verified = m->dkim_memo->verifications;
		else if (m->dkim_memo->verifications != verified)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct score s1, s2;
	struct screen_message *m;
	const char *why;

	if (size < 1)
		return 0;
	if (fd == -1) {
		fd = memfd_create("fuzz", 0);
		snprintf(cfg.hostname, sizeof(cfg.hostname), "mx.home.test");
		snprintf(cfg.domains[0], sizeof(cfg.domains[0]), "home.test");
		cfg.ndomains = 1;
		screen_config_defaults(&cfg.screen);
		load_zone();
	}
	if (ftruncate(fd, 0) != 0 || (size > 1 && pwrite(fd, data + 1, size - 1, 0) != (ssize_t)(size - 1)))
		abort();
	if ((m = screen_message_open(fd, &why)) == NULL)
		abort();
	check_index(m, data + 1, size - 1);
	check_from(&m->from);
	check_body(m, data + 1, size - 1);
	run(m, data[0], &s1);
	check_items(&s1);
	run(m, data[0], &s2);
	if (s1.n != s2.n)
		abort();
	for (size_t i = 0; i < s1.n; i++)
		if (strcmp(s1.item[i].name, s2.item[i].name) != 0)
			abort();
	if (data[0] & 8)
		check_dkim_runs(m);
	screen_message_free(m);
	return 0;
}
