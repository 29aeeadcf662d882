/*
 * lib/addr.c - strict RFC 5321 address grammar.
 *
 * Owns: Dot-string / Quoted-string local parts, LDH domains, address
 * literals and source routes. Input is (pointer, length) and untrusted; no
 * byte outside the grammar is accepted. Why strict but complete: open-relay
 * probes hide routing in '%', '!', quotes and literals, so every form is
 * parsed into (local, domain) once, here, and the relay decision is made on
 * the domain alone. '%' and '!' are ordinary local-part characters and are
 * never interpreted.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <idn2.h>
#include <unistr.h>

#include "addr.h"
#include "addr_intl.h"
#include "utf8.h"

const char *
addr_status_text(enum addr_status s)
{
	switch (s) {
	case ADDR_OK:		return "ok";
	case ADDR_SYNTAX:	return "syntax error in address";
	case ADDR_TOO_LONG:	return "address too long";
	case ADDR_NO_DOMAIN:	return "address has no domain";
	case ADDR_BAD_DOMAIN:	return "invalid domain";
	case ADDR_BAD_LOCAL:	return "invalid local part";
	case ADDR_NON_ASCII:	return "non-ASCII address";
	}
	return "unknown";
}

/* RFC 5322 atext, extended by RFC 6531 3.3 with UTF8-non-ascii: a byte of
 * 0x80 or above is accepted here only because every caller has checked
 * first that the whole string is clean UTF-8 (lib/addr_intl.c). */
static bool
is_atext(unsigned char c)
{
	return isalnum(c) || c >= 0x80 ||
	    (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static bool
is_dot_string(const char *s, size_t len)
{
	bool prev_dot = true;	/* no leading dot */

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (prev_dot)
				return false;
			prev_dot = true;
		} else if (is_atext(c))
			prev_dot = false;
		else
			return false;
	}
	return !prev_dot;	/* no trailing dot */
}

bool
domain_is_valid(const char *s, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > ADDR_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!(isalnum(c) || c == '-') || c > 0x7f)
			return false;
		if (label == 0 && c == '-')
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && s[len - 1] != '-';
}

static enum addr_status
parse_literal(const char *s, size_t len)
{
	char buf[64];
	unsigned char tmp[16];

	/* s includes the brackets */
	if (len < 3 || len - 2 >= sizeof(buf))
		return ADDR_BAD_DOMAIN;
	memcpy(buf, s + 1, len - 2);
	buf[len - 2] = '\0';
	if (strncasecmp(buf, "IPv6:", 5) == 0)
		return inet_pton(AF_INET6, buf + 5, tmp) == 1 ? ADDR_OK : ADDR_BAD_DOMAIN;
	return inet_pton(AF_INET, buf, tmp) == 1 ? ADDR_OK : ADDR_BAD_DOMAIN;
}

/* Length of a quoted string starting at s[0] == '"', or 0 if malformed. */
static size_t
quoted_len(const char *s, size_t len, bool *has_8bit)
{
	for (size_t i = 1; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x80)
			*has_8bit = true;
		if (c == '"')
			return i + 1;
		if (c == '\\') {
			if (i + 1 >= len)
				return 0;
			unsigned char n = (unsigned char)s[i + 1];
			if (n < 32 || n > 126)
				return 0;
			i++;
			continue;
		}
		if (c < 32 || c == 127)	/* qtextSMTP excludes controls */
			return 0;
	}
	return 0;
}

/* The domain of a mailbox into out->domain: a literal, an LDH name
 * (lowercased) or U-labels (to A-labels, out->u_label). */
static enum addr_status
parse_domain(const char *dom, size_t dom_len, struct mailaddr *out)
{
	if (dom_len == 0)
		return ADDR_NO_DOMAIN;
	if (dom[0] == '[') {
		if (dom[dom_len - 1] != ']' || parse_literal(dom, dom_len) != ADDR_OK)
			return ADDR_BAD_DOMAIN;
		out->is_literal = true;
	} else if (utf8_has_8bit(dom, dom_len)) {
		if (addr_domain_alabel(dom, dom_len, out->domain,
		    sizeof(out->domain)) == -1)
			return ADDR_BAD_DOMAIN;
		out->u_label = true;
		return ADDR_OK;
	} else if (!domain_is_valid(dom, dom_len))
		return ADDR_BAD_DOMAIN;
	if (dom_len > ADDR_DOMAIN_MAX)
		return ADDR_TOO_LONG;
	for (size_t i = 0; i < dom_len; i++)
		out->domain[i] = (char)tolower((unsigned char)dom[i]);
	out->domain[dom_len] = '\0';
	return ADDR_OK;
}

/*
 * NFC of a UTF-8 local part as written (quoted or not) into buf. The
 * result must obey the grammar the input did, and still be UTF-8: NFC
 * maps three characters to ASCII (U+037E to ';', U+1FEF to '`', U+212A
 * KELVIN SIGN to 'K'; Unicode's singleton decompositions), which can make
 * an unquoted local part invalid, or name an ASCII mailbox that a session
 * without SMTPUTF8 (RFC 6531 3.4) could then reach; and a mark composes
 * with a quoted-pair (backslash, 'a', U+0301) or with '<' '=' '>' (U+0338),
 * which can break or change the quoting. Such a local part is refused
 * rather than rewritten: no mail program writes one.
 */
static int
local_nfc_checked(const char *s, size_t len, char *buf, size_t bufsize)
{
	bool unused;
	int r = addr_local_nfc(s, len, buf, bufsize);

	if (r == -1 || !utf8_has_8bit(buf, (size_t)r))
		return -1;
	if (s[0] == '"' ? quoted_len(buf, (size_t)r, &unused) != (size_t)r :
	    !is_dot_string(buf, (size_t)r))
		return -1;
	return r;
}

/* The canonical local part into out->local: NFC when it is UTF-8
 * (out->utf8_local), then unquoted when the content is a dot-string. */
static enum addr_status
store_local(const char *s, size_t local_len, struct mailaddr *out)
{
	char nfc[sizeof(out->local)];
	const char *p = s;
	size_t n = local_len;

	if (utf8_has_8bit(s, local_len)) {
		int r = local_nfc_checked(s, local_len, nfc, sizeof(nfc));
		if (r == -1)
			return ADDR_BAD_LOCAL;
		p = nfc;
		n = (size_t)r;
		out->utf8_local = true;
	}
	if (p[0] == '"' && n >= 2 && is_dot_string(p + 1, n - 2) &&
	    memchr(p + 1, '\\', n - 2) == NULL) {
		p++;
		n -= 2;
	}
	if (n > ADDR_LOCAL_MAX)
		return ADDR_TOO_LONG;
	memcpy(out->local, p, n);
	out->local[n] = '\0';
	return ADDR_OK;
}

enum addr_status
addr_parse_mailbox(const char *s, size_t len, struct mailaddr *out)
{
	size_t local_len;
	bool has_8bit = false;
	enum addr_status st;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return ADDR_SYNTAX;
	if (len > ADDR_MAX - 2)
		return ADDR_TOO_LONG;
	/* 8-bit bytes must be clean UTF-8 (RFC 6531 3.3) before the grammar
	 * below treats them as atext/qtext. */
	if (utf8_has_8bit(s, len) && u8_check((const uint8_t *)s, len) != NULL)
		return ADDR_NON_ASCII;

	if (s[0] == '"') {
		if ((local_len = quoted_len(s, len, &has_8bit)) == 0)
			return ADDR_SYNTAX;
		if (local_len >= len || s[local_len] != '@')
			return local_len >= len ? ADDR_NO_DOMAIN : ADDR_SYNTAX;
	} else {
		const char *at = memchr(s, '@', len);
		if (at == NULL) {
			/* "a!b!c" or "user": report missing domain if it is
			 * otherwise a plausible local part. */
			return is_dot_string(s, len) ? ADDR_NO_DOMAIN : ADDR_SYNTAX;
		}
		local_len = (size_t)(at - s);
		if (!is_dot_string(s, local_len))
			return ADDR_BAD_LOCAL;
	}
	if (local_len > ADDR_LOCAL_MAX)
		return ADDR_TOO_LONG;
	st = parse_domain(s + local_len + 1, len - local_len - 1, out);
	if (st != ADDR_OK)
		return st;
	return store_local(s, local_len, out);
}

/* Skips an A-d-l ("@a.example,@b.example:"); returns bytes consumed or 0. */
static size_t
skip_source_route(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && s[i] == '@') {
		size_t start = ++i;
		while (i < len && s[i] != ',' && s[i] != ':')
			i++;
		if (i >= len)
			return 0;
		if (s[start] == '[') {
			if (parse_literal(s + start, i - start) != ADDR_OK)
				return 0;
		} else if (!domain_is_valid(s + start, i - start))
			return 0;
		if (s[i] == ':')
			return i + 1;
		i++;	/* ',' */
	}
	return 0;
}

enum addr_status
addr_parse_path(const char *s, size_t len, bool allow_null,
    struct mailaddr *out, bool *is_null, size_t *consumed)
{
	size_t i = 1, end;
	bool has_8bit = false;

	*is_null = false;
	*consumed = 0;
	memset(out, 0, sizeof(*out));
	if (len < 2 || s[0] != '<')
		return ADDR_SYNTAX;
	if (s[1] == '>') {
		if (!allow_null)
			return ADDR_SYNTAX;
		*is_null = true;
		*consumed = 2;
		return ADDR_OK;
	}
	if (s[1] == '@') {
		size_t r = skip_source_route(s + 1, len - 1);
		if (r == 0)
			return ADDR_SYNTAX;
		i += r;
	}
	/* Find the closing '>' outside a quoted local part. */
	end = i;
	if (end < len && s[end] == '"') {
		size_t q = quoted_len(s + end, len - end, &has_8bit);
		if (q == 0)
			return ADDR_SYNTAX;
		end += q;
	}
	while (end < len && s[end] != '>')
		end++;
	if (end >= len)
		return ADDR_SYNTAX;
	if (end + 1 > ADDR_MAX)
		return ADDR_TOO_LONG;
	enum addr_status st = addr_parse_mailbox(s + i, end - i, out);
	if (st != ADDR_OK)
		return st;
	*consumed = end + 1;
	return ADDR_OK;
}

int
addr_format(const struct mailaddr *a, char *buf, size_t size)
{
	size_t l = strlen(a->local), d = strlen(a->domain);

	if (l + 1 + d + 1 > size)
		return -1;
	memcpy(buf, a->local, l);
	buf[l] = '@';
	memcpy(buf + l + 1, a->domain, d);
	buf[l + 1 + d] = '\0';
	return 0;
}

int
domain_normalize_input(const char *in, char *out, size_t outsize,
    const char **why)
{
	char *ascii = NULL;
	size_t n = strlen(in);

	if (n == 0) {
		*why = "empty domain";
		return -1;
	}
	if (n > ADDR_DOMAIN_MAX) {
		*why = "domain longer than 255 octets";
		return -1;
	}
	if (idn2_to_ascii_8z(in, &ascii, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT) !=
	    IDN2_OK) {
		*why = "domain is not a valid (internationalized) domain name";
		return -1;
	}
	n = strlen(ascii);
	for (size_t i = 0; i < n; i++)
		ascii[i] = (char)tolower((unsigned char)ascii[i]);
	if (!domain_is_valid(ascii, n) || n + 1 > outsize) {
		idn2_free(ascii);
		*why = "domain must be letters, digits, '-' and '.' labels";
		return -1;
	}
	memcpy(out, ascii, n + 1);
	idn2_free(ascii);
	return 0;
}

static const char local_grammar[] = "local part may contain only letters "
    "(any script), digits, . and !#$%&'*+-/=?^_`{|}~ (no leading, trailing or "
    "double dot)";

enum addr_status
addr_normalize_input(const char *in, char *out, size_t outsize,
    const char **why)
{
	const char *at = strrchr(in, '@');
	char local[4 * (ADDR_LOCAL_MAX + 3)], domain[ADDR_DOMAIN_MAX + 1];
	size_t ll;

	if (at == NULL) {
		*why = "missing '@' (expected user@domain)";
		return ADDR_NO_DOMAIN;
	}
	ll = (size_t)(at - in);
	if (ll == 0) {
		*why = "empty local part before '@'";
		return ADDR_BAD_LOCAL;
	}
	if (ll > ADDR_LOCAL_MAX) {
		*why = "local part longer than 64 octets";
		return ADDR_TOO_LONG;
	}
	/* The store key: lowercase (any script) and NFC, as lookup folds a
	 * recipient before asking (lib/addr_intl.h, addr_local_fold). */
	int r = addr_local_fold(in, ll, local, sizeof(local));
	if (r == -1 && utf8_has_8bit(in, ll)) {
		*why = "local part is not clean UTF-8";
		return ADDR_NON_ASCII;
	}
	if (r == -1) {
		*why = local_grammar;
		return ADDR_BAD_LOCAL;
	}
	ll = (size_t)r;
	if (ll > ADDR_LOCAL_MAX) {
		*why = "local part longer than 64 octets once lowercased";
		return ADDR_TOO_LONG;
	}
	if (!is_dot_string(local, ll)) {
		*why = local_grammar;
		return ADDR_BAD_LOCAL;
	}
	if (domain_normalize_input(at + 1, domain, sizeof(domain), why) == -1)
		return ADDR_BAD_DOMAIN;
	if (ll + 1 + strlen(domain) + 1 > outsize ||
	    ll + 1 + strlen(domain) > ADDR_MAX - 2) {
		*why = "address too long";
		return ADDR_TOO_LONG;
	}
	snprintf(out, outsize, "%s@%s", local, domain);
	return ADDR_OK;
}

bool
addr_login_is_valid(const char *login)
{
	size_t len = strlen(login);
	struct mailaddr a;
	char probe[ADDR_LOGIN_MAX + 16];

	if (len == 0 || len > ADDR_LOGIN_MAX || login[0] == '"' ||
	    utf8_has_8bit(login, len))
		return false;
	snprintf(probe, sizeof(probe), "%s@localhost", login);
	return addr_parse_mailbox(probe, strlen(probe), &a) == ADDR_OK &&
	    strcmp(a.local, login) == 0;
}
