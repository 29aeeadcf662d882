/*
 * relay/dotstuff.c - see dotstuff.h. Pure: bytes in, bytes out.
 */
#include "dotstuff.h"

void
dotstuff_init(struct dotstuff *d)
{
	d->at_line_start = true;
	d->last_was_cr = false;
	d->empty = true;
}

size_t
dotstuff_chunk(struct dotstuff *d, const uint8_t *in, size_t len, uint8_t *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = in[i];
		if (d->at_line_start && c == '.')
			out[o++] = '.';
		if (c == '\n' && !d->last_was_cr)
			out[o++] = '\r';
		out[o++] = c;
		d->at_line_start = c == '\n';
		d->last_was_cr = c == '\r';
	}
	if (len > 0)
		d->empty = false;
	return o;
}

size_t
dotstuff_finish(const struct dotstuff *d, uint8_t *out)
{
	size_t o = 0;

	if (!d->empty && !d->at_line_start) {
		if (!d->last_was_cr)
			out[o++] = '\r';
		out[o++] = '\n';
	}
	out[o++] = '.';
	out[o++] = '\r';
	out[o++] = '\n';
	return o;
}
