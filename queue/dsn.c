/*
 * queue/dsn.c - what a delivery status notification (RFC 3464, and RFC
 * 6533 for internationalized mail) says.
 *
 * Owns: the exact content of every DSN homemx sends: a multipart/report
 * (RFC 6522) with a human-readable text/plain; charset=utf-8 part, a
 * message/delivery-status part and the original headers as
 * text/rfc822-headers; the reading of remote SMTP replies (RFC 5321 4.2,
 * RFC 3463 enhanced codes, the relay's "HOST[IP]: " prefix) into code,
 * status and Remote-MTA, and of the relay's own diagnoses ("X.Y.Z text":
 * null MX, no route, connection refused), which never yield a Remote-MTA
 * or an "smtp;" Diagnostic-Code because no server said them; the Status of
 * each recipient; and the rule of which originals are automatic (never
 * answered with a DSN).
 * For a message that came with SMTPUTF8 or has a UTF-8 address (RFC
 * 6533, "the global form"): the report part is message/global-delivery-
 * status, a UTF-8 address goes in as "utf-8; " utf-8-addr-unitext (RFC
 * 6533 3: SP, '+', '=', '\' as "\x{HH}"), the returned headers are
 * message/global-headers, and the To field may hold the UTF-8 sender.
 * An ASCII message keeps the RFC 3464 form, byte for byte.
 *
 * Why this way: a reply from a remote server, a subject and a header block
 * are all attacker-controlled, and a DSN goes out under our name and DKIM
 * key. So every piece is cleaned before it is placed (mime.c): replies
 * become one line of printable ASCII (no CR/LF can reach a header), fields
 * are folded below RFC 5322's limits, non-ASCII in the Subject is RFC
 * 2047-encoded, and both text parts are quoted-printable whenever they are
 * not plain 7-bit. The whole DSN is 7-bit ASCII with CRLF lines, and no
 * line can equal the MIME boundary ("=_" never appears in quoted-printable
 * output; a returned header line starting with "--" forces
 * quoted-printable). In the global form the only 8-bit bytes are UTF-8
 * that passed u8_check and has no C0, DEL or C1 control (addresses, and
 * returned headers that are such UTF-8 throughout; other headers are
 * still quoted-printable), under Content-Transfer-Encoding 8bit (RFC 6533
 * 6.2, 6.3). Nothing here does I/O: the caller (bounce.c) reads
 * the spool and supplies the clock and the random token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unistr.h>

#include "dsn.h"
#include "utf8.h"

#define DSN_WRAP		72	/* columns of the human-readable text */
#define DSN_FIELD_VALUE_MAX	1024	/* an unfolded header value we read */
#define DSN_SUBJECT_PREFIX	"Undelivered Mail Returned to Sender"
#define DSN_ADDR_MAX		256	/* an address we place (RFC 5321 4.5.3.1.3) */
#define DSN_UNITEXT_MAX		900	/* an encoded address: one field line */

/* ---- small predicates ----------------------------------------------------- */

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Printable ASCII without CR/LF/controls: safe inside a header line. */
static bool
is_printable_ascii(const char *s, size_t maxlen)
{
	size_t n = strnlen(s, maxlen + 1);

	if (n == 0 || n > maxlen)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static bool
is_token(const char *s)
{
	size_t n = strnlen(s, DSN_TOKEN_MAX + 1);

	if (n == 0 || n > DSN_TOKEN_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

/* ---- UTF-8 (RFC 6533) ------------------------------------------------------ */

/* RFC 6533 3 QCHAR: printable ASCII except SP, '+', '=' and '\'. */
static bool
is_qchar(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != '+' && c != '=' && c != '\\';
}

/* The length of addr as utf-8-addr-unitext (RFC 6533 3): UTF-8 and QCHAR
 * as they are, any other ASCII byte as EmbeddedUnicodeChar "\x{HH}". */
static size_t
unitext_len(const char *addr)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)addr; *p != '\0'; p++)
		n += *p >= 0x80 || is_qchar(*p) ? 1 : 6;
	return n;
}

static void
put_unitext(struct textbuf *b, const char *addr)
{
	for (const unsigned char *p = (const unsigned char *)addr; *p != '\0'; p++) {
		if (*p >= 0x80 || is_qchar(*p))
			textbuf_putc(b, (char)*p);
		else
			textbuf_printf(b, "\\x{%02X}", *p);
	}
}

/* An address we may place: printable ASCII; in the global form also
 * clean UTF-8 whose unitext fits one field line. */
static bool
address_is_usable(const char *a, bool global)
{
	if (a == NULL)
		return false;
	if (!utf8_str_has_8bit(a))
		return is_printable_ascii(a, DSN_ADDR_MAX);
	size_t n = strnlen(a, DSN_ADDR_MAX + 1);
	return global && n <= DSN_ADDR_MAX && utf8_is_clean((const uint8_t *)a, n, false) &&
	    unitext_len(a) <= DSN_UNITEXT_MAX;
}

bool
dsn_is_global(const struct dsn_input *in)
{
	if (in->smtputf8 || (in->orig_sender != NULL && utf8_str_has_8bit(in->orig_sender)))
		return true;
	for (unsigned i = 0; in->rcpts != NULL && i < in->nrcpt; i++)
		if (in->rcpts[i].rcpt != NULL && utf8_str_has_8bit(in->rcpts[i].rcpt))
			return true;
	return false;
}

/* ---- replies ------------------------------------------------------------- */

/* "NNN" then end, SP or '-' (RFC 5321 4.2: Reply-code [ SP / "-" text ]). */
static bool
starts_with_code(const char *t)
{
	return t[0] >= '2' && t[0] <= '5' && is_digit(t[1]) && is_digit(t[2]) &&
	    (t[3] == '\0' || t[3] == ' ' || t[3] == '-');
}

/* 1*3DIGIT; returns the count or 0. */
static size_t
digits_1to3(const char *s)
{
	size_t n = 0;

	while (n < 4 && is_digit(s[n]))
		n++;
	return n >= 1 && n <= 3 ? n : 0;
}

/* RFC 3463: class "." subject "." detail, then end or SP; class 2/4/5. */
static bool
parse_status(const char *s, char out[DSN_STATUS_MAX])
{
	size_t a, b;

	if ((s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return false;
	if ((a = digits_1to3(s + 2)) == 0 || s[2 + a] != '.')
		return false;
	if ((b = digits_1to3(s + 3 + a)) == 0)
		return false;
	size_t len = 3 + a + b;
	if (s[len] != '\0' && s[len] != ' ')
		return false;
	memcpy(out, s, len);
	out[len] = '\0';
	return true;
}

static bool
is_host_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
	    c == '-' || c == '.';
}

static bool
is_addr_char(int c)
{
	return is_host_char(c) || c == ':';
}

/*
 * "HOST: " or "HOST[IP]: " at the start of t, HOST with at least one dot.
 * Copies HOST (lowercase) into mta and returns the prefix length, or 0.
 */
static size_t
host_prefix_len(const char *t, char mta[DSN_HOST_MAX + 1])
{
	size_t h = 0, p;
	bool dot = false;

	while (is_host_char(t[h]) && h <= DSN_HOST_MAX)
		dot |= t[h++] == '.';
	if (h == 0 || h > DSN_HOST_MAX || !dot || t[0] == '.' || t[0] == '-')
		return 0;
	p = h;
	if (t[p] == '[') {
		p++;
		while (is_addr_char(t[p]))
			p++;
		if (t[p] != ']' || p == h + 1)
			return 0;
		p++;
	}
	if (t[p] != ':' || t[p + 1] != ' ')
		return 0;
	for (size_t i = 0; i < h; i++)
		mta[i] = (char)(t[i] >= 'A' && t[i] <= 'Z' ? t[i] + 32 : t[i]);
	mta[h] = '\0';
	return p + 2;
}

/* "X.Y.Z text": the relay's own diagnosis, with no reply code because no
 * server answered. Takes the status and leaves the text after it. */
static void
parse_diagnosis(struct dsn_reply *out)
{
	char status[DSN_STATUS_MAX];

	if ((out->text[0] != '4' && out->text[0] != '5') ||
	    !parse_status(out->text, status))
		return;
	size_t skip = strlen(status);
	skip += strspn(out->text + skip, " ");
	memcpy(out->status, status, sizeof(out->status));
	memmove(out->text, out->text + skip, strlen(out->text + skip) + 1);
}

void
dsn_parse_reply(const char *reply, size_t len, struct dsn_reply *out)
{
	char clean[DSN_DIAG_MAX + 1];
	const char *t = clean;

	memset(out, 0, sizeof(*out));
	mime_clean_line(reply != NULL ? reply : "", reply != NULL ? len : 0,
	    clean, sizeof(clean));
	if (!starts_with_code(t)) {
		size_t skip = host_prefix_len(t, out->remote_mta);
		/* A server is named only in front of what it answered. */
		if (skip > 0 && starts_with_code(t + skip))
			t += skip;
		else
			out->remote_mta[0] = '\0';
	}
	snprintf(out->text, sizeof(out->text), "%s", t);
	if (!starts_with_code(out->text)) {
		parse_diagnosis(out);
		return;
	}
	out->code = (unsigned)(out->text[0] - '0') * 100 +
	    (unsigned)(out->text[1] - '0') * 10 + (unsigned)(out->text[2] - '0');
	/* "550 5.1.1 text" or the first line of a joined multi-line reply,
	 * "550-5.1.1 text 550 5.1.1 more" (RFC 2034 3: every line has it). */
	if (out->text[3] != '\0' && !parse_status(out->text + 4, out->status))
		out->status[0] = '\0';
}

/* Local reasons (delivery/delivery.c) that have a better code than 5.0.0. */
static const struct {
	const char	*prefix;
	const char	*status;
} local_status[] = {
	{ "unknown user",	"5.1.1" },	/* bad destination mailbox */
	{ "blocked subaddress",	"5.1.1" },
	{ "not a local domain",	"5.1.2" },	/* bad destination system */
	{ "no mailbox",		"5.2.0" },
};

void
dsn_status_for(const struct dsn_reply *r, enum dsn_reason reason,
    char out[DSN_STATUS_MAX])
{
	if (reason == DSN_EXPIRED) {
		/* No server could be reached (4.4.1 no answer, 4.4.4 unable
		 * to route, ...): that says more than "delivery time expired". */
		if (r->code == 0 && strncmp(r->status, "4.4.", 4) == 0)
			snprintf(out, DSN_STATUS_MAX, "%s", r->status);
		else
			snprintf(out, DSN_STATUS_MAX, "4.4.7");
		return;
	}
	if (r->status[0] == '5' || r->status[0] == '4') {
		/* The failure is permanent whatever class the server gave. */
		snprintf(out, DSN_STATUS_MAX, "5%s", r->status + 1);
		return;
	}
	for (size_t i = 0; i < sizeof(local_status) / sizeof(local_status[0]); i++)
		if (r->code == 0 && strncasecmp(r->text, local_status[i].prefix,
		    strlen(local_status[i].prefix)) == 0) {
			snprintf(out, DSN_STATUS_MAX, "%s", local_status[i].status);
			return;
		}
	snprintf(out, DSN_STATUS_MAX, "5.0.0");
}

/* Finds needle in the lowercase copy hay; NULL if absent. */
static const char *
find_param(const char *hay, const char *needle)
{
	return strstr(hay, needle);
}

static bool
content_type_is_dsn(const char *value)
{
	char lower[DSN_FIELD_VALUE_MAX];
	size_t n = 0;

	for (; value[n] != '\0' && n + 1 < sizeof(lower); n++)
		lower[n] = (char)(value[n] >= 'A' && value[n] <= 'Z' ?
		    value[n] + 32 : value[n]);
	lower[n] = '\0';
	if (strncmp(lower, "multipart/report", 16) != 0)
		return false;
	const char *p = find_param(lower, "report-type");
	if (p == NULL)
		return false;
	p += strlen("report-type");
	p += strspn(p, " \t");
	if (*p++ != '=')
		return false;
	p += strspn(p, " \t\"");
	return strncmp(p, "delivery-status", 15) == 0;
}

bool
dsn_headers_are_automatic(const uint8_t *headers, size_t len)
{
	char v[DSN_FIELD_VALUE_MAX];

	if (mime_header_value(headers, len, "Auto-Submitted", v, sizeof(v))) {
		size_t n = strcspn(v, " \t;(");
		if (n > 0 && !(n == 2 && strncasecmp(v, "no", 2) == 0))
			return true;
	}
	return mime_header_value(headers, len, "Content-Type", v, sizeof(v)) &&
	    content_type_is_dsn(v);
}

/* The original Subject, decoded and cleaned; "" if none. */
static void
original_subject(const struct dsn_input *in, char out[DSN_SUBJECT_MAX + 1])
{
	char raw[DSN_FIELD_VALUE_MAX];
	uint8_t decoded[DSN_FIELD_VALUE_MAX * 2];

	out[0] = '\0';
	if (!mime_header_value(in->headers, in->headers_len, "Subject", raw,
	    sizeof(raw)))
		return;
	size_t n = mime_decode_2047(raw, decoded, sizeof(decoded));
	mime_clean_utf8(decoded, n, out, DSN_SUBJECT_MAX);
}

static void
put_subject(struct textbuf *b, const char *orig)
{
	char subject[sizeof(DSN_SUBJECT_PREFIX) + 2 + DSN_SUBJECT_MAX];

	snprintf(subject, sizeof(subject), "%s%s%s", DSN_SUBJECT_PREFIX,
	    orig[0] != '\0' ? ": " : "", orig);
	if (!utf8_str_has_8bit(subject))
		mime_put_folded(b, "Subject", subject);
	else
		mime_put_encoded(b, "Subject", subject);
}

/* ---- the human-readable part ---------------------------------------------- */

/* ASCII text wrapped at DSN_WRAP columns, each line after indent. */
static void
put_wrapped(struct textbuf *t, const char *indent, const char *s)
{
	size_t col = 0;

	while (*s != '\0') {
		size_t wl = strcspn(s, " ");
		if (col > 0 && col + 1 + wl > DSN_WRAP) {
			textbuf_putc(t, '\n');
			col = 0;
		}
		if (col == 0) {
			textbuf_puts(t, indent);
			col = strlen(indent);
		} else {
			textbuf_putc(t, ' ');
			col++;
		}
		textbuf_put(t, s, wl);
		col += wl;
		s += wl;
		s += strspn(s, " ");
	}
	if (col > 0)
		textbuf_putc(t, '\n');
}

static void
format_duration(uint32_t secs, char *out, size_t outsize)
{
	if (secs >= 86400 && secs % 86400 == 0)
		snprintf(out, outsize, "%u day%s", secs / 86400, secs == 86400 ? "" : "s");
	else if (secs >= 3600)
		snprintf(out, outsize, "%u hour%s", secs / 3600, secs < 7200 ? "" : "s");
	else
		snprintf(out, outsize, "%u minute%s", secs / 60, secs < 120 ? "" : "s");
}

static void
put_human_rcpt(struct textbuf *t, const struct dsn_input *in,
    const struct dsn_rcpt *r, const struct dsn_reply *rep)
{
	char line[DSN_HOST_MAX + 128], life[32];

	textbuf_printf(t, "<%s>\n", r->rcpt);
	if (r->reason == DSN_EXPIRED) {
		format_duration(in->lifetime, life, sizeof(life));
		snprintf(line, sizeof(line), "Delivery was tried for %s without "
		    "success, and the mail system gave up. The last error was:", life);
	} else if (r->remote && rep->code != 0 && rep->remote_mta[0] != '\0')
		snprintf(line, sizeof(line), "The receiving mail server %s "
		    "refused it permanently. It answered:", rep->remote_mta);
	else if (r->remote && rep->code != 0)
		snprintf(line, sizeof(line), "The receiving mail server refused it "
		    "permanently. It answered:");
	else
		snprintf(line, sizeof(line), "The mail system could not deliver it. "
		    "It reported:");
	put_wrapped(t, "    ", line);
	put_wrapped(t, "        ", rep->text[0] != '\0' ? rep->text : "(no reply text)");
	textbuf_putc(t, '\n');
}

static void
build_human_text(struct textbuf *t, const struct dsn_input *in,
    const struct dsn_reply *reps, const char *subject)
{
	char date[40];

	mime_format_date(in->arrival, date, sizeof(date));
	textbuf_printf(t, "This is the mail delivery system at %s.\n\n", in->hostname);
	if (in->nrcpt == 1)
		textbuf_puts(t, "Your message could not be delivered to one recipient.\n");
	else
		textbuf_printf(t, "Your message could not be delivered to %u "
		    "recipients.\n", in->nrcpt);
	textbuf_puts(t, "Nothing more will be tried for them. Please check the "
	    "address,\nor send the message again later.\n\n");
	textbuf_puts(t, "    Subject:  ");
	textbuf_puts(t, subject[0] != '\0' ? subject : "(none)");
	textbuf_printf(t, "\n    Sent:     %s\n    Queue ID: %s\n\n", date, in->orig_id);
	for (unsigned i = 0; i < in->nrcpt; i++)
		put_human_rcpt(t, in, &in->rcpts[i], &reps[i]);
	textbuf_puts(t, "The headers of your message are attached below.\n");
}

/* ---- the machine-readable part (RFC 3464 2.2, 2.3) ------------------------- */

static void
put_rcpt_fields(struct textbuf *b, const struct dsn_input *in,
    const struct dsn_rcpt *r, const struct dsn_reply *rep)
{
	char status[DSN_STATUS_MAX], date[40];
	char diag[DSN_DIAG_MAX + 32];

	dsn_status_for(rep, r->reason, status);
	mime_format_date(in->now, date, sizeof(date));
	textbuf_puts(b, "\r\n");
	if (utf8_str_has_8bit(r->rcpt)) {
		/* RFC 6533 3; only in the global form (input_is_usable) */
		textbuf_puts(b, "Final-Recipient: utf-8; ");
		put_unitext(b, r->rcpt);
		textbuf_puts(b, "\r\n");
	} else
		textbuf_printf(b, "Final-Recipient: rfc822; %s\r\n", r->rcpt);
	textbuf_puts(b, "Action: failed\r\n");
	textbuf_printf(b, "Status: %s\r\n", status);
	if (rep->remote_mta[0] != '\0')
		textbuf_printf(b, "Remote-MTA: dns; %s\r\n", rep->remote_mta);
	if (rep->text[0] != '\0') {
		/* diagnostic-type "smtp" only for a real reply (RFC 3464 2.3.6). */
		snprintf(diag, sizeof(diag), "%s; %s", rep->code != 0 ? "smtp" :
		    "X-Homemx", rep->text);
		mime_put_folded(b, "Diagnostic-Code", diag);
	}
	textbuf_printf(b, "Last-Attempt-Date: %s\r\n", date);
}

static bool
any_8bit_rcpt(const struct dsn_input *in)
{
	for (unsigned i = 0; i < in->nrcpt; i++)
		if (utf8_str_has_8bit(in->rcpts[i].rcpt))
			return true;
	return false;
}

static void
build_status_part(struct textbuf *b, const struct dsn_input *in,
    const struct dsn_reply *reps, bool global)
{
	char date[40];

	mime_format_date(in->arrival, date, sizeof(date));
	textbuf_puts(b, "Content-Description: Delivery report\r\n");
	if (!global)
		textbuf_puts(b, "Content-Type: message/delivery-status\r\n\r\n");
	else if (!any_8bit_rcpt(in))
		textbuf_puts(b, "Content-Type: message/global-delivery-status\r\n\r\n");
	else
		textbuf_puts(b, "Content-Type: message/global-delivery-status\r\n"
		    "Content-Transfer-Encoding: 8bit\r\n\r\n");
	textbuf_printf(b, "Reporting-MTA: dns; %s\r\n", in->hostname);
	textbuf_printf(b, "X-Homemx-Queue-ID: %s\r\n", in->orig_id);
	textbuf_printf(b, "Arrival-Date: %s\r\n", date);
	for (unsigned i = 0; i < in->nrcpt; i++)
		put_rcpt_fields(b, in, &in->rcpts[i], &reps[i]);
}

/* Normalized headers (LF lines) that may go out raw as 8bit in the global
 * form: clean UTF-8, lines within MIME_LINE_MAX, none starting with "--". */
static bool
headers_are_clean_utf8(const uint8_t *h, size_t n)
{
	size_t start = 0;

	if (!utf8_is_clean(h, n, true))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (h[i] != '\n')
			continue;
		if (i - start > MIME_LINE_MAX ||
		    (i - start >= 2 && h[start] == '-' && h[start + 1] == '-'))
			return false;
		start = i + 1;
	}
	return true;
}

static void
build_headers_part(struct textbuf *b, const struct dsn_input *in, bool global)
{
	size_t len = mime_header_block_len(in->headers, in->headers_len);
	uint8_t *norm = malloc(len + 1);
	bool plain, raw;

	if (norm == NULL) {
		b->overflow = true;
		return;
	}
	size_t n = mime_normalize_headers(in->headers, len, norm, &plain);
	raw = plain || (global && headers_are_clean_utf8(norm, n));
	textbuf_puts(b, "Content-Description: Undelivered Message Headers\r\n");
	textbuf_printf(b, "Content-Type: %s\r\n", global ? "message/global-headers" :
	    "text/rfc822-headers");
	textbuf_printf(b, "Content-Transfer-Encoding: %s\r\n\r\n",
	    plain ? "7bit" : raw ? "8bit" : "quoted-printable");
	if (raw) {
		for (size_t i = 0; i < n; i++) {
			if (norm[i] == '\n')
				textbuf_puts(b, "\r\n");
			else
				textbuf_putc(b, (char)norm[i]);
		}
	} else
		mime_put_qp(b, norm, n);
	free(norm);
}

/* ---- the whole DSN ---------------------------------------------------------- */

static bool
input_is_usable(const struct dsn_input *in)
{
	bool global = dsn_is_global(in);

	if (in->nrcpt == 0 || in->rcpts == NULL || !is_token(in->token) ||
	    in->hostname == NULL || in->orig_id == NULL || in->orig_sender == NULL ||
	    (in->headers == NULL && in->headers_len > 0) ||
	    !is_printable_ascii(in->hostname, DSN_HOST_MAX) ||
	    strchr(in->hostname, ' ') != NULL ||
	    !is_printable_ascii(in->orig_id, DSN_TOKEN_MAX) ||
	    strchr(in->orig_id, ' ') != NULL ||
	    !address_is_usable(in->orig_sender, global))
		return false;
	for (unsigned i = 0; i < in->nrcpt; i++)
		if (!address_is_usable(in->rcpts[i].rcpt, global) ||
		    (in->rcpts[i].reason != DSN_PERMANENT &&
		    in->rcpts[i].reason != DSN_EXPIRED))
			return false;
	return true;
}

/* eight_bit: some part holds raw UTF-8 (only in the global form). */
static void
build_top_header(struct textbuf *b, const struct dsn_input *in,
    const char *subject, bool eight_bit)
{
	char date[40];

	mime_format_date(in->now, date, sizeof(date));
	textbuf_printf(b, "From: \"Mail Delivery System\" <MAILER-DAEMON@%s>\r\n",
	    in->hostname);
	textbuf_printf(b, "To: <%s>\r\n", in->orig_sender);
	put_subject(b, subject);
	textbuf_printf(b, "Date: %s\r\n", date);
	textbuf_printf(b, "Message-ID: <dsn.%s.%s@%s>\r\n", in->token, in->orig_id,
	    in->hostname);
	textbuf_puts(b, "Auto-Submitted: auto-replied\r\n");
	textbuf_puts(b, "MIME-Version: 1.0\r\n");
	textbuf_puts(b, "Content-Type: multipart/report; report-type=delivery-status;\r\n");
	textbuf_printf(b, "\tboundary=\"=_hmx_%s\"\r\n", in->token);
	textbuf_printf(b, "Content-Transfer-Encoding: %s\r\n\r\n", eight_bit ? "8bit" : "7bit");
	textbuf_puts(b, "This is a MIME-encapsulated message: a delivery status "
	    "notification.\r\n");
}

static void
build_parts(struct textbuf *b, const struct dsn_input *in,
    const struct dsn_reply *reps, const char *subject, bool global)
{
	struct textbuf text = { 0 };

	textbuf_printf(b, "\r\n--=_hmx_%s\r\n", in->token);
	textbuf_puts(b, "Content-Description: Notification\r\n");
	textbuf_puts(b, "Content-Type: text/plain; charset=utf-8\r\n");
	textbuf_puts(b, "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	build_human_text(&text, in, reps, subject);
	if (text.overflow)
		b->overflow = true;
	else
		mime_put_qp(b, (const uint8_t *)text.p, text.len);
	textbuf_free(&text);
	textbuf_printf(b, "\r\n--=_hmx_%s\r\n", in->token);
	build_status_part(b, in, reps, global);
	textbuf_printf(b, "\r\n--=_hmx_%s\r\n", in->token);
	build_headers_part(b, in, global);
	textbuf_printf(b, "\r\n--=_hmx_%s--\r\n", in->token);
}

int
dsn_build(const struct dsn_input *in, struct textbuf *out)
{
	char subject[DSN_SUBJECT_MAX + 1];
	struct textbuf parts = { 0 };
	struct dsn_reply *reps;
	bool global = dsn_is_global(in);

	if (!input_is_usable(in))
		return -1;
	if ((reps = calloc(in->nrcpt, sizeof(*reps))) == NULL)
		return -1;
	for (unsigned i = 0; i < in->nrcpt; i++) {
		const char *r = in->rcpts[i].reply;
		dsn_parse_reply(r, r != NULL ? strlen(r) : 0, &reps[i]);
	}
	original_subject(in, subject);
	build_parts(&parts, in, reps, subject, global);
	free(reps);
	build_top_header(out, in, subject, global && utf8_has_8bit(parts.p, parts.len));
	if (parts.len > 0)
		textbuf_put(out, parts.p, parts.len);
	if (parts.overflow)
		out->overflow = true;
	textbuf_free(&parts);
	if (out->overflow) {
		textbuf_free(out);
		return -1;
	}
	return 0;
}
