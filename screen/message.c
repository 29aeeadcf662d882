/*
 * screen/message.c - the header index, the From: domains and body reads
 * of one received message (screen/message.h).
 *
 * Owns: the copy of the header section, the field index over it, and the
 * RFC 5322 3.4 mailbox parser that finds the author's domains. Why a
 * parser of our own for From: the DMARC author domain and the "is this
 * one of our domains" question must come from the address a mail reader
 * shows, not from a display name ("ceo@bank.example" <x@evil.example>);
 * so comments, quoted strings, groups and angle addresses are taken apart
 * exactly, and anything that does not parse is reported, never guessed.
 * Lines end at LF (with or without CR): smtpd refuses bare LF in DATA, so
 * a spool file always has CRLF, but nothing here depends on it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "message.h"
#include "utf8.h"

/* Reads up to MSG_HEADER_MAX bytes from the start of fd. */
static int
read_head(int fd, uint64_t size, char **out, size_t *len)
{
	size_t want = size < MSG_HEADER_MAX ? (size_t)size : MSG_HEADER_MAX;
	char *buf = malloc(want + 1);
	size_t got = 0;

	if (buf == NULL)
		return -1;
	while (got < want) {
		ssize_t n = pread(fd, buf + got, want - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return -1;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

/*
 * One line from pos: *eol is where its text ends (before CRLF or LF),
 * *next where the next line starts. Returns false if the buffer ends
 * before a line feed.
 */
static bool
line_at(const char *b, size_t len, size_t pos, size_t *eol, size_t *next)
{
	const char *lf = memchr(b + pos, '\n', len - pos);

	if (lf == NULL) {
		*eol = *next = len;
		return false;
	}
	*next = (size_t)(lf - b) + 1;
	*eol = (size_t)(lf - b);
	if (*eol > pos && b[*eol - 1] == '\r')
		(*eol)--;
	return true;
}

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * RFC 5322 3.6.8: a name of printable ASCII but ':' (WSP before the
 * colon is the obsolete form, 4.5.8), then the colon. Returns false if
 * the line is not a field.
 */
static bool
field_name(const char *b, size_t n, size_t *name_len, size_t *colon)
{
	size_t i = 0;

	while (i < n && b[i] != ':' && !is_wsp(b[i])) {
		if ((unsigned char)b[i] < 33 || (unsigned char)b[i] > 126)
			return false;
		i++;
	}
	*name_len = i;
	while (i < n && is_wsp(b[i]))
		i++;
	if (i == n || b[i] != ':' || *name_len == 0)
		return false;
	*colon = i;
	return true;
}

/* The indexing state of screen_message_open. */
struct indexer {
	struct screen_message	*m;
	const char		*b;
	size_t			 len;
	bool			 whole;	/* the buffer holds the whole file */
};

/*
 * The end of the field starting at pos: its last line's eol and the
 * start of what follows. Returns false if the buffer ends inside it
 * (it may go on beyond MSG_HEADER_MAX).
 */
static bool
field_extent(const struct indexer *x, size_t pos, size_t *eol, size_t *next)
{
	bool complete = line_at(x->b, x->len, pos, eol, next);

	for (;;) {
		/* the buffer ends inside the field, or right after it (more
		 * continuation lines may follow): known only at the file's end */
		if (!complete || *next == x->len)
			return x->whole;
		if (!is_wsp(x->b[*next]))
			return true;
		complete = line_at(x->b, x->len, *next, eol, next);
	}
}

static int
add_field(struct indexer *x, size_t pos, size_t eol, size_t next)
{
	struct screen_message *m = x->m;
	size_t name_len, colon;

	if (!field_name(x->b + pos, eol - pos, &name_len, &colon)) {
		m->malformed = true;	/* skipped; indexing goes on */
		return 0;
	}
	if (m->nfields == MSG_FIELDS_MAX) {
		m->oversize = true;
		return -1;
	}
	m->field[m->nfields++] = (struct msg_field){ .off = pos,
	    .name_len = name_len, .value_off = pos + colon + 1,
	    .len = eol - pos, .end = next };
	return 0;
}

/* Splits the header section into fields; sets body_off. */
static void
index_fields(struct indexer *x)
{
	struct screen_message *m = x->m;
	size_t pos = 0, eol, next;

	m->body_off = m->size;
	while (pos < x->len) {
		bool complete = line_at(x->b, x->len, pos, &eol, &next);
		if (eol == pos && complete) {	/* the empty line */
			m->has_separator = true;
			m->body_off = next;
			m->hdr_len = next;
			return;
		}
		if (!complete && !x->whole)
			break;
		if (is_wsp(x->b[pos])) {	/* a continuation of nothing */
			m->malformed = true;
			pos = next;
			continue;
		}
		if (!field_extent(x, pos, &eol, &next))
			break;
		if (add_field(x, pos, eol, next) == -1)
			break;
		pos = next;
	}
	if (pos < x->len)
		m->oversize = true;	/* the header section goes on past the limits */
	m->hdr_len = pos;
}

static void
find_from_domains(struct screen_message *m)
{
	m->from.status = MSG_FROM_NONE;
	for (size_t i = 0; i < m->nfields; i++) {
		const struct msg_field *f = &m->field[i];
		size_t vlen;
		const char *v;

		if (!msg_field_is(m, f, "From"))
			continue;
		m->from.nfields++;
		v = msg_field_value(m, f, &vlen);
		msg_from_parse(v, vlen, &m->from);
	}
}

struct screen_message *
screen_message_open(int fd, const char **why)
{
	struct screen_message *m = calloc(1, sizeof(*m));
	struct indexer x;
	struct stat st;
	char *shrunk;

	if (m == NULL || (m->dkim_memo = calloc(1, sizeof(*m->dkim_memo))) == NULL ||
	    (m->field = calloc(MSG_FIELDS_MAX, sizeof(*m->field))) == NULL) {
		*why = "out of memory";
		goto fail;
	}
	m->fd = fd;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		*why = "not a readable file";
		goto fail;
	}
	m->size = (uint64_t)st.st_size;
	if (read_head(fd, m->size, &m->hdr, &x.len) == -1) {
		*why = "cannot read the message";
		goto fail;
	}
	x.m = m;
	x.b = m->hdr;
	x.whole = x.len == m->size;
	index_fields(&x);
	m->eight_bit = utf8_has_8bit(m->hdr, m->hdr_len);
	find_from_domains(m);
	shrunk = realloc(m->hdr, m->hdr_len + 1);	/* the body part is not kept */
	if (shrunk != NULL)
		m->hdr = shrunk;
	return m;
fail:
	screen_message_free(m);
	return NULL;
}

void
screen_message_free(struct screen_message *m)
{
	if (m == NULL)
		return;
	free(m->hdr);
	free(m->field);
	free(m->dkim_memo);
	free(m);
}

bool
msg_field_is(const struct screen_message *m, const struct msg_field *f,
    const char *name)
{
	size_t n = strlen(name);

	return f->name_len == n && strncasecmp(m->hdr + f->off, name, n) == 0;
}

size_t
msg_field_count(const struct screen_message *m, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < m->nfields; i++)
		if (msg_field_is(m, &m->field[i], name))
			n++;
	return n;
}

const struct msg_field *
msg_field_nth(const struct screen_message *m, const char *name, size_t nth)
{
	for (size_t i = 0; i < m->nfields; i++)
		if (msg_field_is(m, &m->field[i], name) && nth-- == 0)
			return &m->field[i];
	return NULL;
}

const char *
msg_field_value(const struct screen_message *m, const struct msg_field *f,
    size_t *len)
{
	*len = f->off + f->len - f->value_off;
	return m->hdr + f->value_off;
}

uint64_t
msg_body_size(const struct screen_message *m)
{
	return m->size - m->body_off;
}

ssize_t
msg_body_read(const struct screen_message *m, uint64_t off, void *buf,
    size_t len)
{
	uint64_t left;
	ssize_t n;

	if (off >= msg_body_size(m))
		return 0;
	left = msg_body_size(m) - off;
	if (len > left)
		len = (size_t)left;
	do
		n = pread(m->fd, buf, len, (off_t)(m->body_off + off));
	while (n < 0 && errno == EINTR);
	return n;
}

/* ---- RFC 5322 3.4: the mailboxes of a From: field ---------------------- */

/* One mailbox being scanned: the text inside <> or, without angle
 * brackets, the whole element; comments and folding white space dropped,
 * quoted strings and domain literals kept with their delimiters. */
struct mbox {
	char	text[MSG_MAILBOX_MAX + 1];
	size_t	n;
	char	plain[MSG_MAILBOX_MAX + 1];	/* outside <>: a display name or an addr-spec */
	size_t	nplain;
	bool	angle;		/* a '<' was seen */
	bool	in_angle;
	bool	closed;		/* the '>' was seen */
	bool	bad;
	const char *raw;	/* the field value, and this element's bytes */
	size_t	start;		/* in it: from start to pos */
	size_t	pos;
};

/* Forgets the mailbox; the next one starts after pos. */
static void
mbox_reset(struct mbox *b)
{
	const char *raw = b->raw;
	size_t next = b->pos + 1;

	memset(b, 0, sizeof(*b));
	b->raw = raw;
	b->start = b->pos = next;
}

/* The scanner's position inside quotes, comments and literals. */
struct lexstate {
	unsigned	comment;	/* nesting depth */
	bool		quote;
	bool		literal;
	bool		escaped;	/* the previous byte was a backslash */
};

static void
mbox_put(struct mbox *b, char c)
{
	if (b->in_angle) {
		if (b->n == MSG_MAILBOX_MAX)
			b->bad = true;
		else
			b->text[b->n++] = c;
	} else if (b->closed) {
		b->bad = true;	/* an address after the angle address */
	} else if (b->nplain == MSG_MAILBOX_MAX) {
		b->bad = true;
	} else
		b->plain[b->nplain++] = c;
}

static void
from_add_domain(struct msg_from *from, const char *domain)
{
	for (size_t i = 0; i < from->ndomains; i++)
		if (strcmp(from->domain[i], domain) == 0)
			return;
	if (from->ndomains == MSG_FROM_DOMAINS_MAX) {
		from->status = MSG_FROM_TOO_MANY;
		return;
	}
	memcpy(from->domain[from->ndomains++], domain, strlen(domain) + 1);
}

static void
from_mark_invalid(struct msg_from *from)
{
	if (from->status != MSG_FROM_TOO_MANY)
		from->status = MSG_FROM_INVALID;
}

/*
 * Position of the one '@' outside quotes that separates local part and
 * domain in an addr-spec of n bytes; -1 if there is none or more than one.
 * An obsolete route ("@a,@b:") ends at the last ':' outside quotes.
 */
static ssize_t
addr_spec_at(const char *s, size_t n, size_t *start)
{
	bool quote = false, esc = false;
	ssize_t at = -1;

	*start = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = *start; i < n; i++) {
			if (esc) {
				esc = false;
				continue;
			}
			if (s[i] == '\\' && quote)
				esc = true;
			else if (s[i] == '"')
				quote = !quote;
			else if (pass == 0 && !quote && s[i] == ':')
				*start = i + 1;		/* the route ends here */
			else if (pass == 1 && !quote && s[i] == '@') {
				if (at != -1)
					return -1;
				at = (ssize_t)i;
			}
		}
		quote = esc = false;
	}
	return at;
}

/*
 * A mailbox that does not parse still names domains a lenient mail reader
 * may show ("<ceo@bank.example" without its '>'). Every "@domain" in its
 * bytes is taken as an author domain, so that such a From gets the
 * strictest DMARC policy of all it could mean, never none.
 */
static void
scan_raw_domains(const char *raw, size_t n, struct msg_from *from)
{
	char domain[ADDR_DOMAIN_MAX + 1];
	const char *why;

	for (size_t i = 0; i < n; i++) {
		size_t j = i + 1, o = 0;
		if (raw[i] != '@')
			continue;
		while (j < n && o < ADDR_DOMAIN_MAX && (isalnum((unsigned char)raw[j]) ||
		    raw[j] == '-' || raw[j] == '.' || raw[j] == '_' || (unsigned char)raw[j] >= 0x80))
			domain[o++] = raw[j++];
		while (o > 0 && domain[o - 1] == '.')
			o--;
		domain[o] = '\0';
		if (o > 0 && domain_normalize_input(domain, domain, sizeof(domain), &why) == 0)
			from_add_domain(from, domain);
	}
}

/* Ends one mailbox: records its domain, or marks the field invalid. */
static void
mbox_finish(struct mbox *b, struct msg_from *from)
{
	const char *s = b->angle ? b->text : b->plain;
	size_t n = b->angle ? b->n : b->nplain, start = 0;
	char domain[ADDR_DOMAIN_MAX + 1];
	const char *why;
	ssize_t at;

	if (!b->angle && n == 0 && !b->bad) {
		mbox_reset(b);
		return;		/* an empty list element: allowed (4.4) */
	}
	at = b->bad || (b->angle && !b->closed) ? -1 : addr_spec_at(s, n, &start);
	if (at <= (ssize_t)start || (size_t)at + 1 >= n || s[at + 1] == '[' ||
	    n - (size_t)at - 1 > ADDR_DOMAIN_MAX ||
	    memchr(s + at + 1, '\0', n - (size_t)at - 1) != NULL) {
		from_mark_invalid(from);	/* no local part, no domain, a literal */
		scan_raw_domains(b->raw + b->start, b->pos - b->start, from);
		mbox_reset(b);
		return;
	}
	memcpy(domain, s + at + 1, n - (size_t)at - 1);
	domain[n - (size_t)at - 1] = '\0';
	from->nmailboxes++;
	if (domain_normalize_input(domain, domain, sizeof(domain), &why) == -1) {
		from_mark_invalid(from);
		scan_raw_domains(b->raw + b->start, b->pos - b->start, from);
	} else {
		if (from->status == MSG_FROM_NONE)
			from->status = MSG_FROM_OK;
		from_add_domain(from, domain);
	}
	mbox_reset(b);
}

/* Inside a quoted string, a comment or a domain literal: true if c was
 * taken by it. */
static bool
lex_inside(struct lexstate *l, struct mbox *b, char c)
{
	if (l->comment > 0) {
		if (l->escaped)
			l->escaped = false;
		else if (c == '\\')
			l->escaped = true;
		else if (c == '(')
			l->comment++;
		else if (c == ')')
			l->comment--;
		return true;
	}
	if (!l->quote && !l->literal)
		return false;
	if (c == '\r' || c == '\n')
		return true;	/* folding inside: the WSP after it stays */
	mbox_put(b, c);
	if (l->escaped)
		l->escaped = false;
	else if (c == '\\')
		l->escaped = true;
	else if (l->quote && c == '"')
		l->quote = false;
	else if (l->literal && c == ']')
		l->literal = false;
	return true;
}

/* A special character outside quotes and comments (RFC 5322 3.2.3). */
static void
lex_special(struct mbox *b, char c, struct msg_from *from)
{
	switch (c) {
	case '<':
		if (b->angle)
			b->bad = true;
		b->angle = b->in_angle = true;
		break;
	case '>':
		if (!b->in_angle)
			b->bad = true;
		b->in_angle = false;
		b->closed = true;
		break;
	case ',':
		if (b->in_angle)
			mbox_put(b, c);		/* an obsolete route */
		else
			mbox_finish(b, from);
		break;
	case ';':			/* the end of a group */
		if (b->in_angle)
			b->bad = true;
		mbox_finish(b, from);
		break;
	case ':':
		if (b->in_angle)
			mbox_put(b, c);
		else if (b->angle)
			b->bad = true;
		else {
			b->nplain = 0;	/* that was a group's display name */
			b->start = b->pos + 1;
		}
		break;
	}
}

void
msg_from_parse(const char *v, size_t len, struct msg_from *from)
{
	struct lexstate l = { 0 };
	struct mbox b;

	memset(&b, 0, sizeof(b));
	b.raw = v;
	for (size_t i = 0; i < len; i++) {
		char c = v[i];

		b.pos = i;
		if (lex_inside(&l, &b, c))
			continue;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '(')
			l.comment = 1;
		else if (c == '<' || c == '>' || c == ',' || c == ';' || c == ':')
			lex_special(&b, c, from);
		else {
			mbox_put(&b, c);
			l.quote = c == '"';
			l.literal = c == '[';
		}
	}
	b.pos = len;
	if (l.comment > 0 || l.quote || l.literal || b.in_angle)
		b.bad = true;
	if (b.bad || b.angle || b.nplain > 0)
		mbox_finish(&b, from);
}
