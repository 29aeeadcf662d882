/*
 * screen/scan_spamd_test.c - spamd's request head and its reply parser
 * against real SpamAssassin 4.0 answers and hostile ones; the shared text
 * helpers (screen/scan_text.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "scan_testlib.h"

static const struct {
	const char	*reply;
	enum scan_parse	 want;
	enum scan_status status;
	bool		 spam;
	double		 score, threshold;
	const char	*symbols, *why;
} cases[] = {
	/* real spamd 4.0.1 answers to SYMBOLS */
	{ "SPAMD/1.1 0 EX_OK\r\nContent-length: 9\r\nSpam: False ; 3.5 / 5.0\r\n\r\nHMX_CHEAP",
	    SCAN_PARSE_DONE, SCAN_STATUS_OK, false, 3.5, 5, "HMX_CHEAP", "" },
	{ "SPAMD/1.1 0 EX_OK\r\nContent-length: 5\r\nSpam: True ; 1000.0 / 5.0\r\n\r\nGTUBE",
	    SCAN_PARSE_DONE, SCAN_STATUS_OK, true, 1000, 5, "GTUBE", "" },
	{ "SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\nSpam: False ; 0.0 / 5.0\r\n\r\n",
	    SCAN_PARSE_DONE, SCAN_STATUS_OK, false, 0, 5, "", "" },
	/* order, case, blanks, older spellings, no length (EOF ends it) */
	{ "SPAMD/1.5 0 EX_OK\r\nspam: yes;-1.2/5\r\n\r\nA,B,C\r\n", SCAN_PARSE_DONE, SCAN_STATUS_OK,
	    true, -1.2, 5, "A,B,C", "" },
	{ "SPAMD/1.1 0 EX_OK\r\nSpam: No ; 0 / 5.0\r\nX-Other: 1\r\n\r\n", SCAN_PARSE_DONE,
	    SCAN_STATUS_OK, false, 0, 5, "", "" },
	{ "SPAMD/1.1 0 EX_OK\r\nContent-length: 7\r\nSpam: False ; 1 / 5\r\n\r\nA B,C!D", SCAN_PARSE_DONE,
	    SCAN_STATUS_OK, false, 1, 5, "A?B,C?D", "" },
	/* spamd refuses */
	{ "SPAMD/1.0 76 Bad header line: Content-length: x\r\n", SCAN_PARSE_DONE, SCAN_STATUS_TEMPFAIL,
	    false, 0, 0, "", "code 76 Bad header line" },
	{ "SPAMD/1.0 64 EX_USAGE\r\n\r\n", SCAN_PARSE_DONE, SCAN_STATUS_TEMPFAIL, false, 0, 0, "",
	    "code 64" },
	/* garbage */
	{ "", SCAN_PARSE_BAD, 0, false, 0, 0, "", "no answer" },
	{ "HTTP/1.1 200 OK\r\n\r\n", SCAN_PARSE_BAD, 0, false, 0, 0, "", "no SPAMD status line" },
	{ "SPAMD/1.1 zero EX_OK\r\n", SCAN_PARSE_BAD, 0, false, 0, 0, "", "no SPAMD status line" },
	{ "SPAMD/1.1 0 EX_OK\r\nContent-length: 3\r\n\r\nabc", SCAN_PARSE_BAD, 0, false, 0, 0, "",
	    "no Spam header" },
	{ "SPAMD/1.1 0 EX_OK\r\nSpam: Maybe ; 1 / 5\r\n\r\n", SCAN_PARSE_BAD, 0, false, 0, 0, "",
	    "Spam header" },
	{ "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1e9 / 5\r\n\r\n", SCAN_PARSE_BAD, 0, false, 0, 0, "",
	    "Spam header" },
	{ "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 9999999 / 5\r\n\r\n", SCAN_PARSE_BAD, 0, false, 0, 0, "",
	    "Spam header" },
	{ "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1 / 5 extra\r\n\r\n", SCAN_PARSE_BAD, 0, false, 0, 0, "",
	    "Spam header" },
	{ "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1 / 5\r\nSpam: False ; 0 / 5\r\n\r\n", SCAN_PARSE_BAD, 0,
	    false, 0, 0, "", "Spam header" },
	{ "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1 / 5\r\nContent-length: -1\r\n\r\n", SCAN_PARSE_BAD, 0,
	    false, 0, 0, "", "Content-length" },
	{ "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1 / 5\r\nContent-length: 1.5\r\n\r\n", SCAN_PARSE_BAD, 0,
	    false, 0, 0, "", "Content-length" },
	{ "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1 / 5\r\nContent-length: 10\r\n\r\nA", SCAN_PARSE_BAD, 0,
	    false, 0, 0, "", "cut short" },
	{ "SPAMD/1.1 0 EX_OK\r\nno colon here\r\n\r\n", SCAN_PARSE_BAD, 0, false, 0, 0, "", "colon" },
	{ "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1 / 5\r\n", SCAN_PARSE_BAD, 0, false, 0, 0, "",
	    "cut short" },
};

static void
test_replies(void **state)
{
	struct scan_result r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum scan_parse got = scan_parse_split(scan_spamd_parse, cases[i].reply,
		    strlen(cases[i].reply), &r);
		if (!scan_case_checked(i, got, &r, cases[i].want, cases[i].why,
		    cases[i].status) || r.status != SCAN_STATUS_OK)
			continue;
		if (r.spam != cases[i].spam || r.score != cases[i].score ||
		    r.threshold != cases[i].threshold || strcmp(r.symbols, cases[i].symbols) != 0)
			fail_msg("case %zu: got %d %.2f/%.2f '%s'", i, r.spam, r.score, r.threshold,
			    r.symbols);
	}
}

static void
test_request_head(void **state)
{
	char buf[128];
	size_t n;

	(void)state;
	n = scan_spamd_head(4321, buf, sizeof(buf));
	buf[n] = '\0';
	assert_string_equal(buf, "SYMBOLS SPAMC/1.5\r\nContent-length: 4321\r\n\r\n");
}

static void
test_text_helpers(void **state)
{
	char list[16] = "", text[8];
	double d = 0;

	(void)state;
	scan_copy_text(text, sizeof(text), (const uint8_t *)"a\"b\\c\x01\xff" "defgh", 12);
	assert_string_equal(text, "a?b?c??");
	assert_int_equal(scan_parse_decimal((const uint8_t *)"-12.50x", 7, &d), 6);
	assert_true(d == -12.5);
	assert_int_equal(scan_parse_decimal((const uint8_t *)"12.", 3, &d), 0);
	assert_int_equal(scan_parse_decimal((const uint8_t *)"-", 1, &d), 0);
	assert_int_equal(scan_parse_decimal((const uint8_t *)".5", 2, &d), 0);
	assert_int_equal(scan_parse_decimal((const uint8_t *)"1000001", 7, &d), 0);
	/* the list stays within its 16 bytes and says it was cut */
	scan_symbols_add(list, sizeof(list), (const uint8_t *)"ABC", 3);
	scan_symbols_add(list, sizeof(list), (const uint8_t *)"D E", 3);
	assert_string_equal(list, "ABC,D?E");
	scan_symbols_add(list, sizeof(list), (const uint8_t *)"LONGNAME", 8);
	assert_string_equal(list, "ABC,D?E...");
	scan_symbols_add(list, sizeof(list), (const uint8_t *)"F", 1);
	assert_string_equal(list, "ABC,D?E...");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_request_head),
		cmocka_unit_test(test_text_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
