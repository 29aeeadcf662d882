/*
 * smtpd/received_test.c - the Received: header, with and without TLS, with
 * one and with several recipients, IPv6, authenticated (ESMTPSA) with the
 * client address hidden or not, the UTF8SMTP names of a transaction with
 * SMTPUTF8, and the RFC 5322 date.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "received.h"

#define T0	1763904840	/* Sun, 23 Nov 2025 13:34:00 +0000 */

struct received_case {
	struct received_info	 in;
	const char		*want;
};

static const struct received_case cases[] = {
	{ { "client.example", "192.0.2.7", "mx.example.test", NULL, NULL,
	    "0123456789abcdef", "kim@example.test", T0 },
	  "Received: from client.example ([192.0.2.7])\r\n"
	  "\tby mx.example.test with ESMTP id 0123456789abcdef\r\n"
	  "\tfor <kim@example.test>; Sun, 23 Nov 2025 13:34:00 +0000\r\n" },
	{ { "client.example", "192.0.2.7", "mx.example.test", "TLSv1.3",
	    "TLS_AES_256_GCM_SHA384", "0123456789abcdef", NULL, T0 },
	  "Received: from client.example ([192.0.2.7])\r\n"
	  "\tby mx.example.test with ESMTPS (TLSv1.3:TLS_AES_256_GCM_SHA384) id 0123456789abcdef;\r\n"
	  "\tSun, 23 Nov 2025 13:34:00 +0000\r\n" },
	{ { "[IPv6:::1]", "::1", "mx.example.test", NULL, NULL,
	    "0123456789abcdef", "a@example.test", 0 },
	  "Received: from [IPv6:::1] ([IPv6:::1])\r\n"
	  "\tby mx.example.test with ESMTP id 0123456789abcdef\r\n"
	  "\tfor <a@example.test>; Thu, 01 Jan 1970 00:00:00 +0000\r\n" },
	/* submission: authenticated over TLS, client address hidden */
	{ { "laptop.home", "192.0.2.7", "mx.example.test", "TLSv1.3",
	    "TLS_AES_256_GCM_SHA384", "0123456789abcdef", "kim@example.test", T0,
	    true, true },
	  "Received: from laptop.home\r\n"
	  "\tby mx.example.test with ESMTPSA (TLSv1.3:TLS_AES_256_GCM_SHA384) id 0123456789abcdef\r\n"
	  "\tfor <kim@example.test>; Sun, 23 Nov 2025 13:34:00 +0000\r\n" },
	/* a HELO address literal would tell the address: it is hidden too */
	{ { "[192.0.2.7]", "192.0.2.7", "mx.example.test", "TLSv1.2",
	    "ECDHE-RSA-AES256-GCM-SHA384", "0123456789abcdef", NULL, T0, true, true },
	  "Received: from unknown\r\n"
	  "\tby mx.example.test with ESMTPSA (TLSv1.2:ECDHE-RSA-AES256-GCM-SHA384) id 0123456789abcdef;\r\n"
	  "\tSun, 23 Nov 2025 13:34:00 +0000\r\n" },
	/* submission_hide_client_ip no */
	{ { "[192.0.2.7]", "192.0.2.7", "mx.example.test", "TLSv1.3",
	    "TLS_AES_256_GCM_SHA384", "0123456789abcdef", NULL, T0, true, false },
	  "Received: from [192.0.2.7] ([192.0.2.7])\r\n"
	  "\tby mx.example.test with ESMTPSA (TLSv1.3:TLS_AES_256_GCM_SHA384) id 0123456789abcdef;\r\n"
	  "\tSun, 23 Nov 2025 13:34:00 +0000\r\n" },
	{ { "c.example", "192.0.2.7", "mx.example.test", NULL, NULL,
	    "0123456789abcdef", NULL, T0, true, false },
	  "Received: from c.example ([192.0.2.7])\r\n"
	  "\tby mx.example.test with ESMTPA id 0123456789abcdef;\r\n"
	  "\tSun, 23 Nov 2025 13:34:00 +0000\r\n" },
	/* MAIL with SMTPUTF8 (RFC 6531 3.7.3): UTF8SMTP, the "for" in UTF-8 */
	{ { "client.example", "192.0.2.7", "mx.example.test", NULL, NULL,
	    "0123456789abcdef", "d\xc3\xabmo@example.test", T0, false, false, true },
	  "Received: from client.example ([192.0.2.7])\r\n"
	  "\tby mx.example.test with UTF8SMTP id 0123456789abcdef\r\n"
	  "\tfor <d\xc3\xabmo@example.test>; Sun, 23 Nov 2025 13:34:00 +0000\r\n" },
	{ { "client.example", "192.0.2.7", "mx.example.test", "TLSv1.3",
	    "TLS_AES_256_GCM_SHA384", "0123456789abcdef", NULL, T0, false, false, true },
	  "Received: from client.example ([192.0.2.7])\r\n"
	  "\tby mx.example.test with UTF8SMTPS (TLSv1.3:TLS_AES_256_GCM_SHA384) id 0123456789abcdef;\r\n"
	  "\tSun, 23 Nov 2025 13:34:00 +0000\r\n" },
	{ { "c.example", "192.0.2.7", "mx.example.test", NULL, NULL,
	    "0123456789abcdef", NULL, T0, true, false, true },
	  "Received: from c.example ([192.0.2.7])\r\n"
	  "\tby mx.example.test with UTF8SMTPA id 0123456789abcdef;\r\n"
	  "\tSun, 23 Nov 2025 13:34:00 +0000\r\n" },
	{ { "laptop.home", "192.0.2.7", "mx.example.test", "TLSv1.3",
	    "TLS_AES_256_GCM_SHA384", "0123456789abcdef", NULL, T0, true, true, true },
	  "Received: from laptop.home\r\n"
	  "\tby mx.example.test with UTF8SMTPSA (TLSv1.3:TLS_AES_256_GCM_SHA384) id 0123456789abcdef;\r\n"
	  "\tSun, 23 Nov 2025 13:34:00 +0000\r\n" },
};

static void
test_render(void **state)
{
	char buf[RECEIVED_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = received_render(&cases[i].in, buf, sizeof(buf));
		if (n != strlen(cases[i].want) || strcmp(buf, cases[i].want) != 0)
			fail_msg("case %zu: got\n%s\nwant\n%s", i, buf, cases[i].want);
	}
}

/* Longest fields still fit, and no header line exceeds RFC 5322's 998. */
static void
test_longest(void **state)
{
	char helo[256], host[256], rcpt[257], buf[RECEIVED_MAX];

	(void)state;
	memset(helo, 'h', 255);
	helo[255] = '\0';
	memset(host, 'm', 255);
	host[255] = '\0';
	memset(rcpt, 'r', 256);
	rcpt[256] = '\0';
	struct received_info ri = { helo, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	    host, "TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256", "0123456789abcdef", rcpt, T0,
	    true, false, true };	/* the longest protocol name: UTF8SMTPSA */
	size_t n = received_render(&ri, buf, sizeof(buf));
	assert_true(n > 0);
	for (char *line = buf; *line != '\0';) {
		char *end = strstr(line, "\r\n");
		assert_non_null(end);
		assert_true(end - line <= 998);
		line = end + 2;
	}
	assert_int_equal(received_render(&ri, buf, 100), 0);
}

static void
test_date(void **state)
{
	char d[RFC5322_DATE_MAX];

	(void)state;
	rfc5322_date(T0, d, sizeof(d));
	assert_string_equal(d, "Sun, 23 Nov 2025 13:34:00 +0000");
	rfc5322_date(951782400, d, sizeof(d));	/* leap day */
	assert_string_equal(d, "Tue, 29 Feb 2000 00:00:00 +0000");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_longest),
		cmocka_unit_test(test_date),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
