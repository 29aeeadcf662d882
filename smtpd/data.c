/*
 * smtpd/data.c - reads the DATA stream one octet at a time through a small
 * state machine, so that the result cannot depend on how TCP cut it.
 *
 * Owns: dot-unstuffing (RFC 5321 4.5.2), the end-of-data rule, the text
 * line limit (RFC 5321 4.5.3.1.6: 1000 octets incl. CRLF, not counting the
 * stuffed dot) and the size limit. Why a byte machine and not line
 * splitting: every smuggling variant ("\n.\n", "\r.\r", "\r\n.\n", ...)
 * lives in the corner cases of line splitting, and a machine whose only
 * accepting path is CR LF "." CR LF has no such corners. The stuffing dot
 * is never emitted and a CR is emitted as soon as we know it is data, so
 * no byte is held back between calls except a "." CR pair, which is
 * replayed if it turns out not to be the end.
 */
#include "command.h"
#include "data.h"

void
data_scanner_init(struct data_scanner *d, uint64_t max_size, data_sink_fn sink,
    void *sink_arg)
{
	d->state = DATA_BOL;
	d->max_size = max_size;
	d->size = 0;
	d->line_len = 0;
	d->flags = 0;
	d->sink = sink;
	d->sink_arg = sink_arg;
}

bool
data_scanner_done(const struct data_scanner *d)
{
	return d->state == DATA_DONE;
}

/*
 * Passes message bytes on, up to max_size in total: the sink sees exactly
 * the first max_size octets of an oversized message, however it was cut.
 */
static void
emit(struct data_scanner *d, const uint8_t *p, size_t n)
{
	uint64_t room = d->size < d->max_size ? d->max_size - d->size : 0;
	size_t pass = n;

	if (n == 0)
		return;
	if (n > room) {
		d->flags |= DATA_TOO_BIG;
		pass = (size_t)room;
	}
	d->size += n;
	if (pass > 0 && d->sink != NULL)
		d->sink(d->sink_arg, p, pass);
}

static void
count_line_octet(struct data_scanner *d)
{
	if (++d->line_len > SMTP_TEXT_LINE_MAX - 2)
		d->flags |= DATA_LINE_TOO_LONG;
}

/* One octet in DATA_TEXT; the octet itself is emitted by the caller's run. */
static void
scan_text(struct data_scanner *d, uint8_t c)
{
	switch (c) {
	case '\r':
		d->state = DATA_CR;
		return;
	case '\n':
		d->flags |= DATA_BARE_LF;
		break;
	case '\0':
		d->flags |= DATA_NUL;
		break;
	}
	count_line_octet(d);
}

size_t
data_scanner_feed(struct data_scanner *d, const uint8_t *buf, size_t len)
{
	static const uint8_t cr = '\r';
	size_t i = 0, run = 0;	/* buf[run..i) is data not yet emitted */

	while (i < len && d->state != DATA_DONE) {
		uint8_t c = buf[i];

		switch (d->state) {
		case DATA_BOL:
			if (c == '.') {
				/* Either stuffing or the end: never data. */
				emit(d, buf + run, i - run);
				run = ++i;
				d->state = DATA_DOT;
			} else
				d->state = DATA_TEXT;
			break;
		case DATA_DOT:
			if (c == '\r') {
				run = ++i;	/* held back until we see the LF */
				d->state = DATA_DOT_CR;
			} else
				d->state = DATA_TEXT;	/* the dot was stuffing */
			break;
		case DATA_DOT_CR:
			if (c == '\n') {
				run = ++i;
				d->state = DATA_DONE;
				break;
			}
			/* "." CR x: the dot was stuffing, the CR is bare data. */
			emit(d, &cr, 1);
			d->flags |= DATA_BARE_CR;
			count_line_octet(d);
			d->state = DATA_TEXT;
			break;
		case DATA_TEXT:
			scan_text(d, c);
			i++;
			break;
		case DATA_CR:
			if (c == '\n') {
				i++;
				d->line_len = 0;
				d->state = DATA_BOL;
				break;
			}
			d->flags |= DATA_BARE_CR;
			count_line_octet(d);
			d->state = DATA_TEXT;	/* c is looked at again as text */
			break;
		case DATA_DONE:
			break;
		}
	}
	emit(d, buf + run, i - run);
	return i;
}
