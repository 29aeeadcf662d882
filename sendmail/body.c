/*
 * sendmail/body.c - what a program writes, as SMTP DATA (RFC 5321 4.5.2).
 *
 * Owns: the byte-level conversion of the message text. Pure and
 * streaming: a few flags of state, output through a callback, so a 30 MB
 * message costs no more memory than a short one. The rules:
 *	LF or CRLF ends a line; it goes out as CRLF. A CR not before an LF
 *	is dropped: the server refuses a bare CR (smtpd/data.c, SMTP
 *	smuggling), and a program meant none.
 *	A line starting with "." gets another one (dot-stuffing).
 *	Without -i, a line holding only "." ends the input (what
 *	sendmail(8) has always done for mail(1) users); with -i it is text.
 *	A line over 998 octets (RFC 5322 2.1.1) is broken in two, as
 *	Postfix does: the server refuses longer lines, and a cron job's long
 *	output must not lose its mail.
 */
#include <string.h>

#include "sendmail.h"

void
sm_body_init(struct sm_body *b, bool ignore_dots, sm_emit_fn emit, void *arg)
{
	memset(b, 0, sizeof(*b));
	b->ignore_dots = ignore_dots;
	b->emit = emit;
	b->arg = arg;
}

static void
line_end(struct sm_body *b)
{
	b->emit(b->arg, "\r\n", 2);
	b->col = 0;
}

/* One octet of line content (never CR or LF). */
static void
put_char(struct sm_body *b, char c)
{
	if (b->col == SM_LINE_MAX)
		line_end(b);
	if (b->col == 0 && c == '.') {
		b->emit(b->arg, ".", 1);	/* stuffed; not counted */
	}
	b->emit(b->arg, &c, 1);
	b->col++;
}

/* The held "." at the start of a line meets c (-1: a line end). */
static bool
resolve_dot(struct sm_body *b, int c)
{
	b->pending_dot = false;
	if (c == -1 && !b->ignore_dots) {
		b->ended = true;
		return true;
	}
	put_char(b, '.');
	return false;
}

size_t
sm_body_feed(struct sm_body *b, const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len && !b->ended; i++) {
		char c = buf[i];
		if (c == '\n') {
			b->pending_cr = false;
			if (b->pending_dot && resolve_dot(b, -1))
				return i + 1;
			line_end(b);
			continue;
		}
		b->pending_cr = false;
		if (c == '\r') {
			b->pending_cr = true;	/* dropped unless an LF follows */
			continue;
		}
		if (b->pending_dot)
			(void)resolve_dot(b, c);
		if (b->col == 0 && c == '.' && !b->pending_dot) {
			b->pending_dot = true;
			continue;
		}
		put_char(b, c);
	}
	return i;
}

void
sm_body_finish(struct sm_body *b)
{
	if (b->ended)
		return;
	if (b->pending_dot && resolve_dot(b, -1))
		return;
	if (b->col > 0)
		line_end(b);
}
