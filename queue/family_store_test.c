/*
 * queue/family_store_test.c - the kept IPv6->IPv4 fallbacks
 * (queue/family_store.c): the file format with every kind of damage, the
 * bound, expiry and cutting of until, and the file on disk (written
 * atomically, rate-limited, a corrupt one set aside).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "family_store.h"

#define NOW	1700000000ULL
#define DAY	86400U
#define H	"homemx-family 1\n"

struct parse_case {
	const char	*name;
	const char	*text;
	int		 want;		/* count, or -1 */
	uint64_t	 until0;	/* until of the first pin, 0: not checked */
};

static const struct parse_case parse_cases[] = {
	{ "empty file", "", -1, 0 },
	{ "no end", H "ipv4 gmail.com 1700003600\n", -1, 0 },
	{ "nothing remembered", H "end\n", 0, 0 },
	{ "two", H "ipv4 gmail.com 1700003600\nipv4 mx.strict.test 1700007200\nend\n", 2,
	  1700003600 },
	{ "expired is dropped", H "ipv4 old.test 1699999999\nipv4 new.test 1700000100\nend\n",
	  1, 1700000100 },
	{ "ends now is expired", H "ipv4 now.test 1700000000\nend\n", 0, 0 },
	{ "too far ahead is cut", H "ipv4 far.test 1900000000\nend\n", 1, NOW + 7 * DAY },
	{ "a name twice keeps the later", H "ipv4 a.test 1700000100\nipv4 a.test 1700000200\n"
	  "ipv4 a.test 1700000150\nend\n", 1, 1700000200 },
	{ "uppercase name", H "ipv4 Gmail.com 1700003600\nend\n", -1, 0 },
	{ "bad name", H "ipv4 a..b 1700003600\nend\n", -1, 0 },
	{ "literal", H "ipv4 [192.0.2.1] 1700003600\nend\n", -1, 0 },
	{ "ipv6 pin", H "ipv6 a.test 1700003600\nend\n", -1, 0 },
	{ "until not a number", H "ipv4 a.test 17000036x0\nend\n", -1, 0 },
	{ "until zero", H "ipv4 a.test 0\nend\n", -1, 0 },
	{ "until too large", H "ipv4 a.test 99999999999999\nend\n", -1, 0 },
	{ "until missing", H "ipv4 a.test \nend\n", -1, 0 },
	{ "extra field", H "ipv4 a.test 1700003600 x\nend\n", -1, 0 },
	{ "end glued to a line", H "ipv4 a.test 1700003600end\n", -1, 0 },
	{ "after end", H "end\nipv4 a.test 1700003600\n", -1, 0 },
	{ "CRLF", "homemx-family 1\r\nipv4 a.test 1700003600\r\nend\r\n", -1, 0 },
	{ "other version", "homemx-family 2\nend\n", -1, 0 },
	{ "empty line", H "\nend\n", -1, 0 },
	{ "cut off", H "ipv4 a.test 17000", -1, 0 },
};

static void
test_parse(void **state)
{
	static struct family_pin out[FAMILY_STORE_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];
		int n = family_store_parse(c->text, strlen(c->text), NOW, 7 * DAY, out,
		    FAMILY_STORE_MAX);
		if (n != c->want)
			fail_msg("%s: got %d, want %d", c->name, n, c->want);
		if (c->until0 != 0 && out[0].until != c->until0)
			fail_msg("%s: got until %llu, want %llu", c->name,
			    (unsigned long long)out[0].until, (unsigned long long)c->until0);
	}
	/* A NUL byte is no file of ours. */
	const char nul[] = H "ipv4 a.test 1700003600\n\0end\n";
	assert_int_equal(family_store_parse(nul, sizeof(nul) - 1, NOW, DAY, out, 4), -1);
}

static void
test_format_round_trip(void **state)
{
	const struct family_pin in[] = {
		{ "gmail-smtp-in.l.google.com", NOW + 10 },
		{ "strict.test", NOW + 3600 },
	};
	struct family_pin out[4];
	char buf[512];

	(void)state;
	size_t len = family_store_format(in, 2, buf, sizeof(buf));
	assert_true(len > 0);
	assert_memory_equal(buf, H "ipv4 gmail-smtp-in.l.google.com 1700000010\n"
	    "ipv4 strict.test 1700003600\nend\n", len);
	assert_int_equal(family_store_parse(buf, len, NOW, DAY, out, 4), 2);
	assert_string_equal(out[1].name, "strict.test");
	assert_int_equal(out[1].until, NOW + 3600);
	/* too small a buffer: 0, never a cut file */
	assert_int_equal(family_store_format(in, 2, buf, 40), 0);
}

/* More names than room: the ones expiring first make way. */
static void
test_bound(void **state)
{
	static char text[FAMILY_FILE_MAX];
	static struct family_pin out[FAMILY_STORE_MAX];
	size_t o = 0;

	(void)state;
	o += (size_t)snprintf(text, sizeof(text), H);
	for (unsigned i = 0; i < FAMILY_STORE_MAX + 100; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "ipv4 d%u.test %llu\n", i,
		    (unsigned long long)(NOW + 1000 + i));
	o += (size_t)snprintf(text + o, sizeof(text) - o, "end\n");
	assert_int_equal(family_store_parse(text, o, NOW, DAY, out, FAMILY_STORE_MAX),
	    FAMILY_STORE_MAX);
	for (size_t i = 0; i < FAMILY_STORE_MAX; i++)
		if (out[i].until < NOW + 1100)
			fail_msg("%s (until %llu) kept over a later one", out[i].name,
			    (unsigned long long)out[i].until);
}

/* ---- on disk ------------------------------------------------------------------ */

static char dir[64];

static void
write_text(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/state/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static bool
read_text(const char *name, char *buf, size_t size)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/state/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	size_t n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
	return true;
}

static void
test_on_disk(void **state)
{
	struct event_base *base = event_base_new();
	struct family_pin got[8], p = { "mx.strict.test", 0 };
	uint64_t now = (uint64_t)time(NULL);
	char text[1024], want[1024], path[128];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/hmx-famstore-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(text, sizeof(text), H "ipv4 old.test %llu\nipv4 gmail.com %llu\nend\n",
	    (unsigned long long)(now - 5), (unsigned long long)(now + 600));
	write_text("family", text);
	write_text("family.tmp", "half a write");

	family_store_init(base, dir, now, DAY);
	assert_int_equal(family_store_get(got, 8, now), 1);
	assert_string_equal(got[0].name, "gmail.com");
	assert_false(read_text("family.tmp", text, sizeof(text)));	/* cleaned up */

	/* learned: written at once (nothing written for a while) */
	p.until = now + 3600;
	assert_int_equal(family_store_learn(&p, now, DAY), 0);
	assert_true(read_text("family", text, sizeof(text)));
	snprintf(want, sizeof(want), H "ipv4 gmail.com %llu\nipv4 mx.strict.test %llu\nend\n",
	    (unsigned long long)(now + 600), (unsigned long long)(now + 3600));
	assert_string_equal(text, want);	/* old.test expired: gone */

	/* in the past: refused; too far: cut to max_age */
	p.until = now;
	assert_int_equal(family_store_learn(&p, now, DAY), -1);
	snprintf(p.name, sizeof(p.name), "far.test");
	p.until = now + 30 * DAY;
	assert_int_equal(family_store_learn(&p, now, DAY), 0);
	/* within FAMILY_WRITE_INTERVAL of the last write: not yet on disk */
	assert_true(read_text("family", text, sizeof(text)));
	assert_null(strstr(text, "far.test"));
	/* the only event is the write timer: run until it fired */
	assert_int_equal(event_base_loop(base, EVLOOP_ONCE), 0);
	assert_true(read_text("family", text, sizeof(text)));
	snprintf(want, sizeof(want), "ipv4 far.test %llu\n", (unsigned long long)(now + DAY));
	assert_non_null(strstr(text, want));
	assert_int_equal(family_store_get(got, 8, now), 3);

	/* a new queue reads it back */
	family_store_close();
	family_store_init(base, dir, now, DAY);
	assert_int_equal(family_store_get(got, 8, now), 3);

	/* a damaged file is set aside and the memory starts empty */
	family_store_close();
	write_text("family", H "ipv4 BAD 1\n");
	family_store_init(base, dir, now, DAY);
	assert_int_equal(family_store_get(got, 8, now), 0);
	assert_true(read_text("family.corrupt", text, sizeof(text)));
	assert_string_equal(text, H "ipv4 BAD 1\n");
	assert_false(read_text("family", text, sizeof(text)));
	family_store_close();

	event_base_free(base);
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "%s/state/family.corrupt", dir);
	unlink(cmd);
	snprintf(cmd, sizeof(cmd), "%s/state", dir);
	rmdir(cmd);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_on_disk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
