/*
 * relay/mtasts_parse.c - the parts of relay/mtasts.c that read text: the
 * _mta-sts TXT record (RFC 8461 3.1, from DNS: fuzzed by
 * tests/fuzz/fuzz_relay_mtasts.c) and the relay's own cache file. Pure,
 * so the unit tests (relay/mtasts_test.c) and the fuzzer link them alone.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts.h"

static bool
id_valid(const char *s, size_t n)
{
	if (n == 0 || n > MTASTS_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]))
			return false;
	return true;
}

/* "v=STSv1; id=20160831085700Z;" (fields split by ';', blanks around). */
static int
txt_one(const char *t, char id[MTASTS_ID_MAX + 1])
{
	bool have_id = false;
	const char *p = t;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *f = p;
		while (*p != '\0' && *p != ';')
			p++;
		size_t fl = (size_t)(p - f);
		while (fl > 0 && (f[fl - 1] == ' ' || f[fl - 1] == '\t'))
			fl--;
		if (fl > 3 && strncmp(f, "id=", 3) == 0) {
			if (!id_valid(f + 3, fl - 3))
				return -1;
			memcpy(id, f + 3, fl - 3);
			id[fl - 3] = '\0';
			have_id = true;
		}
	}
	return have_id ? 1 : -1;
}

int
mtasts_txt_id(const char *const *txt, size_t n, char id[MTASTS_ID_MAX + 1])
{
	int found = 0, rc = 0;

	id[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *t = txt[i];
		/* RFC 8461 3.1: "v=STSv1" first; other TXT records are not ours */
		if (strncmp(t, "v=STSv1", 7) != 0 || (t[7] != ';' && t[7] != ' ' &&
		    t[7] != '\t' && t[7] != '\0'))
			continue;
		found++;
		rc = txt_one(t + 7, id);
	}
	if (found > 1 || rc == -1) {
		id[0] = '\0';
		return -1;
	}
	return found;
}

size_t
mtasts_cache_format(const char *id, time_t expires, const struct sts_policy *p,
    char *buf, size_t size)
{
	static const char *modes[] = { "none", "testing", "enforce" };
	size_t o;
	int n;

	n = snprintf(buf, size, "id %s\nexpires %" PRId64 "\n\nversion: STSv1\nmode: %s\n"
	    "max_age: %lu\n", id, (int64_t)expires, modes[p->mode], p->max_age);
	if (n < 0 || (size_t)n >= size)
		return 0;
	o = (size_t)n;
	for (size_t i = 0; i < p->nmx; i++) {
		n = snprintf(buf + o, size - o, "mx: %s\n", p->mx[i]);
		if (n < 0 || (size_t)n >= size - o)
			return 0;
		o += (size_t)n;
	}
	return o;
}

int
mtasts_cache_parse(const char *text, size_t len, char id[MTASTS_ID_MAX + 1],
    time_t *expires, struct sts_policy *p)
{
	const char *end = text + len, *nl, *blank;
	char why[200], num[24];
	size_t il, nlen;

	blank = memmem(text, len, "\n\n", 2);
	if (len < 3 || strncmp(text, "id ", 3) != 0 || blank == NULL ||
	    (nl = memchr(text, '\n', len)) == NULL)
		return -1;
	il = (size_t)(nl - text) - 3;
	if (!id_valid(text + 3, il))
		return -1;
	memcpy(id, text + 3, il);
	id[il] = '\0';
	if ((size_t)(end - nl) < 10 || strncmp(nl + 1, "expires ", 8) != 0)
		return -1;
	nlen = (size_t)(blank - (nl + 9));
	if (nlen == 0 || nlen >= sizeof(num) || strspn(nl + 9, "0123456789") != nlen)
		return -1;
	memcpy(num, nl + 9, nlen);
	num[nlen] = '\0';
	*expires = (time_t)strtoll(num, NULL, 10);
	return sts_policy_parse(blank + 2, (size_t)(end - blank - 2), p, why, sizeof(why));
}

