/*
 * tests/tools/screen_dnsprobe.c - runs the screen's resolver
 * (screen/resolver.c) against a real DNS server and prints what landed in
 * the cache, one line per question, for tests/e2e/test_screen_resolver.py.
 *
 *   screen_dnsprobe [-t MS] [-r TRIES] [-i INFLIGHT] [-w WAITING] [-S SERVERS2]
 *                   SERVERS NAME/TYPE...
 * -S switches to SERVERS2 (resolver_set_servers) from the first callback,
 * while other queries may still be in flight; it prints
 *   switch rc=0|-1 WHY
 *
 * Output, tab-separated:
 *   q NAME TYPE accepted|refused
 *   a NAME TYPE STATUS trunc=0|1 ms=ELAPSED n=N RR...
 *   summary questions=N fetches_pending_at_start=N callbacks=N queries=N
 *           merged=N refused=N
 * Every question is called back, refused ones too (without an answer).
 * An MX record prints as "PREF HOST" (a null MX as "PREF ."); TXT bytes
 * outside 0x21..0x7e (and '\') print as \xHH. Exit 2 when the resolver
 * refuses to start (its reason on stderr), 0 otherwise.
 *
 * Owns nothing beyond one run. Why a tool rather than a unit test: the
 * resolver's job is talking to a real server (timeouts, SERVFAIL, TCP
 * fallback), which only a real server shows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "../../screen/dnscache.h"
#include "../../screen/resolver.h"
#include "log.h"
#include "util.h"

#define QUESTIONS_MAX	256

struct question {
	char		name[DV_NAME_MAX + 1];
	enum dv_type	type;
	bool		accepted;
	double		done;	/* seconds since start, when called back */
};

static struct question	questions[QUESTIONS_MAX];
static size_t		nquestions, callbacks, expected;
static struct event_base *base;
static double		started;
static const char	*switch_to;

static void
on_fetched(uint64_t id)
{
	questions[id].done = mono_now() - started;
	if (switch_to != NULL) {
		const char *why = "";
		int rc = resolver_set_servers(switch_to, &why);
		printf("switch\trc=%d\t%s\n", rc, why);
		switch_to = NULL;
	}
	if (++callbacks == expected)
		event_base_loopexit(base, NULL);
}

static int
type_parse(const char *s, enum dv_type *t)
{
	for (int i = DV_A; i <= DV_TYPE_MAX; i++)
		if (strcmp(s, dv_type_name((enum dv_type)i)) == 0) {
			*t = (enum dv_type)i;
			return 0;
		}
	return -1;
}

static void
print_bytes(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch > 0x20 && ch < 0x7f && ch != '\\')
			putchar(ch);
		else
			printf("\\x%02x", ch);
	}
}

static void
print_answer(struct dns_view *v, const struct question *q)
{
	struct dv_answer a;

	dv_lookup(v, q->name, q->type, &a);
	printf("a\t%s\t%s\t%s\ttrunc=%d\tms=%d\tn=%zu", q->name, dv_type_name(q->type),
	    dv_status_name(a.status), a.truncated ? 1 : 0, (int)(q->done * 1000), a.n);
	for (size_t i = 0; i < a.n; i++) {
		putchar('\t');
		if (q->type == DV_MX)
			printf("%u %s", a.rr[i].pref, a.rr[i].len == 0 ? "." : a.rr[i].data);
		else
			print_bytes(a.rr[i].data, a.rr[i].len);
	}
	putchar('\n');
}

static void
usage(void)
{
	fprintf(stderr, "usage: screen_dnsprobe [-t MS] [-r TRIES] [-i INFLIGHT] "
	    "[-w WAITING] [-S SERVERS2] SERVERS NAME/TYPE...\n");
	exit(1);
}

static void
add_question(const char *arg)
{
	const char *slash = strrchr(arg, '/');
	struct question *q = &questions[nquestions];

	if (nquestions == QUESTIONS_MAX || slash == NULL ||
	    (size_t)(slash - arg) > DV_NAME_MAX || type_parse(slash + 1, &q->type) == -1)
		usage();
	memcpy(q->name, arg, (size_t)(slash - arg));
	q->name[slash - arg] = '\0';
	nquestions++;
}

int
main(int argc, char **argv)
{
	struct resolver_limits lim = { RESOLVER_TIMEOUT_MS, RESOLVER_TRIES,
	    RESOLVER_INFLIGHT_MAX, RESOLVER_WAITING_MAX, RESOLVER_WAITERS_MAX };
	const char *why;
	int ch;

	log_init("screen_dnsprobe", LOG_SINK_STDERR);
	while ((ch = getopt(argc, argv, "t:r:i:w:S:")) != -1) {
		switch (ch) {
		case 't':	lim.timeout_ms = (unsigned)atoi(optarg);	break;
		case 'r':	lim.tries = (unsigned)atoi(optarg);		break;
		case 'i':	lim.inflight_max = (size_t)atoi(optarg);	break;
		case 'w':	lim.waiting_max = (size_t)atoi(optarg);		break;
		case 'S':	switch_to = optarg;				break;
		default:	usage();
		}
	}
	if (optind >= argc)
		usage();
	for (int i = optind + 1; i < argc; i++)
		add_question(argv[i]);

	struct dns_cache *cache = dns_cache_new(4096);
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if (resolver_init(base, argv[optind], cache, &lim, &why) == -1) {
		fprintf(stderr, "resolver refused to start: %s\n", why);
		dns_cache_free(cache);
		event_base_free(base);
		return 2;
	}
	started = mono_now();
	for (size_t i = 0; i < nquestions; i++) {
		struct resolver_stats before, after;
		resolver_stats(&before);
		resolver_fetch(questions[i].name, questions[i].type, on_fetched, i);
		resolver_stats(&after);
		questions[i].accepted = after.refused == before.refused;
		printf("q\t%s\t%s\t%s\n", questions[i].name, dv_type_name(questions[i].type),
		    questions[i].accepted ? "accepted" : "refused");
	}
	size_t pending = resolver_pending();
	expected = nquestions;		/* refused ones are called back too */
	if (expected > 0)
		event_base_dispatch(base);

	struct dns_view *v = dv_new(cache);
	for (size_t i = 0; i < nquestions; i++)
		print_answer(v, &questions[i]);	/* a refused one reads "miss" */
	struct resolver_stats st;
	resolver_stats(&st);
	printf("summary\tquestions=%zu\tfetches_pending_at_start=%zu\tcallbacks=%zu"
	    "\tqueries=%llu\tmerged=%llu\trefused=%llu\n", nquestions, pending, callbacks,
	    (unsigned long long)st.queries, (unsigned long long)st.merged,
	    (unsigned long long)st.refused);
	dv_free(v);
	resolver_shutdown();
	dns_cache_free(cache);
	event_base_free(base);
	return 0;
}
