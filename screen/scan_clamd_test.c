/*
 * screen/scan_clamd_test.c - clamd's INSTREAM head and its reply parser
 * against real ClamAV 1.4 answers and hostile ones.
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
	size_t		 len;		/* 0: strlen + 1 (the NUL that ends it) */
	enum scan_parse	 want;
	enum scan_status status;
	bool		 virus_found;
	const char	*virus, *why;
} cases[] = {
	{ "stream: OK", 0, SCAN_PARSE_DONE, SCAN_STATUS_OK, false, "", "" },
	{ "stream: Eicar-Signature.UNOFFICIAL FOUND", 0, SCAN_PARSE_DONE, SCAN_STATUS_OK, true,
	    "Eicar-Signature.UNOFFICIAL", "" },
	{ "stream: Win.Test.EICAR_HDB-1 FOUND", 0, SCAN_PARSE_DONE, SCAN_STATUS_OK, true,
	    "Win.Test.EICAR_HDB-1", "" },
	/* an old clamd without the NUL: a line, then EOF */
	{ "stream: OK\n", 11, SCAN_PARSE_DONE, SCAN_STATUS_OK, false, "", "" },
	{ "stream: Bad\"Name\x01 FOUND", 0, SCAN_PARSE_DONE, SCAN_STATUS_OK, true, "Bad?Name?", "" },
	{ "INSTREAM size limit exceeded. ERROR", 0, SCAN_PARSE_DONE, SCAN_STATUS_SKIPPED, false, "",
	    "StreamMaxLength" },
	{ "Can't allocate memory ERROR", 0, SCAN_PARSE_DONE, SCAN_STATUS_TEMPFAIL, false, "",
	    "clamd error: Can't allocate memory" },
	{ "UNKNOWN COMMAND", 0, SCAN_PARSE_BAD, 0, false, "", "not 'stream" },
	{ "stream: MAYBE", 0, SCAN_PARSE_BAD, 0, false, "", "neither OK nor FOUND" },
	{ "stream:  FOUND", 0, SCAN_PARSE_BAD, 0, false, "", "neither OK nor FOUND" },
	{ "stream: OK", 10, SCAN_PARSE_DONE, SCAN_STATUS_OK, false, "", "" },	/* EOF, no NUL */
	{ "", 1, SCAN_PARSE_BAD, 0, false, "", "empty line" },
	{ "", 0xffff, SCAN_PARSE_BAD, 0, false, "", "no answer" },	/* len 0 at EOF */
};

static void
test_replies(void **state)
{
	struct scan_result r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len == 0 ? strlen(cases[i].reply) + 1 :
		    cases[i].len == 0xffff ? 0 : cases[i].len;
		enum scan_parse got = scan_parse_split(scan_clamd_parse, cases[i].reply, len, &r);
		if (!scan_case_checked(i, got, &r, cases[i].want, cases[i].why, cases[i].status))
			continue;
		if (r.virus_found != cases[i].virus_found || strcmp(r.virus, cases[i].virus) != 0)
			fail_msg("case %zu: got status %d virus %d '%s'", i, r.status,
			    r.virus_found, r.virus);
	}
}

static void
test_long_line_and_head(void **state)
{
	static uint8_t text[2048];
	struct scan_result r;
	char head[16];

	(void)state;
	memset(text, 'A', sizeof(text));
	assert_int_equal(scan_clamd_parse(text, sizeof(text), false, &r), SCAN_PARSE_BAD);
	assert_non_null(strstr(r.why, "too long"));
	assert_int_equal(scan_clamd_head(head, sizeof(head)), 10);
	assert_memory_equal(head, "zINSTREAM\0", 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_long_line_and_head),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
