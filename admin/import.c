/*
 * admin/import.c - the pure parser of `mxctl import` files (see import.h).
 *
 * Owns: line splitting, the four directives, name normalization and the
 * "defined twice in this file" check. Input is untrusted bytes of a given
 * length: NUL and control bytes are refused, every copy is bounded, and an
 * error names the first bad line. Nothing here touches the store; mxctl
 * checks the parsed records against it inside the one import transaction.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import.h"

#define IMPORT_WORDS_MAX	8

struct parse {
	unsigned	 line;
	unsigned	*errline;
	char		*err;
	size_t		 errlen;
};

static int
perr(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	*p->errline = p->line;
	va_start(ap, fmt);
	vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- names --------------------------------------------------------------- */

static int
norm_address(struct parse *p, const char *what, const char *in, char *out,
    size_t outsize)
{
	const char *why;

	if (addr_normalize_input(in, out, outsize, &why) != ADDR_OK)
		return perr(p, "%s '%.100s': %s", what, in, why);
	return 0;
}

static int
norm_domain(struct parse *p, const char *in, char *out, size_t outsize)
{
	const char *why;

	if (domain_normalize_input(in, out, outsize, &why) == -1)
		return perr(p, "domain '%.100s': %s", in, why);
	return 0;
}

int
import_parse_targets(const char *list, char (*targets)[ADDR_MAX + 1],
    unsigned max, char *err, size_t errlen)
{
	char word[ADDR_MAX + 2];
	const char *why, *s = list;
	unsigned n = 0;

	for (;;) {
		size_t len = strcspn(s, ",");
		if (len == 0) {
			snprintf(err, errlen, "empty target in '%.100s' (expected TARGET[,TARGET...])", list);
			return -1;
		}
		if (len >= sizeof(word)) {
			snprintf(err, errlen, "target '%.40s...' longer than %d octets", s, ADDR_MAX);
			return -1;
		}
		if (n == max) {
			snprintf(err, errlen, "more than %u targets", max);
			return -1;
		}
		memcpy(word, s, len);
		word[len] = '\0';
		if (addr_normalize_input(word, targets[n], sizeof(targets[n]), &why) != ADDR_OK) {
			snprintf(err, errlen, "target '%.100s': %s", word, why);
			return -1;
		}
		for (unsigned i = 0; i < n; i++)
			if (strcmp(targets[i], targets[n]) == 0) {
				snprintf(err, errlen, "target '%s' listed twice", targets[n]);
				return -1;
			}
		n++;
		if (s[len] == '\0')
			return (int)n;
		s += len + 1;
	}
}

/* ---- hashes ---------------------------------------------------------------- */

static const char *
skip_digits(const char *s)
{
	const char *start = s;

	while (isdigit((unsigned char)*s))
		s++;
	return s > start && s - start <= 10 ? s : NULL;
}

static const char *
skip_b64(const char *s)
{
	const char *start = s;

	while (isalnum((unsigned char)*s) || *s == '+' || *s == '/')
		s++;
	return s > start ? s : NULL;
}

static const char *
skip_lit(const char *s, const char *lit)
{
	size_t n = strlen(lit);

	return s != NULL && strncmp(s, lit, n) == 0 ? s + n : NULL;
}

/* $argon2id$v=19$m=DIGITS,t=DIGITS,p=DIGITS$SALT$HASH, as crypto_pwhash_str */
bool
import_hash_is_valid(const char *h)
{
	const char *s = h;

	if (strlen(h) > IMPORT_HASH_MAX)
		return false;
	s = skip_lit(s, "$argon2id$v=19$m=");
	if (s != NULL)
		s = skip_digits(s);
	s = skip_lit(s, ",t=");
	if (s != NULL)
		s = skip_digits(s);
	s = skip_lit(s, ",p=");
	if (s != NULL)
		s = skip_digits(s);
	s = skip_lit(s, "$");
	if (s != NULL)
		s = skip_b64(s);
	s = skip_lit(s, "$");
	if (s != NULL)
		s = skip_b64(s);
	return s != NULL && *s == '\0';
}

/* ---- directives -------------------------------------------------------------- */

static struct import_record *
new_record(struct parse *p, struct import_set *set, enum import_kind kind)
{
	if (set->n == IMPORT_RECORDS_MAX) {
		perr(p, "more than %d records in one import: split the file", IMPORT_RECORDS_MAX);
		return NULL;
	}
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 64;
		struct import_record *r = realloc(set->rec, cap * sizeof(*r));
		if (r == NULL) {
			perr(p, "out of memory");
			return NULL;
		}
		set->rec = r;
		set->cap = cap;
	}
	struct import_record *r = &set->rec[set->n++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->line = p->line;
	return r;
}

static int
dir_domain(struct parse *p, struct import_set *set, char **w, int nw)
{
	struct import_record *r;

	if (nw != 2 && !(nw == 4 && strcmp(w[2], "catchall") == 0))
		return perr(p, "expected 'domain NAME' or 'domain NAME catchall ADDRESS'");
	if ((r = new_record(p, set, IMPORT_DOMAIN)) == NULL ||
	    norm_domain(p, w[1], r->name, sizeof(r->name)) == -1)
		return -1;
	if (nw == 4)
		return norm_address(p, "catch-all", w[3], r->catchall, sizeof(r->catchall));
	return 0;
}

static int
dir_user(struct parse *p, struct import_set *set, char **w, int nw)
{
	struct import_record *r;

	if (nw != 2 && nw != 3)
		return perr(p, "expected 'user ADDRESS [ARGON2ID-HASH]'");
	if ((r = new_record(p, set, IMPORT_USER)) == NULL ||
	    norm_address(p, "user", w[1], r->name, sizeof(r->name)) == -1)
		return -1;
	if (nw == 3) {
		if (!import_hash_is_valid(w[2]))
			return perr(p, "user %s: password hash is not an Argon2id string "
			    "($argon2id$v=19$m=...,t=...,p=...$SALT$HASH, as mxctl stores it)", r->name);
		memcpy(r->hash, w[2], strlen(w[2]) + 1);
	}
	return 0;
}

static int
dir_alias(struct parse *p, struct import_set *set, char **w, int nw)
{
	char err[IMPORT_ERR_MAX];
	char targets[IMPORT_TARGETS_MAX][ADDR_MAX + 1];
	struct import_record *r;
	int n;

	if (nw != 3)
		return perr(p, "expected 'alias ADDRESS TARGET[,TARGET...]' (no blanks in the list)");
	if ((r = new_record(p, set, IMPORT_ALIAS)) == NULL ||
	    norm_address(p, "alias", w[1], r->name, sizeof(r->name)) == -1)
		return -1;
	if ((n = import_parse_targets(w[2], targets, IMPORT_TARGETS_MAX, err, sizeof(err))) == -1)
		return perr(p, "alias %s: %s", r->name, err);
	/* exactly n: 20000 aliases must not cost 32 targets each */
	if ((r->targets = calloc((size_t)n, sizeof(*r->targets))) == NULL)
		return perr(p, "out of memory");
	memcpy(r->targets, targets, (size_t)n * sizeof(*r->targets));
	r->ntargets = (unsigned)n;
	return 0;
}

static int
dir_block(struct parse *p, struct import_set *set, char **w, int nw)
{
	struct import_record *r;

	if (nw != 2)
		return perr(p, "expected 'block ADDRESS'");
	if ((r = new_record(p, set, IMPORT_BLOCK)) == NULL)
		return -1;
	return norm_address(p, "block", w[1], r->name, sizeof(r->name));
}

static const struct {
	const char	*word;
	int		(*parse)(struct parse *, struct import_set *, char **, int);
} directives[] = {
	{ "domain",	dir_domain },
	{ "user",	dir_user },
	{ "alias",	dir_alias },
	{ "block",	dir_block },
};

/* Splits in place at blanks; returns the word count or -1 if too many. */
static int
split_words(char *s, char **w)
{
	int n = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			return n;
		if (n == IMPORT_WORDS_MAX)
			return -1;
		w[n++] = s;
		while (*s != '\0' && *s != ' ' && *s != '\t')
			s++;
		if (*s != '\0')
			*s++ = '\0';
	}
}

static int
parse_line(struct parse *p, struct import_set *set, char *line)
{
	char *w[IMPORT_WORDS_MAX];
	int nw = split_words(line, w);

	if (nw == -1)
		return perr(p, "too many words");
	if (nw == 0 || w[0][0] == '#')
		return 0;
	for (size_t i = 0; i < sizeof(directives) / sizeof(directives[0]); i++)
		if (strcmp(w[0], directives[i].word) == 0)
			return directives[i].parse(p, set, w, nw);
	return perr(p, "unknown directive '%.40s' (expected domain, user, alias or block)", w[0]);
}

/* ---- duplicates --------------------------------------------------------------- */

struct name_ref {
	int		 ns;	/* 0 domains, 1 users and aliases, 2 blocks */
	const char	*name;
	unsigned	 line;
};

static int
name_ref_cmp(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int c;

	if (x->ns != y->ns)
		return x->ns < y->ns ? -1 : 1;
	if ((c = strcmp(x->name, y->name)) != 0)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int
namespace_of(enum import_kind k)
{
	return k == IMPORT_DOMAIN ? 0 : k == IMPORT_BLOCK ? 2 : 1;
}

/* Reports the earliest line that repeats a name of an earlier line. */
static int
check_duplicates(struct parse *p, const struct import_set *set)
{
	struct name_ref *refs;
	unsigned bad = 0, first = 0;
	const char *name = NULL;

	if (set->n < 2)
		return 0;
	if ((refs = calloc(set->n, sizeof(*refs))) == NULL)
		return perr(p, "out of memory");
	for (size_t i = 0; i < set->n; i++) {
		refs[i].ns = namespace_of(set->rec[i].kind);
		refs[i].name = set->rec[i].name;
		refs[i].line = set->rec[i].line;
	}
	qsort(refs, set->n, sizeof(*refs), name_ref_cmp);
	for (size_t i = 1, g = 0; i < set->n; i++) {
		if (refs[i].ns != refs[g].ns || strcmp(refs[i].name, refs[g].name) != 0) {
			g = i;	/* a new group starts; its first line is the definition */
			continue;
		}
		if (bad == 0 || refs[i].line < bad) {
			bad = refs[i].line;
			first = refs[g].line;
			name = refs[i].name;
		}
	}
	if (bad != 0) {
		p->line = bad;
		perr(p, "'%s' is already defined on line %u", name, first);
	}
	free(refs);
	return bad != 0 ? -1 : 0;
}

/* ---- file ------------------------------------------------------------------------ */

static int
check_line_bytes(struct parse *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\0')
			return perr(p, "NUL byte");
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return perr(p, "control character 0x%02x", c);
	}
	return 0;
}

int
import_parse(const char *text, size_t len, struct import_set *out,
    unsigned *errline, char *err, size_t errlen)
{
	struct parse p = { 0, errline, err, errlen };
	char *line;
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	*errline = 0;
	if (len > IMPORT_FILE_MAX)
		return perr(&p, "file larger than %u bytes: split it", IMPORT_FILE_MAX);
	if ((line = malloc(IMPORT_LINE_MAX + 1)) == NULL)
		return perr(&p, "out of memory");
	while (i < len) {
		size_t start = i, ll;
		while (i < len && text[i] != '\n')
			i++;
		ll = i - start;
		p.line++;
		if (i < len)
			i++;	/* the '\n' */
		if (ll > 0 && text[start + ll - 1] == '\r')
			ll--;
		if (ll > IMPORT_LINE_MAX) {
			perr(&p, "line longer than %d bytes", IMPORT_LINE_MAX);
			goto fail;
		}
		if (check_line_bytes(&p, text + start, ll) == -1)
			goto fail;
		memcpy(line, text + start, ll);
		line[ll] = '\0';
		if (parse_line(&p, out, line) == -1)
			goto fail;
	}
	if (check_duplicates(&p, out) == -1)
		goto fail;
	free(line);
	return 0;
fail:
	free(line);
	import_free(out);
	return -1;
}

void
import_free(struct import_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->rec[i].targets);
	free(set->rec);
	memset(set, 0, sizeof(*set));
}
