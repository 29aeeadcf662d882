/*
 * queue/envelope.c - parser and writer of the envelope file (format in
 * envelope.h).
 *
 * Owns: the exact text of an envelope. Why text records and a strict
 * parser: an administrator can read a stuck envelope with `cat`, and a
 * file that was cut short by a crash, a full disk or a stray editor is
 * recognised as corrupt (no "end" record, a duplicate key, a bad value)
 * instead of being half-understood. The writer refuses what the parser
 * would refuse, so a round trip is always exact. No I/O happens here.
 * Version 5 (a message whose MAIL had SMTPUTF8) may hold UTF-8 addresses.
 * Version 6 keeps the last deferral reason, so it outlives a restart.
 * Version 3 ends with the length and CRC-32C of everything before its end
 * record: the spool creates an envelope in place and flushes once
 * (queue/spool.c), so after a power cut the end record is the proof that
 * the whole file reached the disk.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "envelope.h"
#include "utf8.h"

enum envelope_field {
	F_ID, F_ARRIVAL, F_SOURCE, F_CLIENT_IP, F_HELO, F_SENDER,
	F_ATTEMPTS, F_NEXT_ATTEMPT, F_RCPT, F_HOLD, F_SIZE, F_HELD, F_SMTPUTF8,
	F_LAST_ERROR, F_COUNT
};

/* Fields every envelope has; the others are optional. */
#define REQUIRED_FIELDS	((1u << F_HOLD) - 1)

static const char *const field_names[F_COUNT] = {
	[F_ID] = "id",
	[F_ARRIVAL] = "arrival",
	[F_SOURCE] = "source",
	[F_CLIENT_IP] = "client_ip",
	[F_HELO] = "helo",
	[F_SENDER] = "sender",
	[F_ATTEMPTS] = "attempts",
	[F_NEXT_ATTEMPT] = "next_attempt",
	[F_RCPT] = "rcpt",
	[F_HOLD] = "hold",
	[F_SIZE] = "size",
	[F_HELD] = "held",
	[F_SMTPUTF8] = "smtputf8",
	[F_LAST_ERROR] = "last_error",
};

/* The first version that has each field (the others: 1). */
static const unsigned field_version[F_COUNT] = {
	[F_HOLD] = 2,
	[F_SIZE] = 3,
	[F_HELD] = 4,
	[F_SMTPUTF8] = 5,
	[F_LAST_ERROR] = 6,
};

static const char *const hold_names[] = {
	[ENVELOPE_HOLD_NONE] = "",
	[ENVELOPE_HOLD_DKIM] = "dkim",
};

static const char *const source_names[SOURCE_MAX + 1] = {
	[SOURCE_SMTP] = "smtp",
	[SOURCE_SUBMISSION] = "submission",
	[SOURCE_LOCAL] = "local",
};

const char *
envelope_status_text(enum envelope_status s)
{
	switch (s) {
	case ENVELOPE_OK:		return "ok";
	case ENVELOPE_TOO_LONG:		return "file too long";
	case ENVELOPE_BAD_VERSION:	return "bad version line";
	case ENVELOPE_NO_END:		return "no end record (truncated)";
	case ENVELOPE_BAD_END:		return "end record does not match the file";
	case ENVELOPE_TRAILING:		return "bytes after end record";
	case ENVELOPE_BAD_LINE:		return "malformed line";
	case ENVELOPE_UNKNOWN_KEY:	return "unknown key";
	case ENVELOPE_DUPLICATE:	return "duplicate key";
	case ENVELOPE_MISSING:		return "required key missing";
	case ENVELOPE_BAD_VALUE:	return "bad value";
	case ENVELOPE_TOO_MANY_RCPTS:	return "too many recipients";
	case ENVELOPE_NOMEM:		return "out of memory";
	}
	return "unknown";
}

const char *
envelope_source_name(enum msg_source s)
{
	if (s < SOURCE_SMTP || s > SOURCE_MAX)
		return "unknown";
	return source_names[s];
}

/* ---- value checks shared by the parser and the writer ------------------ */

/* Printable ASCII; from version 5 also bytes of 0x80 and above, which only
 * an address can hold (its parser checks they are UTF-8, lib/addr.c), every
 * other value's check refusing them. */
static bool
is_printable(const char *s, size_t len, bool allow_8bit)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || (c > 0x7e && !allow_8bit))
			return false;
	}
	return true;
}

static bool
helo_is_valid(const char *s, size_t len)
{
	if (len > HELO_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static bool
client_ip_is_valid(const char *s, size_t len)
{
	if (len >= IP_TEXT_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F');
		if (!hex && c != '.' && c != ':')
			return false;
	}
	return true;
}

static bool
mailbox_is_valid(const char *s, size_t len, bool allow_null)
{
	struct mailaddr m;

	if (len == 0)
		return allow_null;
	if (len > ADDR_MAX)
		return false;
	return addr_parse_mailbox(s, len, &m) == ADDR_OK;
}

/* Decimal without sign or leading zeros, at most max. */
static bool
parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* ---- the version-3 end record ------------------------------------------- */

#define END_RECORD_MAX	48	/* "end " 20 digits " " 8 hex digits, and a NUL */

uint32_t
envelope_crc32c(const char *buf, size_t len)
{
	uint32_t crc = 0xffffffffu;

	/* Bitwise, reflected polynomial 0x1EDC6F41: envelopes are small. */
	for (size_t i = 0; i < len; i++) {
		crc ^= (uint8_t)buf[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (UINT32_C(0x82f63b78) & (0u - (crc & 1u)));
	}
	return ~crc;
}

/* The end record (without LF) for the len bytes of buf before it. */
static void
format_end_record(const char *buf, size_t len, char out[END_RECORD_MAX])
{
	snprintf(out, END_RECORD_MAX, "end %zu %08" PRIx32, len,
	    envelope_crc32c(buf, len));
}

/* True if line (llen bytes, no LF) is the end record of the first off
 * bytes of buf. The record is canonical, so comparing text is enough. */
static bool
is_end_record_of(const char *buf, size_t off, const char *line, size_t llen)
{
	char want[END_RECORD_MAX];

	format_end_record(buf, off, want);
	return strlen(want) == llen && memcmp(want, line, llen) == 0;
}

/* True if the last line of buf is the end record of everything before. */
static bool
ends_with_end_record(const char *buf, size_t len)
{
	if (len == 0 || buf[len - 1] != '\n')
		return false;
	const char *nl = memrchr(buf, '\n', len - 1);
	size_t start = nl == NULL ? 0 : (size_t)(nl - buf) + 1;
	return is_end_record_of(buf, start, buf + start, len - 1 - start);
}

/* The version a file of e is written in: the oldest that has every
 * record it needs, so that a homemx one version back still reads it. */
static unsigned
written_version(const struct envelope *e)
{
	if (e->last_error[0] != '\0')
		return 6;
	if (e->smtputf8)
		return 5;
	return e->held_since != 0 ? 4 : 3;
}

bool
envelope_is_torn(const char *buf, size_t len)
{
	char magic[32];

	/* Versions 3 and later are written in place (their end record checks). */
	for (unsigned v = 3; v <= ENVELOPE_VERSION; v++) {
		snprintf(magic, sizeof(magic), "%s %u\n", ENVELOPE_MAGIC, v);
		size_t mlen = strlen(magic);
		if (len == 0)
			return true;
		if (len < mlen) {
			if (memcmp(buf, magic, len) == 0)
				return true;
			continue;
		}
		if (memcmp(buf, magic, mlen) == 0)
			return !ends_with_end_record(buf, len);
	}
	return false;	/* an older version, or not ours: corrupt */
}

/* ---- parser ------------------------------------------------------------- */

struct parse_state {
	struct envelope	*e;
	unsigned	 version;	/* of the file, from its first line */
	unsigned	 seen;		/* bit per once-only field */
	unsigned	 rcpt_cap;
};

static enum envelope_status
copy_text(char *dst, size_t dstsize, const char *v, size_t vlen)
{
	if (vlen >= dstsize)
		return ENVELOPE_BAD_VALUE;
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
	return ENVELOPE_OK;
}

/* "<>" or "<mailbox>": copies the mailbox (maybe empty) into dst. */
static enum envelope_status
parse_path(char dst[ADDR_MAX + 1], const char *v, size_t vlen, bool allow_null)
{
	if (vlen < 2 || v[0] != '<' || v[vlen - 1] != '>')
		return ENVELOPE_BAD_VALUE;
	if (!mailbox_is_valid(v + 1, vlen - 2, allow_null))
		return ENVELOPE_BAD_VALUE;
	return copy_text(dst, ADDR_MAX + 1, v + 1, vlen - 2);
}

static enum envelope_status
parse_source(enum msg_source *out, const char *v, size_t vlen)
{
	for (int s = SOURCE_SMTP; s <= SOURCE_MAX; s++)
		if (strlen(source_names[s]) == vlen &&
		    memcmp(source_names[s], v, vlen) == 0) {
			*out = (enum msg_source)s;
			return ENVELOPE_OK;
		}
	return ENVELOPE_BAD_VALUE;
}

static enum envelope_status
add_rcpt(struct parse_state *ps, const char *v, size_t vlen)
{
	struct envelope *e = ps->e;

	if (e->nrcpt >= IPC_MAX_RCPTS)
		return ENVELOPE_TOO_MANY_RCPTS;
	if (e->nrcpt == ps->rcpt_cap) {
		unsigned cap = ps->rcpt_cap == 0 ? 4 : ps->rcpt_cap * 2;
		if (cap > IPC_MAX_RCPTS)
			cap = IPC_MAX_RCPTS;
		void *p = realloc(e->rcpt, (size_t)cap * sizeof(*e->rcpt));
		if (p == NULL)
			return ENVELOPE_NOMEM;
		e->rcpt = p;
		ps->rcpt_cap = cap;
	}
	enum envelope_status st = parse_path(e->rcpt[e->nrcpt], v, vlen, false);
	if (st == ENVELOPE_OK)
		e->nrcpt++;
	return st;
}

static enum envelope_status
parse_value(struct parse_state *ps, enum envelope_field f, const char *v,
    size_t vlen)
{
	struct envelope *e = ps->e;
	uint64_t n;

	switch (f) {
	case F_ID:
		if (vlen != QUEUE_ID_LEN ||
		    copy_text(e->id, sizeof(e->id), v, vlen) != ENVELOPE_OK ||
		    !queue_id_is_valid(e->id))
			return ENVELOPE_BAD_VALUE;
		return ENVELOPE_OK;
	case F_ARRIVAL:
		return parse_u64(v, vlen, ENVELOPE_TIME_MAX, &e->arrival) ?
		    ENVELOPE_OK : ENVELOPE_BAD_VALUE;
	case F_NEXT_ATTEMPT:
		return parse_u64(v, vlen, ENVELOPE_TIME_MAX, &e->next_attempt) ?
		    ENVELOPE_OK : ENVELOPE_BAD_VALUE;
	case F_ATTEMPTS:
		if (!parse_u64(v, vlen, ENVELOPE_ATTEMPTS_MAX, &n))
			return ENVELOPE_BAD_VALUE;
		e->attempts = (uint32_t)n;
		return ENVELOPE_OK;
	case F_SOURCE:
		return parse_source(&e->source, v, vlen);
	case F_CLIENT_IP:
		if (!client_ip_is_valid(v, vlen))
			return ENVELOPE_BAD_VALUE;
		return copy_text(e->client_ip, sizeof(e->client_ip), v, vlen);
	case F_HELO:
		if (!helo_is_valid(v, vlen))
			return ENVELOPE_BAD_VALUE;
		return copy_text(e->helo, sizeof(e->helo), v, vlen);
	case F_SENDER:
		return parse_path(e->sender, v, vlen, true);
	case F_RCPT:
		return add_rcpt(ps, v, vlen);
	case F_HOLD:
		/* Only "dkim" exists; "hold" without a value is not written. */
		if (vlen != strlen(hold_names[ENVELOPE_HOLD_DKIM]) ||
		    memcmp(v, hold_names[ENVELOPE_HOLD_DKIM], vlen) != 0)
			return ENVELOPE_BAD_VALUE;
		e->hold = ENVELOPE_HOLD_DKIM;
		return ENVELOPE_OK;
	case F_HELD:
		if (!parse_u64(v, vlen, ENVELOPE_TIME_MAX, &e->held_since) ||
		    e->held_since == 0)
			return ENVELOPE_BAD_VALUE;
		return ENVELOPE_OK;
	case F_SMTPUTF8:
		if (vlen != 0)
			return ENVELOPE_BAD_VALUE;
		e->smtputf8 = true;
		return ENVELOPE_OK;
	case F_LAST_ERROR:
		if (vlen > IPC_REASON_MAX || !is_printable(v, vlen, false))
			return ENVELOPE_BAD_VALUE;
		return copy_text(e->last_error, sizeof(e->last_error), v, vlen);
	case F_SIZE:
		if (!parse_u64(v, vlen, ENVELOPE_SIZE_MAX, &e->body_size))
			return ENVELOPE_BAD_VALUE;
		e->has_body_size = true;
		return ENVELOPE_OK;
	case F_COUNT:
		break;
	}
	return ENVELOPE_UNKNOWN_KEY;
}

static enum envelope_status
parse_record(struct parse_state *ps, const char *line, size_t len)
{
	const char *sp, *v = "";
	size_t klen = len, vlen = 0;

	if (len == 0 || len > ENVELOPE_LINE_MAX ||
	    !is_printable(line, len, ps->version >= 5))
		return ENVELOPE_BAD_LINE;
	if ((sp = memchr(line, ' ', len)) != NULL) {
		klen = (size_t)(sp - line);
		v = sp + 1;
		vlen = len - klen - 1;
		if (vlen == 0)
			return ENVELOPE_BAD_LINE;	/* "key ": writer never does */
	}
	for (int f = 0; f < F_COUNT; f++) {
		if (strlen(field_names[f]) != klen ||
		    memcmp(field_names[f], line, klen) != 0)
			continue;
		if (field_version[f] > ps->version)
			return ENVELOPE_UNKNOWN_KEY;	/* not in this version */
		if (f != F_RCPT && (ps->seen & (1u << f)))
			return ENVELOPE_DUPLICATE;
		ps->seen |= 1u << f;
		return parse_value(ps, (enum envelope_field)f, v, vlen);
	}
	return ENVELOPE_UNKNOWN_KEY;
}

static bool
is_line(const char *line, size_t len, const char *want)
{
	return strlen(want) == len && memcmp(line, want, len) == 0;
}

/* The last record: "end" up to version 2, "end LEN CRC" from version 3. */
static bool
is_end_key(const struct parse_state *ps, const char *line, size_t len)
{
	if (ps->version < 3)
		return is_line(line, len, "end");
	return is_line(line, len, "end") || (len >= 4 && memcmp(line, "end ", 4) == 0);
}

/* "homemx-envelope N" for a version we read; sets ps->version. */
static bool
parse_version_line(struct parse_state *ps, const char *line, size_t len)
{
	char want[32];

	for (unsigned v = 1; v <= ENVELOPE_VERSION; v++) {
		snprintf(want, sizeof(want), "%s %u", ENVELOPE_MAGIC, v);
		if (is_line(line, len, want)) {
			ps->version = v;
			return true;
		}
	}
	return false;
}

static enum envelope_status
parse_lines(struct parse_state *ps, const char *buf, size_t len,
    unsigned *errline)
{
	size_t pos = 0;
	unsigned lineno = 0;

	while (pos < len) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		*errline = ++lineno;
		if (nl == NULL)
			return lineno == 1 ? ENVELOPE_BAD_VERSION : ENVELOPE_NO_END;
		size_t llen = (size_t)(nl - line);
		pos += llen + 1;
		if (lineno == 1) {
			if (!parse_version_line(ps, line, llen))
				return ENVELOPE_BAD_VERSION;
			continue;
		}
		if (is_end_key(ps, line, llen)) {
			if (ps->version >= 3 &&
			    !is_end_record_of(buf, (size_t)(line - buf), line, llen))
				return ENVELOPE_BAD_END;
			if (pos != len)
				return ENVELOPE_TRAILING;
			/* Every version-1 field is required; rcpt at least once. */
			return (ps->seen & REQUIRED_FIELDS) == REQUIRED_FIELDS ?
			    ENVELOPE_OK : ENVELOPE_MISSING;
		}
		enum envelope_status st = parse_record(ps, line, llen);
		if (st != ENVELOPE_OK)
			return st;
	}
	/* Ran out of lines: the problem is the missing line after the last. */
	*errline = lineno + 1;
	return lineno == 0 ? ENVELOPE_BAD_VERSION : ENVELOPE_NO_END;
}

enum envelope_status
envelope_parse(const char *buf, size_t len, struct envelope *out,
    unsigned *errline)
{
	struct parse_state ps = { out, 0, 0, 0 };

	memset(out, 0, sizeof(*out));
	*errline = 0;
	if (len > ENVELOPE_TEXT_MAX)
		return ENVELOPE_TOO_LONG;
	enum envelope_status st = parse_lines(&ps, buf, len, errline);
	if (st != ENVELOPE_OK) {
		envelope_free(out);
		return st;
	}
	*errline = 0;
	return ENVELOPE_OK;
}

/* ---- writer ------------------------------------------------------------- */

struct text_out {
	char	*buf;
	size_t	 size;
	size_t	 len;
	bool	 overflow;
};

static void
out_line(struct text_out *o, const char *key, const char *v1, const char *v2,
    const char *v3)
{
	if (o->overflow)
		return;
	int n = snprintf(o->buf + o->len, o->size - o->len, "%s%s%s%s%s\n", key,
	    v1[0] != '\0' || v2[0] != '\0' ? " " : "", v1, v2, v3);
	if (n < 0 || (size_t)n >= o->size - o->len) {
		o->overflow = true;
		return;
	}
	o->len += (size_t)n;
}

static void
out_u64(struct text_out *o, const char *key, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	out_line(o, key, num, "", "");
}

static bool
envelope_is_writable(const struct envelope *e)
{
	if (!queue_id_is_valid(e->id) || e->arrival > ENVELOPE_TIME_MAX ||
	    e->next_attempt > ENVELOPE_TIME_MAX ||
	    e->attempts > ENVELOPE_ATTEMPTS_MAX ||
	    e->source < SOURCE_SMTP || e->source > SOURCE_MAX ||
	    (e->hold != ENVELOPE_HOLD_NONE && e->hold != ENVELOPE_HOLD_DKIM) ||
	    (e->has_body_size && e->body_size > ENVELOPE_SIZE_MAX) ||
	    e->held_since > ENVELOPE_TIME_MAX ||
	    strnlen(e->last_error, sizeof(e->last_error)) > IPC_REASON_MAX ||
	    !is_printable(e->last_error, strnlen(e->last_error, sizeof(e->last_error)), false) ||
	    !client_ip_is_valid(e->client_ip, strnlen(e->client_ip, IP_TEXT_MAX)) ||
	    !helo_is_valid(e->helo, strnlen(e->helo, sizeof(e->helo))) ||
	    !mailbox_is_valid(e->sender, strnlen(e->sender, ADDR_MAX + 1), true))
		return false;
	if (e->nrcpt == 0 || e->nrcpt > IPC_MAX_RCPTS || e->rcpt == NULL)
		return false;
	/* A UTF-8 address travels only with SMTPUTF8 (RFC 6531 3.4), and only
	 * a version-5 file (one with "smtputf8") may hold it. */
	if (!e->smtputf8 && utf8_str_has_8bit(e->sender))
		return false;
	for (unsigned i = 0; i < e->nrcpt; i++)
		if (!mailbox_is_valid(e->rcpt[i], strnlen(e->rcpt[i], ADDR_MAX + 1),
		    false) || (!e->smtputf8 && utf8_str_has_8bit(e->rcpt[i])))
			return false;
	return true;
}

/* The end record covers every byte written so far. */
static void
out_end_record(struct text_out *o)
{
	char rec[END_RECORD_MAX];

	if (o->overflow)
		return;
	format_end_record(o->buf, o->len, rec);
	out_line(o, rec, "", "", "");
}

int
envelope_format(const struct envelope *e, char *buf, size_t size,
    size_t *outlen)
{
	struct text_out o = { buf, size, 0, false };
	char version[8];

	if (!envelope_is_writable(e) || size == 0)
		return -1;
	snprintf(version, sizeof(version), "%u", written_version(e));
	out_line(&o, ENVELOPE_MAGIC, version, "", "");
	out_line(&o, "id", e->id, "", "");
	out_u64(&o, "arrival", e->arrival);
	out_line(&o, "source", envelope_source_name(e->source), "", "");
	out_line(&o, "client_ip", e->client_ip, "", "");
	out_line(&o, "helo", e->helo, "", "");
	out_line(&o, "sender", "<", e->sender, ">");
	for (unsigned i = 0; i < e->nrcpt; i++)
		out_line(&o, "rcpt", "<", e->rcpt[i], ">");
	out_u64(&o, "attempts", e->attempts);
	out_u64(&o, "next_attempt", e->next_attempt);
	if (e->hold != ENVELOPE_HOLD_NONE)
		out_line(&o, "hold", hold_names[e->hold], "", "");
	if (e->has_body_size)
		out_u64(&o, "size", e->body_size);
	if (e->held_since != 0)
		out_u64(&o, "held", e->held_since);
	if (e->smtputf8)
		out_line(&o, "smtputf8", "", "", "");
	if (e->last_error[0] != '\0')
		out_line(&o, "last_error", e->last_error, "", "");
	out_end_record(&o);
	if (o.overflow)
		return -1;
	*outlen = o.len;
	return 0;
}

/* ---- helpers ------------------------------------------------------------ */

void
envelope_set_last_error(struct envelope *e, const char *reason)
{
	size_t n = 0;
	bool space = false;

	for (; reason != NULL && *reason != '\0' && n < IPC_REASON_MAX; reason++) {
		unsigned char c = (unsigned char)*reason;
		if (c < 0x21 || c > 0x7e) {
			space = n > 0;	/* none at the start */
			continue;
		}
		if (space) {
			if (n + 1 >= IPC_REASON_MAX)
				break;
			e->last_error[n++] = ' ';
		}
		space = false;
		e->last_error[n++] = (char)c;
	}
	e->last_error[n] = '\0';
}

int
envelope_copy(struct envelope *dst, const struct envelope *src)
{
	*dst = *src;
	dst->rcpt = NULL;
	if (src->nrcpt == 0)
		return 0;
	if ((dst->rcpt = calloc(src->nrcpt, sizeof(*dst->rcpt))) == NULL)
		return -1;
	memcpy(dst->rcpt, src->rcpt, (size_t)src->nrcpt * sizeof(*dst->rcpt));
	return 0;
}

void
envelope_remove_rcpt(struct envelope *e, unsigned i)
{
	if (i >= e->nrcpt)
		return;
	memmove(e->rcpt[i], e->rcpt[i + 1],
	    (size_t)(e->nrcpt - i - 1) * sizeof(*e->rcpt));
	e->nrcpt--;
}

void
envelope_free(struct envelope *e)
{
	free(e->rcpt);
	e->rcpt = NULL;
	e->nrcpt = 0;
}
