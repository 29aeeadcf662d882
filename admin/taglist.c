/*
 * admin/taglist.c - tag=value lists (see taglist.h).
 *
 * Owns: nothing between calls. Walks the text once per question with
 * explicit lengths; the text may hold any byte (a TXT record from DNS).
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "taglist.h"

struct span {
	const char	*p;
	size_t		 n;
};

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static struct span
trim(const char *p, size_t n)
{
	while (n > 0 && is_wsp(*p)) {
		p++;
		n--;
	}
	while (n > 0 && is_wsp(p[n - 1]))
		n--;
	return (struct span){ p, n };
}

static bool
name_ok(struct span s)
{
	if (s.n == 0 || !isalpha((unsigned char)s.p[0]))
		return false;
	for (size_t i = 1; i < s.n; i++)
		if (!isalnum((unsigned char)s.p[i]) && s.p[i] != '_')
			return false;
	return true;
}

/* The next element from *pos: 1 with name and value, 0 at the end, -1 if
 * malformed. An empty element (";;", a trailing ';') is skipped. */
static int
next_tag(const char *txt, size_t len, size_t *pos, struct span *name, struct span *value)
{
	while (*pos < len) {
		size_t start = *pos, end = start;
		while (end < len && txt[end] != ';')
			end++;
		*pos = end < len ? end + 1 : end;
		struct span el = trim(txt + start, end - start);
		if (el.n == 0)
			continue;
		const char *eq = memchr(el.p, '=', el.n);
		if (eq == NULL)
			return -1;
		*name = trim(el.p, (size_t)(eq - el.p));
		*value = trim(eq + 1, el.n - (size_t)(eq - el.p) - 1);
		return name_ok(*name) ? 1 : -1;
	}
	return 0;
}

int
taglist_valid(const char *txt, size_t len)
{
	struct span n, v;
	size_t pos = 0;
	int r;

	while ((r = next_tag(txt, len, &pos, &n, &v)) == 1)
		;
	return r == 0 ? 0 : -1;
}

static int
copy_out(struct span s, char *out, size_t size)
{
	if (s.n >= size)
		return -1;
	memcpy(out, s.p, s.n);
	out[s.n] = '\0';
	return 1;
}

int
taglist_get(const char *txt, size_t len, const char *name, char *out, size_t size)
{
	size_t pos = 0, nl = strlen(name);
	struct span n, v;
	int r;

	while ((r = next_tag(txt, len, &pos, &n, &v)) != 0) {
		if (r == -1)
			continue;	/* a broken element elsewhere does not hide this one */
		if (n.n == nl && memcmp(n.p, name, nl) == 0)
			return copy_out(v, out, size);
	}
	return 0;
}

int
taglist_first(const char *txt, size_t len, char *name, size_t nsize, char *value,
    size_t vsize)
{
	size_t pos = 0;
	struct span n, v;

	if (next_tag(txt, len, &pos, &n, &v) != 1 || copy_out(n, name, nsize) != 1 ||
	    copy_out(v, value, vsize) != 1)
		return 0;
	return 1;
}
