/*
 * sendmail/addrlist.c - the addresses in an RFC 5322 address list
 * (section 3.4): what sendmail -t sends to, and where unqualified
 * addresses ("root", as cron writes them) get their domain.
 *
 * Owns: the tokenizer of address lists. Pure, bounded: one pass over
 * (pointer, length), no allocation; the fuzz target tests/fuzz/
 * fuzz_sendmail_addrlist.c feeds it anything. Why not submission/
 * headers.c's From: parser: a recipient list also has groups
 * ("undisclosed-recipients:;") and unqualified addresses, which are
 * errors in a From: we check but normal in what local programs write.
 *
 * The grammar, as read here: a list of elements separated by ",";
 * an element is "phrase <addr-spec>" (only the angle part counts; a
 * source route "@a,@b:" in it is dropped), a bare addr-spec, or a group
 * "phrase: element, ... ;". Comments "(...)" nest and are skipped,
 * quoted strings and "\x" quoted pairs are kept as written. A control
 * byte anywhere (NUL first) makes the list unreadable.
 */
#include <string.h>

#include "sendmail.h"

struct scan {
	const char	*v;
	size_t		 len;
	size_t		 i;
	/* the addr-spec of the element being read, without comments/blanks */
	char		 spec[ADDR_MAX + 1];
	size_t		 speclen;
	size_t		 spec_end;	/* where its last token ended in v */
	bool		 spec_overflow;
	bool		 angle_seen;	/* this element had <...> */
};

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* NUL and the other control bytes are in no address (RFC 5322 3.2.3:
 * atext, qtext); one would cut the address short where C strings end. */
static bool
is_control(char c)
{
	return ((unsigned char)c < 0x20 && !is_blank(c)) || c == 0x7f;
}

/* Every byte of v outside comments is checked once, here. */
static bool
has_control(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (is_control(v[i]))
			return true;
	return false;
}

/* Skips a comment starting at v[i] == '('; false if it never closes. */
static bool
skip_comment(struct scan *s)
{
	unsigned depth = 0;

	for (; s->i < s->len; s->i++) {
		char c = s->v[s->i];
		if (c == '\\') {
			s->i++;
			continue;
		}
		if (c == '(')
			depth++;
		else if (c == ')' && --depth == 0) {
			s->i++;
			return true;
		}
	}
	return false;
}

static void
spec_put(struct scan *s, const char *p, size_t n)
{
	if (s->speclen + n > ADDR_MAX) {
		s->spec_overflow = true;
		return;
	}
	memcpy(s->spec + s->speclen, p, n);
	s->speclen += n;
}

/* A quoted string at v[i] == '"', copied into the spec with its quotes
 * when keep; false if it never closes. */
static bool
take_quoted(struct scan *s, bool keep)
{
	size_t start = s->i++;

	for (; s->i < s->len; s->i++) {
		if (s->v[s->i] == '\\') {
			s->i++;
			continue;
		}
		if (s->v[s->i] == '"') {
			s->i++;
			if (keep)
				spec_put(s, s->v + start, s->i - start);
			return true;
		}
	}
	return false;
}

static void
spec_reset(struct scan *s)
{
	s->speclen = 0;
	s->spec_end = 0;
	s->spec_overflow = false;
	s->angle_seen = false;
}

/* <addr-spec> at v[i] == '<': the spec becomes its content, without a
 * source route. */
static bool
take_angle(struct scan *s)
{
	s->i++;
	s->speclen = 0;
	s->spec_overflow = false;
	s->angle_seen = true;
	while (s->i < s->len && s->v[s->i] != '>') {
		char c = s->v[s->i];
		if (c == '(') {
			if (!skip_comment(s))
				return false;
			continue;
		}
		if (c == '"') {
			if (!take_quoted(s, true))
				return false;
			s->spec_end = s->i;
			continue;
		}
		if (c == '<')
			return false;
		if (c == ':')
			s->speclen = 0;		/* "@a,@b:" was a source route */
		else if (!is_blank(c)) {
			spec_put(s, &c, 1);
			s->spec_end = s->i + 1;
		}
		s->i++;
	}
	if (s->i == s->len)
		return false;
	s->i++;		/* '>' */
	return true;
}

/* The element ends: its address, if it has one, is stored. */
static enum sm_list_status
element_end(struct scan *s, struct sm_addr *out, size_t max, size_t *n)
{
	if (s->spec_overflow)
		return SM_LIST_TOO_LONG;
	if (s->speclen == 0) {
		spec_reset(s);
		return SM_LIST_OK;	/* an empty element, or an empty group */
	}
	if (*n == max)
		return SM_LIST_TOO_MANY;
	memcpy(out[*n].text, s->spec, s->speclen);
	out[*n].text[s->speclen] = '\0';
	out[*n].end = s->spec_end;
	out[*n].qualified = memchr(s->spec, '@', s->speclen) != NULL;
	(*n)++;
	spec_reset(s);
	return SM_LIST_OK;
}

/* A word outside <>: part of a bare addr-spec, unless <> follows (then
 * it was a display name, which take_angle forgets). */
static void
take_word_char(struct scan *s, char c)
{
	if (s->angle_seen)
		return;		/* text after <...>: not an address */
	spec_put(s, &c, 1);
	s->spec_end = s->i + 1;
}

enum sm_list_status
sm_addrlist_parse(const char *value, size_t len, struct sm_addr *out,
    size_t max, size_t *n)
{
	struct scan s = { .v = value, .len = len };
	enum sm_list_status st;

	*n = 0;
	if (has_control(value, len))
		return SM_LIST_SYNTAX;
	while (s.i < s.len) {
		char c = s.v[s.i];
		if (c == '(') {
			if (!skip_comment(&s))
				return SM_LIST_SYNTAX;
		} else if (c == '"') {
			if (!take_quoted(&s, !s.angle_seen))
				return SM_LIST_SYNTAX;
			if (!s.angle_seen)
				s.spec_end = s.i;
		} else if (c == '<') {
			if (!take_angle(&s))
				return SM_LIST_SYNTAX;
		} else if (c == '>') {
			return SM_LIST_SYNTAX;
		} else if (c == ',' || c == ';') {
			if ((st = element_end(&s, out, max, n)) != SM_LIST_OK)
				return st;
			s.i++;
		} else if (c == ':' && !s.angle_seen) {
			spec_reset(&s);		/* a group's display name */
			s.i++;
		} else {
			if (c == '\\' && s.i + 1 < s.len) {
				take_word_char(&s, c);
				s.i++;
				c = s.v[s.i];
			}
			if (!is_blank(c))
				take_word_char(&s, c);
			s.i++;
		}
	}
	return element_end(&s, out, max, n);
}

enum addr_status
sm_addr_complete(const char *a, const char *domain, char *out, size_t size)
{
	char full[ADDR_MAX * 2 + 2];
	struct mailaddr m;
	enum addr_status st;
	size_t len = strlen(a);

	if (len > ADDR_MAX)
		return ADDR_TOO_LONG;
	if (strchr(a, '@') == NULL) {
		if (strlen(domain) + len + 1 >= sizeof(full))
			return ADDR_TOO_LONG;
		memcpy(full, a, len);
		full[len] = '@';
		memcpy(full + len + 1, domain, strlen(domain) + 1);
	} else
		memcpy(full, a, len + 1);
	if ((st = addr_parse_mailbox(full, strlen(full), &m)) != ADDR_OK)
		return st;
	/* sendmail(8) submits without SMTPUTF8 (RFC 6531): ASCII only. */
	if (ADDR_NEEDS_SMTPUTF8(&m))
		return ADDR_NON_ASCII;
	return addr_format(&m, out, size) == -1 ? ADDR_TOO_LONG : ADDR_OK;
}
