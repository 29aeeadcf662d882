/*
 * screen/dkimverify_test.c - check_dkim on messages signed by dkimpy
 * (tests/fixtures/dkim/make-fixtures.py): rsa-sha256 and ed25519-sha256,
 * relaxed and simple; tampered bodies and headers fail; rsa-sha1, small
 * keys and l= fail (RFC 8301, our l= rule); NXDOMAIN keys are permerrors,
 * SERVFAIL keys temperrors (a range); every key is fetched in one round
 * and the body verified once (the memo), again only when the key answers
 * change; malformed, excess and From-less signatures.
 * Unit tests run from the top of the tree, where the fixtures are.
 */
#include <sys/mman.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "authres.h"
#include "checks.h"
#include "dkimverify.h"
#include "dnscache.h"
#include "eval.h"
#include "message.h"

#define FIXTURES	"tests/fixtures/dkim/"
#define ZONE_MAX	32

struct zrec {
	char		name[DV_NAME_MAX + 1];
	enum dv_status	status;
	char		txt[DV_TXT_MAX];
};

static struct zrec	zone[ZONE_MAX];
static size_t		nzone;
static struct config	cfg;
static int		msg_fd = -1;

/* A test's own answers, consulted before the zone. */
static const struct zrec *override;
static size_t		noverride;

static void
load_zone(void)
{
	FILE *f = fopen(FIXTURES "zone.txt", "r");
	char line[DV_TXT_MAX + 300];

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL && nzone < ZONE_MAX) {
		struct zrec *z = &zone[nzone++];
		char *status = strchr(line, ' '), *txt;
		line[strcspn(line, "\n")] = '\0';
		assert_non_null(status);
		*status++ = '\0';
		txt = strchr(status, ' ');
		if (txt != NULL)
			*txt++ = '\0';
		snprintf(z->name, sizeof(z->name), "%.*s", DV_NAME_MAX, line);
		z->status = strcmp(status, "OK") == 0 ? DV_OK :
		    strcmp(status, "TEMPFAIL") == 0 ? DV_TEMPFAIL : DV_NXDOMAIN;
		snprintf(z->txt, sizeof(z->txt), "%s", txt != NULL ? txt : "");
	}
	fclose(f);
	assert_true(nzone >= 8);
}

static size_t	fetched;	/* lookups answered: how many the rounds asked */

static void
answer(struct dns_cache *c, const char *name, enum dv_type type)
{
	const struct zrec *sets[2] = { override, zone };
	size_t counts[2] = { noverride, nzone };
	struct dv_rr rr[4];
	size_t n = 0;
	enum dv_status st = DV_NXDOMAIN;
	bool found = false;

	fetched++;
	if (type != DV_TXT) {	/* the zone is TXT only */
		assert_int_equal(dns_cache_put(c, name, type, DV_NXDOMAIN, NULL, 0, false, 60), 0);
		return;
	}
	for (int s = 0; s < 2 && !found; s++)
		for (size_t i = 0; i < counts[s]; i++) {
			if (strcmp(sets[s][i].name, name) != 0)
				continue;
			found = true;
			st = sets[s][i].status;
			if (st == DV_OK && n < 4)
				rr[n++] = (struct dv_rr){ sets[s][i].txt, strlen(sets[s][i].txt), 0 };
		}
	assert_int_equal(dns_cache_put(c, name, type, st, rr, n, false, 60), 0);
}

static struct screen_message *
open_bytes(const char *text, size_t len)
{
	const char *why;

	if (msg_fd != -1)
		close(msg_fd);
	msg_fd = memfd_create("msg", 0);
	assert_int_equal(write(msg_fd, text, len), (ssize_t)len);
	return screen_message_open(msg_fd, &why);
}

/* A fixture's bytes, malloc'd; *len set. */
static char *
fixture(const char *name, size_t *len)
{
	char path[256];
	char *buf = malloc(64 * 1024);
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), FIXTURES "%s.eml", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		fail_msg("%s: cannot open (run the tests from the top of the tree)", path);
	n = read(fd, buf, 64 * 1024 - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static struct screen_message *
open_fixture(const char *name)
{
	size_t len;
	char *text = fixture(name, &len);
	struct screen_message *m = open_bytes(text, len);

	free(text);
	return m;
}

/* Runs check_dkim in rounds over a fresh cache; returns the rounds. */
static unsigned
run(const struct screen_message *m, struct score *s)
{
	struct screen_env env = { &cfg, NULL, m };
	struct screen_facts f;
	struct dns_cache *c = dns_cache_new(64);
	struct dns_view *v = dv_new(c);
	unsigned round;

	memset(&f, 0, sizeof(f));
	for (round = 1; round < 10; round++) {
		dv_round_reset(v);
		score_init(s);
		check_dkim(&env, &f, v, s);
		if (dv_misses(v) == 0)
			break;
		assert_int_equal(s->n, 0);	/* a round with misses adds nothing */
		for (size_t i = 0; i < dv_misses(v); i++) {
			const char *name;
			enum dv_type type;
			dv_miss(v, i, &name, &type);
			answer(c, name, type);
		}
	}
	dv_free(v);
	dns_cache_free(c);
	return round;
}

static void
expect_sig(const struct score *s, size_t i, enum auth_result result,
    const char *d, const char *sel, const char *alg, const char *reason)
{
	const struct score_dkim *r = &s->dkim[i];

	assert_true(i < s->ndkim);
	if (r->result != result || strcmp(r->domain, d) != 0 || strcmp(r->selector, sel) != 0 ||
	    strcmp(r->alg, alg) != 0 || strstr(r->reason, reason) == NULL)
		fail_msg("sig %zu: got %d d=%s s=%s a=%s (%s), want %d d=%s s=%s a=%s (%s)", i,
		    r->result, r->domain, r->selector, r->alg, r->reason, result, d, sel, alg,
		    reason);
}

static void
test_fixtures(void **state)
{
	static const struct {
		const char		*name;
		enum auth_result	 result;
		const char		*sel, *d, *alg, *reason, *item;
		bool			 aligned;
	} rows[] = {
		{ "rsa-relaxed", AUTH_PASS, "rsa", "signer.example", "rsa-sha256", "", "dkim_pass_aligned", true },
		{ "rsa-simple", AUTH_PASS, "rsa", "signer.example", "rsa-sha256", "", "dkim_pass_aligned", true },
		{ "ed25519-relaxed", AUTH_PASS, "ed", "signer.example", "ed25519-sha256", "", "dkim_pass_aligned", true },
		{ "ed25519-simple", AUTH_PASS, "ed", "signer.example", "ed25519-sha256", "", "dkim_pass_aligned", true },
		{ "subdomain", AUTH_PASS, "rsa", "mail.signer.example", "rsa-sha256", "", "dkim_pass_aligned", true },
		{ "third-party", AUTH_PASS, "rsa", "other.example", "rsa-sha256", "", "dkim_pass", false },
		{ "rsa-sha1", AUTH_FAIL, "rsa", "signer.example", "rsa-sha1", "RFC 8301", "dkim_fail", true },
		{ "length", AUTH_FAIL, "rsa", "signer.example", "rsa-sha256", "l=", "dkim_fail", true },
		{ "small-key", AUTH_FAIL, "small", "signer.example", "rsa-sha256", "1024", "dkim_fail", true },
		{ "revoked", AUTH_PERMERROR, "revoked", "signer.example", "rsa-sha256", "", "dkim_permerror", true },
		{ "nxkey", AUTH_PERMERROR, "missing", "signer.example", "rsa-sha256", "no key", "dkim_permerror", true },
		{ "tempkey", AUTH_TEMPERROR, "slow", "signer.example", "rsa-sha256", "key lookup failed", "dkim_temperror", true },
	};
	struct score s;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct screen_message *m = open_fixture(rows[i].name);
		unsigned rounds = run(m, &s);
		if (s.ndkim != 1 || s.n != 1 || strcmp(s.item[0].name, rows[i].item) != 0)
			fail_msg("%s: got %zu signatures, item '%s' (%s), want '%s'", rows[i].name,
			    s.ndkim, s.n ? s.item[0].name : "", s.n ? s.item[0].reason : "",
			    rows[i].item);
		expect_sig(&s, 0, rows[i].result, rows[i].d, rows[i].sel, rows[i].alg, rows[i].reason);
		assert_int_equal(s.dkim[0].aligned, rows[i].aligned);
		assert_int_equal(strlen(s.dkim[0].b), 8);
		assert_true(s.dkim_done);
		assert_int_equal(rounds, 2);		/* one round for the key */
		assert_int_equal(m->dkim_memo->verifications, 1);
		screen_message_free(m);
	}
}

/* A temperror is the range of what the key could have made of it. */
static void
test_temperror_range(void **state)
{
	const int *w = cfg.screen.weights;
	struct screen_message *m = open_fixture("tempkey");
	struct score s;

	(void)state;
	run(m, &s);
	assert_true(s.item[0].unknown);
	assert_int_equal(s.item[0].weight, w[W_DKIM_PASS_ALIGNED]);
	assert_int_equal(s.item[0].worst, w[W_DKIM_FAIL]);
	screen_message_free(m);

	m = open_fixture("temp-and-pass");	/* a known aligned pass wins */
	run(m, &s);
	assert_int_equal(s.ndkim, 2);
	expect_sig(&s, 0, AUTH_PASS, "signer.example", "ed", "ed25519-sha256", "");
	expect_sig(&s, 1, AUTH_TEMPERROR, "signer.example", "slow", "rsa-sha256", "");
	assert_string_equal(s.item[0].name, "dkim_pass_aligned");
	assert_false(s.item[0].unknown);
	screen_message_free(m);
}

/* Both keys of a doubly signed message in one round; verified once. */
static void
test_rounds_and_memo(void **state)
{
	struct screen_message *m = open_fixture("both");
	struct score s;

	(void)state;
	fetched = 0;
	assert_int_equal(run(m, &s), 2);
	assert_int_equal(fetched, 2);
	assert_int_equal(s.ndkim, 2);
	expect_sig(&s, 0, AUTH_PASS, "signer.example", "ed", "ed25519-sha256", "");
	expect_sig(&s, 1, AUTH_PASS, "signer.example", "rsa", "rsa-sha256", "");
	assert_string_equal(s.item[0].reason,
	    "dkim=pass d=signer.example s=ed a=ed25519-sha256 +1 more signature");
	assert_int_equal(m->dkim_memo->verifications, 1);

	/* another evaluation with the same answers: the memo holds */
	run(m, &s);
	assert_int_equal(m->dkim_memo->verifications, 1);
	assert_int_equal(s.ndkim, 2);

	/* the same message, the ed25519 key gone: verified again */
	struct zrec gone = { "ed._domainkey.signer.example", DV_NXDOMAIN, "" };
	override = &gone;
	noverride = 1;
	run(m, &s);
	override = NULL;
	noverride = 0;
	assert_int_equal(m->dkim_memo->verifications, 2);
	expect_sig(&s, 0, AUTH_PERMERROR, "signer.example", "ed", "ed25519-sha256", "no key");
	expect_sig(&s, 1, AUTH_PASS, "signer.example", "rsa", "rsa-sha256", "");
	assert_string_equal(s.item[0].name, "dkim_pass_aligned");
	screen_message_free(m);
}

/* Replaces the first occurrence of from with to in text (same length). */
static void
patch(char *text, const char *from, const char *to)
{
	char *p = strstr(text, from);

	assert_non_null(p);
	assert_int_equal(strlen(from), strlen(to));
	memcpy(p, to, strlen(to));
}

static void
expect_tampered(const char *name, const char *from, const char *to,
    enum auth_result want, const char *reason)
{
	size_t len;
	char *text = fixture(name, &len);
	struct screen_message *m;
	struct score s;

	patch(text, from, to);
	m = open_bytes(text, len);
	run(m, &s);
	if (s.ndkim != 1 || s.dkim[0].result != want || strstr(s.dkim[0].reason, reason) == NULL)
		fail_msg("%s with '%s' -> '%s': got %d (%s), want %d (%s)", name, from, to,
		    s.ndkim ? (int)s.dkim[0].result : -1, s.ndkim ? s.dkim[0].reason : "", want, reason);
	screen_message_free(m);
	free(text);
}

static void
test_tampered(void **state)
{
	(void)state;
	expect_tampered("rsa-relaxed", "Hello,", "Hallo,", AUTH_FAIL, "body hash mismatch");
	expect_tampered("rsa-relaxed", "DKIM fixture", "DKIM fixturE", AUTH_FAIL, "signature mismatch");
	expect_tampered("ed25519-relaxed", "Hello,", "Hallo,", AUTH_FAIL, "body hash mismatch");
	expect_tampered("ed25519-relaxed", "To: anne@", "To: anna@", AUTH_FAIL, "signature mismatch");
	expect_tampered("rsa-simple", "Hello,", "Hallo,", AUTH_FAIL, "body hash mismatch");
	expect_tampered("ed25519-simple", "Date: Mon", "Date: Tue", AUTH_FAIL, "signature mismatch");
	/* white space: simple notices, relaxed does not (RFC 6376 3.4) */
	expect_tampered("rsa-simple", "Subject: DKIM", "Subject:\tDKIM", AUTH_FAIL, "signature mismatch");
	expect_tampered("rsa-relaxed", "Subject: DKIM", "Subject:\tDKIM", AUTH_PASS, "");
	expect_tampered("rsa-simple", "inner   white", "inner  \twhite", AUTH_FAIL, "body hash");
	expect_tampered("rsa-relaxed", "inner   white", "inner  \twhite", AUTH_PASS, "");
	expect_tampered("ed25519-relaxed", "inner   white", "inner \t white", AUTH_PASS, "");
	/* the Message-ID is signed too */
	expect_tampered("rsa-relaxed", "Message-ID: <fixture", "Message-ID: <fixturE", AUTH_FAIL, "signature");
}

/* Unsigned, oversize, malformed, too many, From-less. */
static void
test_odd_messages(void **state)
{
	static char big[MSG_HEADER_MAX + 100];
	struct screen_message *m;
	struct score s;
	size_t len, n;
	char *text, *both;

	(void)state;
	m = open_bytes("From: a@b.example\r\n\r\nbody\r\n", 27);
	assert_int_equal(run(m, &s), 1);
	assert_string_equal(s.item[0].name, "dkim_none");
	assert_int_equal(s.ndkim, 0);
	assert_true(s.dkim_done);
	screen_message_free(m);

	memset(big, 'x', sizeof(big));
	memcpy(big, "X-Big: ", 7);
	m = open_bytes(big, sizeof(big));
	run(m, &s);
	assert_string_equal(s.item[0].name, "dkim_permerror");
	assert_string_equal(s.item[0].reason, "header section over the limits: not verified");
	screen_message_free(m);

	/* a malformed signature next to a good one */
	text = fixture("rsa-relaxed", &len);
	both = malloc(len + 100);
	n = (size_t)snprintf(both, len + 100, "DKIM-Signature: v=1; d=bad.example; s=x;;=\r\n%s", text);
	m = open_bytes(both, n);
	run(m, &s);
	assert_int_equal(s.ndkim, 2);
	expect_sig(&s, 0, AUTH_PERMERROR, "bad.example", "x", "", "malformed signature");
	expect_sig(&s, 1, AUTH_PASS, "signer.example", "rsa", "rsa-sha256", "");
	assert_string_equal(s.item[0].name, "dkim_pass_aligned");
	screen_message_free(m);
	free(both);

	/* without a From field nothing verifies */
	patch(text, "From: Kim", "Frum: Kim");
	m = open_bytes(text, len);
	run(m, &s);
	assert_int_equal(s.ndkim, 1);
	assert_int_equal(s.dkim[0].result, AUTH_PERMERROR);
	screen_message_free(m);
	free(text);
}

/* Ten copies of one signature: eight verified, one key fetched. */
static void
test_too_many(void **state)
{
	size_t len, sig_len;
	char *text = fixture("rsa-relaxed", &len), *many, *from;
	struct screen_message *m;
	struct score s;
	size_t o = 0;

	(void)state;
	from = strstr(text, "\r\nFrom:");
	assert_non_null(from);
	sig_len = (size_t)(from - text) + 2;
	many = malloc(10 * sig_len + len);
	for (int i = 0; i < 10; i++) {
		memcpy(many + o, text, sig_len);
		o += sig_len;
	}
	memcpy(many + o, text, len);
	o += len;
	m = open_bytes(many, o);
	fetched = 0;
	assert_int_equal(run(m, &s), 2);
	assert_int_equal(fetched, 1);
	assert_int_equal(s.ndkim, SCORE_DKIM_MAX);
	for (size_t i = 0; i < SCORE_DKIM_MAX; i++)
		expect_sig(&s, i, AUTH_PASS, "signer.example", "rsa", "rsa-sha256", "");
	screen_message_free(m);
	free(many);
	free(text);
}

/* Key records libopendkim cannot take, and keys of the wrong kind. */
static void
test_key_problems(void **state)
{
	static struct zrec two[2] = {
		{ "rsa._domainkey.signer.example", DV_OK, "v=DKIM1; p=AAAA" },
		{ "rsa._domainkey.signer.example", DV_OK, "v=DKIM1; p=BBBB" },
	};
	static struct zrec long_key = { "rsa._domainkey.signer.example", DV_OK, "" };
	static struct zrec wrong = { "rsa._domainkey.signer.example", DV_OK, "" };
	struct screen_message *m = open_fixture("rsa-relaxed");
	struct score s;

	(void)state;
	override = two;
	noverride = 2;
	run(m, &s);
	expect_sig(&s, 0, AUTH_PERMERROR, "signer.example", "rsa", "rsa-sha256", "several key records");

	memcpy(long_key.txt, "v=DKIM1; p=", 11);
	memset(long_key.txt + 11, 'A', 1100);
	override = &long_key;
	noverride = 1;
	run(m, &s);
	expect_sig(&s, 0, AUTH_PERMERROR, "signer.example", "rsa", "rsa-sha256", "over 1024 bytes");

	snprintf(wrong.txt, sizeof(wrong.txt), "%s", zone[1].txt);	/* the ed25519 key */
	override = &wrong;
	run(m, &s);
	assert_int_equal(s.dkim[0].result, AUTH_PERMERROR);
	override = NULL;
	noverride = 0;
	screen_message_free(m);
}

/*
 * The end-of-DATA chain as the screen runs it: check_spf, check_dkim,
 * check_dmarc, check_headers in one round loop; then the verdict and our
 * Authentication-Results field.
 */
static void
chain(const char *text, size_t len, const char *client, struct score *s)
{
	static const screen_check_fn checks[] = { check_spf, check_dkim, check_dmarc,
	    check_headers };
	struct screen_message *m = open_bytes(text, len);
	struct screen_env env = { &cfg, NULL, m };
	struct screen_facts f;
	struct dns_cache *c = dns_cache_new(64);
	struct dns_view *v = dv_new(c);

	memset(&f, 0, sizeof(f));
	f.flags = SCREEN_FACT_MAIL_SEEN;
	snprintf(f.client_ip, sizeof(f.client_ip), "%s", client);
	snprintf(f.helo, sizeof(f.helo), "mail.signer.example");
	snprintf(f.mail_from, sizeof(f.mail_from), "bounce@signer.example");
	for (unsigned round = 1; round < 10; round++) {
		dv_round_reset(v);
		score_init(s);
		for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
			checks[i](&env, &f, v, s);
		if (dv_misses(v) == 0)
			break;
		for (size_t i = 0; i < dv_misses(v); i++) {
			const char *name;
			enum dv_type type;
			dv_miss(v, i, &name, &type);
			answer(c, name, type);
		}
	}
	dv_free(v);
	dns_cache_free(c);
	screen_message_free(m);
}

static void
test_chain(void **state)
{
	static const struct zrec extra[] = {
		{ "_dmarc.signer.example", DV_OK, "v=DMARC1; p=reject" },
		{ "signer.example", DV_OK, "v=spf1 ip4:192.0.2.0/24 -all" },
	};
	const struct score_thresholds t = { 4, 10, 10, false, true };
	enum screen_action action;
	enum screen_reply reply;
	char ar[AUTHRES_FIELD_MAX], *text;
	struct screen_facts f;
	struct score s;
	size_t len;

	(void)state;
	override = extra;
	noverride = 2;
	/* signed, but sent from elsewhere: SPF fails, DKIM carries DMARC */
	text = fixture("both", &len);
	chain(text, len, "203.0.113.5", &s);
	assert_true(s.auth_aligned);
	assert_false(s.dmarc_reject);
	score_verdict(&s, &t, &action, &reply);
	assert_int_equal(action, SCREEN_GREYLIST);	/* spf_fail 6 - 2 */
	memset(&f, 0, sizeof(f));
	f.flags = SCREEN_FACT_MAIL_SEEN;
	snprintf(f.mail_from, sizeof(f.mail_from), "bounce@signer.example");
	assert_true(authres_format("mx.home.test", &f, &s, ar, sizeof(ar)) > 0);
	assert_non_null(strstr(ar, "\tspf=fail smtp.mailfrom=signer.example;\r\n"));
	assert_non_null(strstr(ar, "\tdkim=pass header.d=signer.example header.s=ed"));
	assert_non_null(strstr(ar, "\tdmarc=pass header.from=signer.example\r\n"));

	/* the body changed on the way: no aligned pass, p=reject decides */
	patch(text, "Hello,", "Hallo,");
	chain(text, len, "203.0.113.5", &s);
	assert_false(s.auth_aligned);
	assert_true(s.dmarc_reject);
	score_verdict(&s, &t, &action, &reply);
	assert_int_equal(action, SCREEN_REJECT);
	assert_int_equal(reply, SCREEN_REPLY_REJECT);
	assert_true(authres_format("mx.home.test", &f, &s, ar, sizeof(ar)) > 0);
	assert_non_null(strstr(ar, "\tdmarc=fail (policy=reject) header.from=signer.example\r\n"));

	/* from an allowed server, SPF alone passes DMARC; our own domain
	 * unsigned still counts as forged */
	snprintf(cfg.domains[0], sizeof(cfg.domains[0]), "signer.example");
	cfg.ndomains = 1;
	chain(text, len, "192.0.2.7", &s);
	assert_true(s.auth_aligned);
	assert_false(s.dmarc_reject);
	assert_string_equal(s.item[s.n - 1].name, "forged_local_from");
	cfg.ndomains = 0;
	override = NULL;
	noverride = 0;
	free(text);
}

static void
test_no_message(void **state)
{
	struct screen_env env = { &cfg, NULL, NULL };
	struct screen_facts f;
	struct dns_cache *c = dns_cache_new(8);
	struct dns_view *v = dv_new(c);
	struct score s;

	(void)state;
	memset(&f, 0, sizeof(f));
	score_init(&s);
	check_dkim(&env, &f, v, &s);
	assert_int_equal(s.n, 0);
	assert_false(s.dkim_done);
	dv_free(v);
	dns_cache_free(c);
}

static int
setup(void **state)
{
	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.hostname, sizeof(cfg.hostname), "mx.home.test");
	screen_config_defaults(&cfg.screen);
	load_zone();
	assert_int_equal(dkimverify_init(), 0);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_temperror_range),
		cmocka_unit_test(test_rounds_and_memo),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_odd_messages),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_key_problems),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_no_message),
	};
	int rc = cmocka_run_group_tests(tests, setup, NULL);

	if (msg_fd != -1)
		close(msg_fd);
	return rc;
}
