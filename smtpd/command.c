/*
 * smtpd/command.c - the SMTP command grammar (RFC 5321 4.1, RFC 1870,
 * RFC 6152), as pure functions over (pointer, length).
 *
 * Owns: the verb table (name and argument policy, one row per verb) and the
 * ESMTP parameter rules. Why pure: the fuzzer drives exactly this code, and
 * a parser that cannot touch session state cannot corrupt it. Leniency is
 * deliberate and small: case-insensitive verbs, blanks after "FROM:"/"TO:"
 * and trailing blanks are tolerated, because real clients send them and
 * they change no meaning. Everything else is strict.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "command.h"
#include "utf8.h"

enum arg_policy { ARG_NONE, ARG_OPTIONAL, ARG_REQUIRED };

struct verb_row {
	const char	*name;
	enum smtp_verb	 verb;
	enum arg_policy	 args;
};

static const struct verb_row verb_table[] = {
	{ "HELO",	VERB_HELO,	ARG_REQUIRED },
	{ "EHLO",	VERB_EHLO,	ARG_REQUIRED },
	{ "MAIL",	VERB_MAIL,	ARG_REQUIRED },
	{ "RCPT",	VERB_RCPT,	ARG_REQUIRED },
	{ "DATA",	VERB_DATA,	ARG_NONE },
	{ "RSET",	VERB_RSET,	ARG_NONE },
	{ "NOOP",	VERB_NOOP,	ARG_OPTIONAL },
	{ "QUIT",	VERB_QUIT,	ARG_NONE },
	{ "VRFY",	VERB_VRFY,	ARG_REQUIRED },
	{ "EXPN",	VERB_EXPN,	ARG_REQUIRED },
	{ "HELP",	VERB_HELP,	ARG_OPTIONAL },
	{ "STARTTLS",	VERB_STARTTLS,	ARG_NONE },
	{ "AUTH",	VERB_AUTH,	ARG_REQUIRED },
};

#define NVERBS	(sizeof(verb_table) / sizeof(verb_table[0]))

const char *
command_verb_name(enum smtp_verb v)
{
	for (size_t i = 0; i < NVERBS; i++)
		if (verb_table[i].verb == v)
			return verb_table[i].name;
	return "UNKNOWN";
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static const struct verb_row *
verb_lookup(const char *s, size_t len)
{
	for (size_t i = 0; i < NVERBS; i++)
		if (strlen(verb_table[i].name) == len &&
		    strncasecmp(verb_table[i].name, s, len) == 0)
			return &verb_table[i];
	return NULL;
}

enum cmd_status
command_parse(const char *line, size_t len, struct smtp_command *out)
{
	size_t vlen = 0, i;

	out->verb = VERB_NONE;
	out->arg = "";
	out->arglen = 0;
	if (memchr(line, '\0', len) != NULL)
		return CMD_NUL;
	while (len > 0 && is_blank(line[len - 1]))
		len--;
	while (vlen < len && line[vlen] != ' ')
		vlen++;
	const struct verb_row *row = verb_lookup(line, vlen);
	if (row == NULL)
		return CMD_UNKNOWN;
	out->verb = row->verb;
	for (i = vlen; i < len && line[i] == ' '; i++)
		;
	out->arg = line + i;
	out->arglen = len - i;
	if (row->args == ARG_NONE && out->arglen > 0)
		return CMD_SYNTAX;
	if (row->args == ARG_REQUIRED && out->arglen == 0)
		return CMD_SYNTAX;
	return CMD_OK;
}

/* Consumes a case-insensitive prefix such as "FROM:" plus optional blanks. */
static bool
take_prefix(const char **s, size_t *len, const char *prefix)
{
	size_t pl = strlen(prefix);

	if (*len < pl || strncasecmp(*s, prefix, pl) != 0)
		return false;
	*s += pl;
	*len -= pl;
	while (*len > 0 && **s == ' ') {
		(*s)++;
		(*len)--;
	}
	return true;
}

/* RFC 5321 4.1.2: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
static bool
is_keyword(const char *s, size_t len)
{
	if (len == 0 || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

/* esmtp-value = 1*(%d33-60 / %d62-126) */
static bool
is_param_value(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 33 || c > 126 || c == '=')
			return false;
	}
	return true;
}

struct param {
	const char	*key;
	size_t		 keylen;
	const char	*value;	/* NULL if no '=' */
	size_t		 valuelen;
};

/*
 * Splits " KEY[=VALUE] KEY[=VALUE]..." (what follows the path) into params.
 * Returns CMD_OK, or CMD_PARAM_BAD for malformed syntax.
 */
static enum cmd_status
split_params(const char *s, size_t len, struct param *p, size_t max, size_t *np)
{
	size_t i = 0;

	*np = 0;
	while (i < len) {
		if (s[i] != ' ')
			return CMD_PARAM_BAD;
		while (i < len && s[i] == ' ')
			i++;
		if (i == len)
			break;
		size_t start = i;
		while (i < len && s[i] != ' ')
			i++;
		if (*np == max)
			return CMD_PARAM_BAD;
		const char *tok = s + start;
		size_t toklen = i - start;
		const char *eq = memchr(tok, '=', toklen);
		struct param *cur = &p[(*np)++];
		cur->key = tok;
		cur->keylen = eq != NULL ? (size_t)(eq - tok) : toklen;
		cur->value = eq != NULL ? eq + 1 : NULL;
		cur->valuelen = eq != NULL ? toklen - cur->keylen - 1 : 0;
		if (!is_keyword(cur->key, cur->keylen) ||
		    (cur->value != NULL && !is_param_value(cur->value, cur->valuelen)))
			return CMD_PARAM_BAD;
	}
	return CMD_OK;
}

static bool
key_is(const struct param *p, const char *name)
{
	return p->keylen == strlen(name) && strncasecmp(p->key, name, p->keylen) == 0;
}

static bool
value_is(const struct param *p, const char *v)
{
	return p->valuelen == strlen(v) && strncasecmp(p->value, v, p->valuelen) == 0;
}

/* RFC 1870: size-value = 1*20DIGIT, and it must fit in 64 bits. */
static enum cmd_status
parse_size_value(const struct param *p, uint64_t *out)
{
	uint64_t n = 0;

	if (p->value == NULL || p->valuelen > SMTP_SIZE_DIGITS_MAX)
		return CMD_PARAM_BAD;
	for (size_t i = 0; i < p->valuelen; i++) {
		unsigned d = (unsigned char)p->value[i] - '0';
		if (d > 9 || n > (UINT64_MAX - d) / 10)
			return CMD_PARAM_BAD;
		n = n * 10 + d;
	}
	*out = n;
	return CMD_OK;
}

/* RFC 3461 4: xtext = *( xchar / "+" 2HEXUPPER ), xchar = 33-126 but "+" "=" */
static bool
is_xtext(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '+')
			continue;
		if (i + 2 >= len || !isxdigit((unsigned char)s[i + 1]) ||
		    !isxdigit((unsigned char)s[i + 2]) ||
		    islower((unsigned char)s[i + 1]) || islower((unsigned char)s[i + 2]))
			return false;
		i += 2;
	}
	return true;
}

static enum cmd_status
apply_mail_param(const struct param *p, unsigned opts, struct mail_cmd *m)
{
	if ((opts & MAIL_OPT_AUTH_PARAM) && key_is(p, "AUTH")) {
		/* RFC 4954 section 5: AUTH=<> or AUTH=xtext; we trust our own
		 * login, not the client's claim, so the value is only checked. */
		if (m->has_auth || p->value == NULL || !is_xtext(p->value, p->valuelen))
			return CMD_PARAM_BAD;
		m->has_auth = true;
		return CMD_OK;
	}
	if ((opts & MAIL_OPT_SMTPUTF8) && key_is(p, "SMTPUTF8")) {
		/* RFC 6531 3.4: a keyword without a value, given once. */
		if (m->smtputf8 || p->value != NULL)
			return CMD_PARAM_BAD;
		m->smtputf8 = true;
		return CMD_OK;
	}
	if (key_is(p, "SIZE")) {
		if (m->has_size)
			return CMD_PARAM_BAD;
		m->has_size = true;
		return parse_size_value(p, &m->size);
	}
	if (key_is(p, "BODY")) {
		if (m->body != BODY_UNSPECIFIED || p->value == NULL)
			return CMD_PARAM_BAD;
		if (value_is(p, "7BIT"))
			m->body = BODY_7BIT;
		else if (value_is(p, "8BITMIME"))
			m->body = BODY_8BITMIME;
		else
			return CMD_PARAM_BAD;
		return CMD_OK;
	}
	return CMD_PARAM_UNKNOWN;
}

/* How far a path that failed to parse reaches: up to the first blank after
 * its '>' (or the whole argument), so that 8-bit bytes in the parameters
 * are not blamed on the address. */
static size_t
path_extent(const char *s, size_t len)
{
	const char *gt = memchr(s, '>', len);

	return gt == NULL ? len : (size_t)(gt - s) + 1;
}

/* True if the parameter text after a path names SMTPUTF8: only used to
 * choose the reply for a MAIL whose path fails to parse. */
static bool
mentions_smtputf8(const char *s, size_t len)
{
	static const char kw[] = " SMTPUTF8";
	size_t k = sizeof(kw) - 1;

	for (size_t i = 0; i + k <= len; i++)
		if (strncasecmp(s + i, kw, k) == 0 && (i + k == len || s[i + k] == ' '))
			return true;
	return false;
}

/* The path at the start of *s; on success *s points after it. A path with
 * 8-bit bytes is ADDR_NON_ASCII (553 5.6.7, RFC 6531 3.4) when the
 * transaction has no SMTPUTF8, whatever else is wrong with it. */
static enum cmd_status
take_path(const char **s, size_t *len, bool allow_null, bool smtputf8,
    struct mailaddr *a, bool *is_null, enum addr_status *st)
{
	size_t consumed;

	*st = addr_parse_path(*s, *len, allow_null, a, is_null, &consumed);
	if (!smtputf8 && (*st == ADDR_OK ? ADDR_NEEDS_SMTPUTF8(a) :
	    utf8_has_8bit(*s, path_extent(*s, *len)))) {
		*st = ADDR_NON_ASCII;
		return CMD_ADDR;
	}
	if (*st != ADDR_OK)
		return CMD_ADDR;
	*s += consumed;
	*len -= consumed;
	if (*len > 0 && **s != ' ') {
		*st = ADDR_SYNTAX;	/* "<a@b.test>junk" */
		return CMD_ADDR;
	}
	return CMD_OK;
}

enum cmd_status
command_parse_mail(const char *arg, size_t len, struct mail_cmd *m)
{
	return command_parse_mail_opts(arg, len, 0, m);
}

enum cmd_status
command_parse_mail_opts(const char *arg, size_t len, unsigned opts,
    struct mail_cmd *m)
{
	struct param params[SMTP_PARAMS_MAX];
	size_t np;
	enum cmd_status st;

	memset(m, 0, sizeof(*m));
	m->addr = ADDR_OK;
	if (memchr(arg, '\0', len) != NULL)
		return CMD_NUL;
	if (!take_prefix(&arg, &len, "FROM:"))
		return CMD_SYNTAX;
	/* The path comes before the parameter that allows UTF-8 in it: parse
	 * it as if SMTPUTF8 were given and judge once the parameters are in. */
	const char *path = arg;
	size_t pathlen = len;
	if (take_path(&arg, &len, true, true, &m->from, &m->is_null, &m->addr) != CMD_OK) {
		if ((opts & MAIL_OPT_SMTPUTF8) == 0 || !mentions_smtputf8(path, pathlen))
			if (utf8_has_8bit(path, path_extent(path, pathlen)))
				m->addr = ADDR_NON_ASCII;
		return CMD_ADDR;
	}
	if ((st = split_params(arg, len, params, SMTP_PARAMS_MAX, &np)) != CMD_OK)
		return st;
	/* Report a malformed parameter before an unsupported one. */
	enum cmd_status worst = CMD_OK;
	for (size_t i = 0; i < np; i++) {
		st = apply_mail_param(&params[i], opts, m);
		if (st == CMD_PARAM_BAD)
			return st;
		if (st != CMD_OK)
			worst = st;
	}
	if (worst == CMD_OK && !m->is_null && !m->smtputf8 &&
	    ADDR_NEEDS_SMTPUTF8(&m->from)) {
		m->addr = ADDR_NON_ASCII;	/* RFC 6531 3.4: 553 5.6.7 */
		return CMD_ADDR;
	}
	return worst;
}

static bool
is_bare_postmaster(const char *s, size_t len)
{
	static const char pm[] = "<postmaster>";

	return len >= sizeof(pm) - 1 && strncasecmp(s, pm, sizeof(pm) - 1) == 0 &&
	    (len == sizeof(pm) - 1 || s[sizeof(pm) - 1] == ' ');
}

enum cmd_status
command_parse_rcpt(const char *arg, size_t len, struct rcpt_cmd *r)
{
	return command_parse_rcpt_opts(arg, len, 0, r);
}

enum cmd_status
command_parse_rcpt_opts(const char *arg, size_t len, unsigned opts,
    struct rcpt_cmd *r)
{
	struct param params[SMTP_PARAMS_MAX];
	size_t np;
	bool is_null;
	enum cmd_status st;

	memset(r, 0, sizeof(*r));
	r->addr = ADDR_OK;
	if (memchr(arg, '\0', len) != NULL)
		return CMD_NUL;
	if (!take_prefix(&arg, &len, "TO:"))
		return CMD_SYNTAX;
	if (is_bare_postmaster(arg, len)) {
		r->is_postmaster = true;
		memcpy(r->to.local, "postmaster", sizeof("postmaster"));
		arg += sizeof("<postmaster>") - 1;
		len -= sizeof("<postmaster>") - 1;
	} else if (take_path(&arg, &len, false, (opts & RCPT_OPT_SMTPUTF8) != 0,
	    &r->to, &is_null, &r->addr) != CMD_OK)
		return CMD_ADDR;
	if ((st = split_params(arg, len, params, SMTP_PARAMS_MAX, &np)) != CMD_OK)
		return st;
	return np > 0 ? CMD_PARAM_UNKNOWN : CMD_OK;
}

static bool
is_helo_char(unsigned char c)
{
	return isalnum(c) || (c != 0 && strchr("-._[]:", c) != NULL);
}

enum cmd_status
command_parse_helo(const char *arg, size_t len, char *out, size_t outsize)
{
	if (outsize > 0)
		out[0] = '\0';
	if (len == 0 || len > SMTP_HELO_MAX || len >= outsize)
		return CMD_BAD_HELO;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)arg[i] >= 0x80 || !is_helo_char((unsigned char)arg[i]))
			return CMD_BAD_HELO;
	memcpy(out, arg, len);
	out[len] = '\0';
	return CMD_OK;
}
