/*
 * screen/dynptr_test.c - the dynamic-PTR heuristic on real-world-shaped
 * names, both ways: end-user lines that must be caught, and mail servers
 * (including big senders that put their address in the name) that must
 * not be. A false positive costs a legitimate server dynamic_ptr's weight.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dynptr.h"

struct row {
	const char		*name;
	const char		*ip;
	enum dynptr_sign	 want;
	const char		*why;	/* NULL: not checked */
};

static const char *
sign_name(enum dynptr_sign s)
{
	switch (s) {
	case DYNPTR_NONE:	return "none";
	case DYNPTR_WORD:	return "word";
	case DYNPTR_ADDRESS:	return "address";
	}
	return "?";
}

static void
run_rows(const struct screen_config *sc, const struct row *rows, size_t n)
{
	char why[64];
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		enum dynptr_sign got = dynptr_check(rows[i].name, rows[i].ip, sc, why, sizeof(why));
		if (got != rows[i].want ||
		    (rows[i].why != NULL && strcmp(why, rows[i].why) != 0)) {
			print_error("%s (%s): got %s \"%s\", want %s \"%s\"\n", rows[i].name,
			    rows[i].ip, sign_name(got), why, sign_name(rows[i].want),
			    rows[i].why != NULL ? rows[i].why : "");
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* End-user lines: ISP pools, DSL, cable, hosting ranges. */
static void
test_dynamic_names(void **state)
{
	static const struct row rows[] = {
		{ "dsl-198-51-100-7.provider.example", "198.51.100.7", DYNPTR_WORD, "word=dsl" },
		{ "pool-198-51-100-7.nycmny.fios.verizon.net", "198.51.100.7", DYNPTR_WORD, "word=pool" },
		{ "7.100.51.198.dynamic.isp.example", "198.51.100.7", DYNPTR_WORD, "word=dynamic" },
		{ "host7-100-51-198.range198-51.btcentralplus.com", "198.51.100.7", DYNPTR_WORD, "word=host" },
		{ "dyn123.example.org", "192.0.2.1", DYNPTR_WORD, "word=dyn" },
		{ "abc.dialup.example.co.uk", "192.0.2.1", DYNPTR_WORD, "word=dialup" },
		{ "ppp-7-100-51-198.example.net", "198.51.100.7", DYNPTR_WORD, "word=ppp" },
		{ "ip-198-51-100-7.ec2.internal", "198.51.100.7", DYNPTR_WORD, "word=ip" },
		{ "cable-203-0-113-9.dhcp.example.de", "203.0.113.9", DYNPTR_WORD, "word=cable" },
		{ "a203-0-113-9.dhcp.example.de", "203.0.113.9", DYNPTR_WORD, "word=dhcp" },
		{ "customer.203-0-113-9.example.jp", "203.0.113.9", DYNPTR_WORD, "word=customer" },
		{ "adsl196-7-100-51-198.example.it", "198.51.100.7", DYNPTR_WORD, "word=adsl" },
		/* the address alone */
		{ "c-198-51-100-7.hsd1.ma.comcast.net", "198.51.100.7", DYNPTR_ADDRESS, "address" },
		{ "198-51-100-7.static.isp.example", "198.51.100.7", DYNPTR_ADDRESS, "address" },
		{ "cpe-198-51-100-7.socal.res.rr.com", "198.51.100.7", DYNPTR_ADDRESS, NULL },
		{ "bb198-51-100-7.singnet.com.sg", "198.51.100.7", DYNPTR_ADDRESS, NULL },
		{ "ec2-198-51-100-7.compute-1.amazonaws.com", "198.51.100.7", DYNPTR_ADDRESS, NULL },
		{ "static.7.100.51.198.clients.your-server.de", "198.51.100.7", DYNPTR_ADDRESS, NULL },
		{ "h198051100007.example.net", "198.51.100.7", DYNPTR_ADDRESS, NULL },	/* padded */
		{ "198-051-100-007.example.net", "198.51.100.7", DYNPTR_ADDRESS, NULL },
		{ "x198511007.example.net", "198.51.100.7", DYNPTR_ADDRESS, NULL },	/* glued, 9 digits */
		{ "c6336407.example.net", "198.51.100.7", DYNPTR_ADDRESS, NULL },	/* hex */
		{ "ipc6.33.64.07.example.net", "198.51.100.7", DYNPTR_ADDRESS, NULL },	/* not ip+digits */
		{ "nat-c6-33-64-07.example.net", "198.51.100.7", DYNPTR_ADDRESS, NULL },
		{ "7_100_51_198.example.net", "198.51.100.7", DYNPTR_ADDRESS, NULL },
		{ "d51-100-7.home.example.ca", "198.51.100.7", DYNPTR_ADDRESS, NULL },	/* 3 octets */
		{ "7-100-51.example.ca", "198.51.100.7", DYNPTR_ADDRESS, NULL },
		{ "198-51-100-7.isp.example", "::ffff:198.51.100.7", DYNPTR_ADDRESS, NULL },
		{ "2001-db8--7.v6.example.net", "2001:db8::7", DYNPTR_ADDRESS, NULL },
		{ "x-20010db8000000000000000000000007.example.net", "2001:db8::7", DYNPTR_ADDRESS, NULL },
		{ "2001-0db8-0000-0000-0000-0000-0000-0007.example.net", "2001:db8::7",
		    DYNPTR_ADDRESS, NULL },
	};
	struct screen_config sc;

	(void)state;
	screen_config_defaults(&sc);
	run_rows(&sc, rows, sizeof(rows) / sizeof(rows[0]));
}

/* Mail servers, and names that only look a little like a line. */
static void
test_server_names(void **state)
{
	static const struct row rows[] = {
		{ "mail.dsl-provider.example", "198.51.100.7", DYNPTR_NONE, NULL },
		{ "mx1.example.com", "192.0.2.1", DYNPTR_NONE, NULL },
		{ "mail-wm1-f54.google.com", "209.85.128.54", DYNPTR_NONE, NULL },
		{ "mail-db8eur05on2100.outbound.protection.outlook.com", "40.107.22.100",
		    DYNPTR_NONE, NULL },
		/* big senders put the address in, next to a mail token */
		{ "66-220-144-178.mail-mail.facebook.com", "66.220.144.178", DYNPTR_NONE, NULL },
		{ "a27-18.smtp-out.us-west-2.amazonses.com", "54.240.27.18", DYNPTR_NONE, NULL },
		{ "mta-198-51-100-7.sendgrid.example", "198.51.100.7", DYNPTR_NONE, NULL },
		{ "out-7.relay.example.net", "198.51.100.7", DYNPTR_NONE, NULL },
		/* the provider's own name is not judged */
		{ "relay.dynamic-dns-provider.net", "192.0.2.1", DYNPTR_NONE, NULL },
		{ "smtp.pool-party.example", "192.0.2.1", DYNPTR_NONE, NULL },
		{ "dsl.example.com", "192.0.2.1", DYNPTR_WORD, "word=dsl" },	/* but its hosts are */
		{ "example.com", "192.0.2.1", DYNPTR_NONE, NULL },
		{ "co.uk", "192.0.2.1", DYNPTR_NONE, NULL },
		{ "198-51-100-7.example", "198.51.100.7", DYNPTR_NONE, NULL },	/* registrable */
		/* words inside longer words */
		{ "dialog.example.com", "192.0.2.1", DYNPTR_NONE, NULL },
		{ "dynamo.example.com", "192.0.2.1", DYNPTR_NONE, NULL },
		{ "hostmaster.example.com", "192.0.2.1", DYNPTR_NONE, NULL },
		{ "ipsum.example.com", "192.0.2.1", DYNPTR_NONE, NULL },
		{ "poolside.example.com", "192.0.2.1", DYNPTR_NONE, NULL },
		{ "mail.customer-service.example", "192.0.2.1", DYNPTR_NONE, NULL },
		{ "users.example.org", "192.0.2.1", DYNPTR_NONE, NULL },
		/* numbers that are not this address */
		{ "server1.example.com", "10.0.0.1", DYNPTR_NONE, NULL },
		{ "web1234.example.com", "1.2.3.4", DYNPTR_NONE, NULL },	/* too short glued */
		{ "198-51-100-8.isp.example", "198.51.100.7", DYNPTR_NONE, NULL },
		{ "n1-198-51-100-77.isp.example", "198.51.100.7", DYNPTR_NONE, NULL },
		{ "vm-0-0-1.example.net", "10.0.0.1", DYNPTR_NONE, NULL },	/* 3 short octets */
		{ "srv-2001-db8--8.example.net", "2001:db8::7", DYNPTR_NONE, NULL },
		{ "c6336408.example.net", "198.51.100.7", DYNPTR_NONE, NULL },
		{ "ac6336407f.example.net", "198.51.100.7", DYNPTR_NONE, NULL },	/* glued hex */
		/* no address to compare with */
		{ "198-51-100-7.static.isp.example", "", DYNPTR_NONE, NULL },
		{ "198-51-100-7.static.isp.example", "not an ip", DYNPTR_NONE, NULL },
	};
	struct screen_config sc;

	(void)state;
	screen_config_defaults(&sc);
	run_rows(&sc, rows, sizeof(rows) / sizeof(rows[0]));
}

/* The words are the configured ones, compared without case. */
static void
test_configured_words(void **state)
{
	static const struct row none[] = {
		{ "dsl-1.example.net", "192.0.2.1", DYNPTR_NONE, NULL },
		{ "192-0-2-1.example.net", "192.0.2.1", DYNPTR_ADDRESS, NULL },
	};
	static const struct row custom[] = {
		{ "kunde42.example.net", "192.0.2.1", DYNPTR_WORD, "word=Kunde" },
		{ "dsl-1.example.net", "192.0.2.1", DYNPTR_NONE, NULL },
	};
	struct screen_config sc;

	(void)state;
	screen_config_defaults(&sc);
	sc.nwords = 0;
	run_rows(&sc, none, sizeof(none) / sizeof(none[0]));
	snprintf(sc.dynamic_words[0], sizeof(sc.dynamic_words[0]), "Kunde");
	sc.nwords = 1;
	run_rows(&sc, custom, sizeof(custom) / sizeof(custom[0]));
}

/* Oversized or odd input never reads past the name. */
static void
test_odd_input(void **state)
{
	char longname[400], why[8];
	struct screen_config sc;

	(void)state;
	screen_config_defaults(&sc);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(dynptr_check(longname, "192.0.2.1", &sc, why, sizeof(why)), DYNPTR_NONE);
	assert_int_equal(dynptr_check("", "192.0.2.1", &sc, why, sizeof(why)), DYNPTR_NONE);
	assert_int_equal(dynptr_check("a..b.example", "192.0.2.1", &sc, why, sizeof(why)),
	    DYNPTR_NONE);
	/* a short why buffer is cut, never overrun */
	assert_int_equal(dynptr_check("dynamic-1.example.net", "192.0.2.1", &sc, why, sizeof(why)),
	    DYNPTR_WORD);
	assert_string_equal(why, "word=dy");
	assert_int_equal(dynptr_init(), 0);	/* Debian ships the list */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dynamic_names),
		cmocka_unit_test(test_server_names),
		cmocka_unit_test(test_configured_words),
		cmocka_unit_test(test_odd_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
