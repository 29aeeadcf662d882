/*
 * screen/dnsbl_test.c - check_lists and the lists' health: codes and
 * their weights (whole address, last octet), the strongest code per list,
 * answers outside 127/8, refusal codes, temporary failures, IPv6 clients,
 * unusable lists, the RFC 5782 probe and the changes the role logs.
 */
#include <sys/socket.h>

#include "checks_testlib.h"
#include "ipname.h"

#define BL	"7.100.51.198.bl.example"
#define WL	"7.100.51.198.wl.example"
#define V4	"7.100.51.198.v4only.example"

static void
add_list(struct screen_config *sc, const char *zone, bool allow, bool ipv6,
    enum screen_list_match match, int weight)
{
	struct screen_list *l = &sc->lists[sc->nlists++];

	memset(l, 0, sizeof(*l));
	snprintf(l->zone, sizeof(l->zone), "%s", zone);
	l->allow = allow;
	l->ipv6 = ipv6;
	l->match = match;
	l->weight = weight;
}

static void
add_code(struct screen_config *sc, uint32_t code, int weight)
{
	struct screen_list *l = &sc->lists[sc->nlists - 1];

	l->codes[l->ncodes++] = (struct screen_code){ code, weight };
}

/* bl.example (block, IPv6 too), wl.example (allow, last octet, IPv6),
 * v4only.example (block, IPv4 only). */
static struct bench *
lists_bench(void)
{
	struct bench *b = bench_new();
	struct screen_config *sc = &b->cfg.screen;

	sc->nlists = 0;
	add_list(sc, "bl.example", false, true, LIST_MATCH_ADDRESS, 5);
	add_code(sc, 0x7f000002, 10);
	add_code(sc, 0x7f00000a, 3);
	add_list(sc, "wl.example", true, true, LIST_MATCH_LAST_OCTET, -1);
	add_code(sc, 0, -1);
	add_code(sc, 1, -3);
	add_code(sc, 3, -8);
	add_list(sc, "v4only.example", false, false, LIST_MATCH_ADDRESS, 4);
	return b;
}

static void
test_lists_first_round_asks_all(void **state)
{
	struct bench *b = lists_bench();

	(void)state;
	bench_run(b, check_lists);
	bench_expect_nothing(b);
	bench_expect_misses(b, BL, DV_A, WL, DV_A, V4, DV_A, NULL);
	bench_put(b, BL, DV_A, DV_NXDOMAIN, NULL);
	bench_put(b, WL, DV_A, DV_NODATA, NULL);
	bench_run(b, check_lists);		/* one list still missing */
	bench_expect_misses(b, V4, DV_A, NULL);
	bench_put(b, V4, DV_A, DV_NXDOMAIN, NULL);
	bench_run(b, check_lists);
	bench_expect_nothing(b);
	bench_expect_misses(b, NULL);
	bench_free(b);
}

static void
test_lists_codes(void **state)
{
	static const struct {
		const char *bl[3], *wl[3];
		const char *bl_reason, *wl_reason;
		int bl_w, wl_w;
	} rows[] = {
		{ { "127.0.0.2" }, { NULL }, "listed 127.0.0.2", NULL, 10, 0 },
		{ { "127.0.0.10", "127.0.0.2" }, { NULL }, "listed 127.0.0.2", NULL, 10, 0 },
		{ { "127.0.0.10" }, { NULL }, "listed 127.0.0.10", NULL, 3, 0 },
		{ { "127.0.0.99" }, { NULL }, "listed 127.0.0.99", NULL, 5, 0 },	/* list weight */
		{ { "127.0.0.255" }, { NULL }, "listed 127.0.0.255", NULL, 5, 0 },	/* not for a bl */
		{ { NULL }, { "127.0.10.3" }, NULL, "listed 127.0.10.3", 0, -8 },
		{ { NULL }, { "127.0.10.1", "127.0.15.3", "127.0.9.0" }, NULL, "listed 127.0.15.3", 0, -8 },
		{ { NULL }, { "127.0.10.2" }, NULL, "listed 127.0.10.2", 0, -1 },
		{ { "127.0.0.2" }, { "127.0.10.1" }, "listed 127.0.0.2", "listed 127.0.10.1", 10, -3 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct bench *b = lists_bench();
		if (rows[i].bl[0] != NULL)
			bench_put(b, BL, DV_A, DV_OK, rows[i].bl[0], rows[i].bl[1], rows[i].bl[2], NULL);
		else
			bench_put(b, BL, DV_A, DV_NXDOMAIN, NULL);
		if (rows[i].wl[0] != NULL)
			bench_put(b, WL, DV_A, DV_OK, rows[i].wl[0], rows[i].wl[1], rows[i].wl[2], NULL);
		else
			bench_put(b, WL, DV_A, DV_NXDOMAIN, NULL);
		bench_put(b, V4, DV_A, DV_NXDOMAIN, NULL);
		bench_run(b, check_lists);
		if (rows[i].bl_reason != NULL && rows[i].wl_reason != NULL)
			bench_expect(b, "dnsbl:bl.example", rows[i].bl_w, rows[i].bl_reason,
			    "dnswl:wl.example", rows[i].wl_w, rows[i].wl_reason, NULL);
		else if (rows[i].bl_reason != NULL)
			bench_expect(b, "dnsbl:bl.example", rows[i].bl_w, rows[i].bl_reason, NULL);
		else
			bench_expect(b, "dnswl:wl.example", rows[i].wl_w, rows[i].wl_reason, NULL);
		/* an allow list's listing (any code in 127/8 it gave) spares
		 * the client the greylist */
		assert_int_equal(b->score.allow_listed, rows[i].wl_reason != NULL &&
		    strncmp(rows[i].wl_reason, "listed", 6) == 0);
		bench_free(b);
	}
}

static void
test_lists_outside_loopback(void **state)
{
	struct bench *b = lists_bench();

	(void)state;
	bench_put(b, BL, DV_A, DV_OK, "203.0.113.5", NULL);
	bench_put(b, WL, DV_A, DV_NXDOMAIN, NULL);
	bench_put(b, V4, DV_A, DV_OK, "10.0.0.1", "127.0.0.2", NULL);
	bench_run(b, check_lists);
	bench_expect(b, "dnsbl:bl.example", 0, "ignored 203.0.113.5: outside 127/8",
	    "dnsbl:v4only.example", 0, "ignored 10.0.0.1: outside 127/8",
	    "dnsbl:v4only.example", 4, "listed 127.0.0.2", NULL);
	bench_free(b);
}

static void
test_lists_tempfail(void **state)
{
	struct bench *b = lists_bench();

	(void)state;
	bench_put(b, BL, DV_A, DV_TEMPFAIL, NULL);
	bench_put(b, WL, DV_A, DV_NXDOMAIN, NULL);
	bench_put(b, V4, DV_A, DV_NXDOMAIN, NULL);
	bench_run(b, check_lists);
	bench_expect_unknown(b, "dnsbl:bl.example", 0, 10, "tempfail");
	bench_free(b);

	b = lists_bench();
	bench_put(b, BL, DV_A, DV_NXDOMAIN, NULL);
	bench_put(b, WL, DV_A, DV_TEMPFAIL, NULL);
	bench_put(b, V4, DV_A, DV_NXDOMAIN, NULL);
	bench_run(b, check_lists);
	bench_expect_unknown(b, "dnswl:wl.example", -8, 0, "tempfail");
	bench_free(b);
}

static void
test_lists_refusal_marks_at_once(void **state)
{
	struct bench *b = lists_bench();
	enum list_state from, to;
	size_t i;
	bool v6;

	(void)state;
	bench_put(b, BL, DV_A, DV_OK, "127.0.0.2", "127.255.255.254", NULL);
	bench_put(b, WL, DV_A, DV_OK, "127.0.0.255", NULL);
	bench_put(b, V4, DV_A, DV_NXDOMAIN, NULL);
	bench_run(b, check_lists);
	bench_expect_nothing(b);	/* a refusal is never a listing */
	assert_int_equal(b->health.state[0], LIST_REFUSING);
	assert_int_equal(b->health.state[1], LIST_REFUSING);
	assert_false(dnsbl_list_usable(&b->health, 0));
	/* the role logs each change once */
	assert_true(dnsbl_health_change(&b->health, &i, &v6, &from, &to));
	assert_true(i == 0 && !v6 && from == LIST_UNKNOWN && to == LIST_REFUSING);
	assert_true(dnsbl_health_change(&b->health, &i, &v6, &from, &to));
	assert_true(i == 1 && !v6 && to == LIST_REFUSING);
	assert_false(dnsbl_health_change(&b->health, &i, &v6, &from, &to));
	/* later evaluations skip them: nothing asked, nothing counted */
	dv_free(b->view);
	dns_cache_free(b->cache);
	b->cache = dns_cache_new(64);
	b->view = dv_new(b->cache);
	bench_run(b, check_lists);
	bench_expect_misses(b, V4, DV_A, NULL);
	bench_free(b);
}

static void
test_lists_unusable_and_null_health(void **state)
{
	struct bench *b = lists_bench();

	(void)state;
	b->health.state[0] = LIST_DEAD;
	b->health.state[2] = LIST_LISTS_EVERYTHING;
	bench_run(b, check_lists);
	bench_expect_misses(b, WL, DV_A, NULL);
	b->health.state[0] = LIST_HEALTHY;
	b->health.state[2] = LIST_UNKNOWN;
	bench_run(b, check_lists);
	bench_expect_misses(b, BL, DV_A, WL, DV_A, V4, DV_A, NULL);
	b->env.health = NULL;		/* no health at all: every list counts */
	bench_put(b, BL, DV_A, DV_OK, "127.0.0.2", NULL);
	bench_put(b, WL, DV_A, DV_NXDOMAIN, NULL);
	bench_put(b, V4, DV_A, DV_OK, "127.255.255.254", NULL);	/* nothing to mark */
	bench_run(b, check_lists);
	bench_expect(b, "dnsbl:bl.example", 10, "listed 127.0.0.2", NULL);
	bench_free(b);
}

static void
test_lists_ipv6_client(void **state)
{
	struct bench *b = lists_bench();
	struct ip_addr ip;
	char bl[DV_NAME_MAX + 1], wl[DV_NAME_MAX + 1];

	(void)state;
	snprintf(b->facts.client_ip, sizeof(b->facts.client_ip), "2001:db8::7");
	assert_int_equal(ip_addr_parse("2001:db8::7", &ip), 0);
	assert_int_equal(ip_reverse_name(&ip, "bl.example", bl, sizeof(bl)), 0);
	assert_int_equal(ip_reverse_name(&ip, "wl.example", wl, sizeof(wl)), 0);
	bench_run(b, check_lists);		/* v4only.example is not asked */
	bench_expect_misses(b, bl, DV_A, wl, DV_A, NULL);
	bench_put(b, bl, DV_A, DV_OK, "127.0.0.10", NULL);
	bench_put(b, wl, DV_A, DV_NXDOMAIN, NULL);
	bench_run(b, check_lists);
	bench_expect(b, "dnsbl:bl.example", 3, "listed 127.0.0.10", NULL);
	/* its IPv6 test points failed: not for IPv6 clients, still for IPv4 */
	b->health.state6[0] = LIST_DEAD;
	bench_run(b, check_lists);
	bench_expect_nothing(b);
	assert_true(dnsbl_list_usable(&b->health, 0));
	assert_false(dnsbl_list_usable6(&b->health, 0));
	/* a refusal to an IPv6 query marks the IPv6 side only */
	b->health.state6[0] = LIST_HEALTHY;
	bench_new_view(b);
	bench_put(b, bl, DV_A, DV_OK, "127.255.255.252", NULL);
	bench_run(b, check_lists);
	assert_int_equal(b->health.state6[0], LIST_REFUSING);
	assert_int_equal(b->health.state[0], LIST_UNKNOWN);
	bench_free(b);
}

/* A big (truncated) listing answer: the strongest of what is there. */
static void
test_lists_huge_answer(void **state)
{
	struct bench *b = lists_bench();
	struct dv_rr rr[DV_RR_MAX];
	char addrs[DV_RR_MAX][20];

	(void)state;
	for (size_t i = 0; i < DV_RR_MAX; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "127.0.1.%zu", i + 1);
		rr[i] = (struct dv_rr){ addrs[i], strlen(addrs[i]), 0 };
	}
	snprintf(addrs[20], sizeof(addrs[20]), "127.0.0.2");
	rr[20].len = strlen(addrs[20]);
	bench_put_rrs(b, BL, DV_A, rr, DV_RR_MAX, true);
	bench_put(b, WL, DV_A, DV_NXDOMAIN, NULL);
	bench_put(b, V4, DV_A, DV_NXDOMAIN, NULL);
	bench_run(b, check_lists);
	bench_expect(b, "dnsbl:bl.example", 10, "listed 127.0.0.2", NULL);
	bench_free(b);
}

/* ---- the probe ---------------------------------------------------------------- */

#define P2	"2.0.0.127.bl.example"
#define P1	"1.0.0.127.bl.example"
#define P2_6	"2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.bl.example"
#define P1_6	"1.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.bl.example"

/* Only bl.example, IPv6 too. */
static struct bench *
probe_bench(void)
{
	struct bench *b = bench_new();
	struct screen_config *sc = &b->cfg.screen;

	sc->nlists = 0;
	add_list(sc, "bl.example", false, true, LIST_MATCH_ADDRESS, 5);
	return b;
}

static void
test_probe_rounds(void **state)
{
	struct bench *b = probe_bench();
	struct dnsbl_probe p;

	(void)state;
	assert_false(dnsbl_probe(&b->cfg.screen, b->view, &p));
	bench_expect_misses(b, P2, DV_A, P1, DV_A, P2_6, DV_A, P1_6, DV_A, NULL);
	bench_put(b, P2, DV_A, DV_OK, "127.0.0.2", NULL);
	bench_put(b, P1, DV_A, DV_NXDOMAIN, NULL);
	bench_put(b, P2_6, DV_A, DV_OK, "127.0.0.2", NULL);
	bench_put(b, P1_6, DV_A, DV_NXDOMAIN, NULL);
	dv_round_reset(b->view);
	assert_true(dnsbl_probe(&b->cfg.screen, b->view, &p));
	assert_int_equal(p.state[0], LIST_HEALTHY);
	assert_int_equal(p.state6[0], LIST_HEALTHY);
	bench_free(b);
}

static void
test_probe_states(void **state)
{
	static const struct {
		enum dv_status st2; const char *a2;
		enum dv_status st1; const char *a1;
		enum list_state want;
	} rows[] = {
		{ DV_OK, "127.0.0.2", DV_NXDOMAIN, NULL, LIST_HEALTHY },
		{ DV_OK, "127.0.0.4", DV_NODATA, NULL, LIST_HEALTHY },	/* any 127/8 code */
		{ DV_OK, "127.0.0.2", DV_OK, "127.0.0.2", LIST_LISTS_EVERYTHING },
		{ DV_NXDOMAIN, NULL, DV_NXDOMAIN, NULL, LIST_DEAD },
		{ DV_TEMPFAIL, NULL, DV_NXDOMAIN, NULL, LIST_DEAD },
		{ DV_OK, "127.0.0.2", DV_TEMPFAIL, NULL, LIST_DEAD },
		{ DV_OK, "203.0.113.5", DV_OK, "203.0.113.5", LIST_DEAD },	/* wildcard */
		{ DV_OK, "127.255.255.254", DV_OK, "127.255.255.254", LIST_REFUSING },
		{ DV_OK, "127.0.0.2", DV_OK, "127.255.255.252", LIST_REFUSING },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct bench *b = probe_bench();
		struct dnsbl_probe p;
		b->cfg.screen.lists[0].ipv6 = false;
		bench_put(b, P2, DV_A, rows[i].st2, rows[i].a2, NULL);
		bench_put(b, P1, DV_A, rows[i].st1, rows[i].a1, NULL);
		assert_true(dnsbl_probe(&b->cfg.screen, b->view, &p));
		if (p.state[0] != rows[i].want)
			fail_msg("row %zu: got %s, want %s", i, list_state_name(p.state[0]),
			    list_state_name(rows[i].want));
		assert_int_equal(p.state6[0], LIST_UNKNOWN);
		bench_free(b);
	}
}

/* The check-shaped probe applies once complete; changes are logged once. */
static void
test_probe_check_and_changes(void **state)
{
	struct bench *b = probe_bench();
	enum list_state from, to;
	size_t i;
	bool v6;

	(void)state;
	bench_run(b, dnsbl_probe_check);
	assert_int_equal(b->health.state[0], LIST_UNKNOWN);	/* incomplete */
	bench_expect_nothing(b);
	bench_put(b, P2, DV_A, DV_OK, "127.0.0.2", NULL);
	bench_put(b, P1, DV_A, DV_NXDOMAIN, NULL);
	bench_put(b, P2_6, DV_A, DV_NXDOMAIN, NULL);	/* no IPv6 test point */
	bench_put(b, P1_6, DV_A, DV_NXDOMAIN, NULL);
	bench_run(b, dnsbl_probe_check);
	bench_expect_nothing(b);
	assert_int_equal(b->health.state[0], LIST_HEALTHY);
	assert_int_equal(b->health.state6[0], LIST_DEAD);
	assert_true(dnsbl_health_change(&b->health, &i, &v6, &from, &to));
	assert_true(i == 0 && !v6 && from == LIST_UNKNOWN && to == LIST_HEALTHY);
	assert_true(dnsbl_health_change(&b->health, &i, &v6, &from, &to));
	assert_true(i == 0 && v6 && from == LIST_UNKNOWN && to == LIST_DEAD);
	assert_false(dnsbl_health_change(&b->health, &i, &v6, &from, &to));
	bench_run(b, dnsbl_probe_check);		/* same result: nothing to log */
	assert_false(dnsbl_health_change(&b->health, &i, &v6, &from, &to));
	assert_string_equal(list_state_name(LIST_LISTS_EVERYTHING), "lists_everything");
	dnsbl_health_init(&b->health);		/* a reload starts over */
	assert_false(dnsbl_health_change(&b->health, &i, &v6, &from, &to));
	bench_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lists_first_round_asks_all),
		cmocka_unit_test(test_lists_codes),
		cmocka_unit_test(test_lists_outside_loopback),
		cmocka_unit_test(test_lists_tempfail),
		cmocka_unit_test(test_lists_refusal_marks_at_once),
		cmocka_unit_test(test_lists_unusable_and_null_health),
		cmocka_unit_test(test_lists_ipv6_client),
		cmocka_unit_test(test_lists_huge_answer),
		cmocka_unit_test(test_probe_rounds),
		cmocka_unit_test(test_probe_states),
		cmocka_unit_test(test_probe_check_and_changes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
