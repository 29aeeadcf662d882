/*
 * lib/ipc_ctl.c - encoders, validating decoders and the frame-splitting
 * writer of the control messages (lib/ipc_ctl.h has the layouts and why
 * an answer is a list of records).
 *
 * Owns: the field checks. A decoder fills its output only through the
 * cursor, checks each field by its kind, and fails on trailing bytes;
 * every count is bounded by our own arrays, never by what the peer says.
 */
#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "ipc_ctl.h"
#include "ipc_text.h"
#include "util.h"

const char *
ctl_verb_name(enum ctl_verb v)
{
	switch (v) {
	case CTL_STATUS:	return "status";
	case CTL_METRICS:	return "metrics";
	case CTL_RELOAD:	return "reload";
	case CTL_LOG_FOLLOW:	return "log";
	case CTL_QUEUE_LIST:	return "queue_list";
	case CTL_QUEUE_SHOW:	return "queue_show";
	case CTL_QUEUE_FLUSH:	return "queue_flush";
	case CTL_QUEUE_DELETE:	return "queue_delete";
	case CTL_QUEUE_HOLD:	return "queue_hold";
	case CTL_QUEUE_RELEASE:	return "queue_release";
	case CTL_QUEUE_BOUNCE:	return "queue_bounce";
	}
	return "?";
}

const char *
ctl_status_name(enum ctl_status s)
{
	switch (s) {
	case CTL_OK:		return "ok";
	case CTL_MORE:		return "more";
	case CTL_NOT_FOUND:	return "not_found";
	case CTL_REFUSED:	return "refused";
	case CTL_BUSY:		return "busy";
	case CTL_ROLE_DOWN:	return "role_down";
	case CTL_DENIED:	return "denied";
	case CTL_FAILED:	return "failed";
	}
	return "?";
}

bool
ctl_key_is_valid(const char *s, size_t len)
{
	return util_is_snake_name(s, len, CTL_KEY_MAX);
}

static size_t
digits(const char *s, size_t len)
{
	size_t n = 0;

	while (n < len && s[n] >= '0' && s[n] <= '9')
		n++;
	return n;
}

bool
ctl_number_is_valid(const char *s, size_t len)
{
	size_t i = 0, n;

	if (len > 0 && s[0] == '-')
		i++;
	if ((n = digits(s + i, len - i)) == 0)
		return false;
	i += n;
	if (i == len)
		return true;
	if (s[i] != '.')
		return false;
	i++;
	return (n = digits(s + i, len - i)) > 0 && i + n == len;
}

/* ---- the question ------------------------------------------------------- */

void
ipc_encode_ctl_ask(struct ipc_builder *b, enum ctl_verb verb, unsigned nargs,
    const char *const *args)
{
	ipc_build_init(b);
	ipc_put_u8(b, (uint8_t)verb);
	ipc_put_u8(b, (uint8_t)nargs);
	for (unsigned i = 0; i < nargs; i++)
		ipc_put_str(b, args[i]);
}

static int
finish(struct ipc_cursor *c, const char **why)
{
	if (ipc_take_end(c) == -1) {
		*why = c->why;
		return -1;
	}
	return 0;
}

int
ipc_decode_ctl_ask(const struct ipc_frame *f, struct msg_ctl_ask *m,
    const char **why)
{
	struct ipc_cursor c;
	uint8_t verb = 0, n = 0;

	memset(m, 0, sizeof(*m));
	ipc_cursor_init(&c, f);
	(void)ipc_take_u8(&c, &verb);
	(void)ipc_take_u8(&c, &n);
	if (c.why == NULL && (verb < CTL_STATUS || verb > CTL_VERB_MAX))
		c.why = "bad verb";
	if (c.why == NULL && n > CTL_ARGS_MAX)
		c.why = "too many arguments";
	for (unsigned i = 0; c.why == NULL && i < n; i++) {
		(void)ipc_take_str(&c, m->arg[i], sizeof(m->arg[i]));
		size_t len = strlen(m->arg[i]);
		if (c.why == NULL && (len == 0 || !ipc_token_is_valid(m->arg[i], len)))
			c.why = "bad argument";
	}
	m->verb = (enum ctl_verb)verb;
	m->nargs = n;
	return finish(&c, why);
}

/* ---- the answer --------------------------------------------------------- */

/* Copies a string of the payload into the arena; NULL (c->why) if not. */
static const char *
take_arena_str(struct ipc_cursor *c, struct msg_ctl_answer *m, size_t max)
{
	size_t room = sizeof(m->arena) - m->used;
	char *dst = m->arena + m->used;

	if (c->why != NULL)
		return NULL;
	if (room > max + 1)
		room = max + 1;
	if (ipc_take_str(c, dst, room) == -1)
		return NULL;
	m->used += strlen(dst) + 1;
	return dst;
}

static void
take_field(struct ipc_cursor *c, struct msg_ctl_answer *m)
{
	struct ctl_field *fl = &m->field[m->nfield];
	uint8_t kind = 0;

	fl->key = take_arena_str(c, m, CTL_KEY_MAX);
	(void)ipc_take_u8(c, &kind);
	fl->value = take_arena_str(c, m, CTL_VALUE_MAX);
	if (c->why != NULL)
		return;
	if (!ctl_key_is_valid(fl->key, strlen(fl->key)))
		c->why = "bad key";
	else if (kind == CTL_KIND_TEXT &&
	    !ipc_text_line_is_valid(fl->value, strlen(fl->value)))
		c->why = "bad text value";
	else if (kind == CTL_KIND_NUMBER &&
	    !ctl_number_is_valid(fl->value, strlen(fl->value)))
		c->why = "bad number";
	else if (kind > CTL_KIND_NUMBER)
		c->why = "bad kind";
	fl->kind = (enum ctl_kind)kind;
	if (c->why == NULL)
		m->nfield++;
}

static void
take_record(struct ipc_cursor *c, struct msg_ctl_answer *m)
{
	struct ctl_record *r = &m->rec[m->nrec];
	uint8_t n = 0;

	(void)ipc_take_u8(c, &n);
	if (c->why == NULL && (n == 0 || n > CTL_FIELDS_MAX))
		c->why = "bad field count";
	if (c->why == NULL && m->nfield + n > CTL_FIELDS_TOTAL)
		c->why = "too many fields";
	r->first = m->nfield;
	r->n = n;
	for (unsigned i = 0; c->why == NULL && i < n; i++)
		take_field(c, m);
	if (c->why == NULL)
		m->nrec++;
}

int
ipc_decode_ctl_answer(const struct ipc_frame *f, struct msg_ctl_answer *m,
    const char **why)
{
	struct ipc_cursor c;
	uint8_t st = 0;
	uint16_t n = 0;

	m->nrec = m->nfield = 0;
	m->used = 0;
	m->text[0] = '\0';
	ipc_cursor_init(&c, f);
	(void)ipc_take_u8(&c, &st);
	(void)ipc_take_str(&c, m->text, sizeof(m->text));
	(void)ipc_take_u16(&c, &n);
	if (c.why == NULL && (st < CTL_OK || st > CTL_STATUS_MAX))
		c.why = "bad status";
	if (c.why == NULL && !ipc_text_line_is_valid(m->text, strlen(m->text)))
		c.why = "bad text line";
	if (c.why == NULL && n > CTL_RECORDS_MAX)
		c.why = "too many records";
	m->status = (enum ctl_status)st;
	for (unsigned i = 0; c.why == NULL && i < n; i++)
		take_record(&c, m);
	return finish(&c, why);
}

const char *
ctl_record_get(const struct msg_ctl_answer *m, unsigned r, const char *key)
{
	if (r >= m->nrec)
		return NULL;
	for (unsigned i = 0; i < m->rec[r].n; i++)
		if (strcmp(m->field[m->rec[r].first + i].key, key) == 0)
			return m->field[m->rec[r].first + i].value;
	return NULL;
}

/* ---- the writer --------------------------------------------------------- */

static void
put_clean_line(struct ipc_builder *b, const char *s, size_t max)
{
	char clean[CTL_TEXT_MAX > CTL_VALUE_MAX ? CTL_TEXT_MAX + 1 : CTL_VALUE_MAX + 1];

	if (max >= sizeof(clean))
		max = sizeof(clean) - 1;
	ipc_text_line_clean(clean, max + 1, s, strlen(s));
	ipc_put_str(b, clean);
}

static void
frame_begin(struct ctl_writer *w, enum ctl_status st, const char *text)
{
	ipc_build_init(&w->b);
	ipc_put_u8(&w->b, (uint8_t)st);
	put_clean_line(&w->b, text, CTL_TEXT_MAX);
	w->nrec_off = w->b.len;
	ipc_put_u16(&w->b, 0);
	w->nrec = 0;
	w->in_rec = false;
}

void
ctl_writer_init(struct ctl_writer *w, ctl_send_fn *send, void *arg)
{
	w->send = send;
	w->arg = arg;
	frame_begin(w, CTL_MORE, "");
}

static void
close_record(struct ctl_writer *w)
{
	if (!w->in_rec)
		return;
	if (w->rec_nfield == 0) {
		w->b.len = w->rec_off;	/* an empty record is not sent */
		w->nrec--;
	} else
		w->b.buf[w->rec_off] = (uint8_t)w->rec_nfield;
	w->in_rec = false;
}

static void
patch_nrec(struct ctl_writer *w)
{
	w->b.buf[w->nrec_off] = (uint8_t)(w->nrec >> 8);
	w->b.buf[w->nrec_off + 1] = (uint8_t)w->nrec;
}

void
ctl_rec_begin(struct ctl_writer *w)
{
	close_record(w);
	if (w->b.len > CTL_FRAME_FILL || w->nrec >= CTL_RECORDS_MAX - 1) {
		patch_nrec(w);
		w->send(&w->b, w->arg);
		frame_begin(w, CTL_MORE, "");
	}
	w->rec_off = w->b.len;
	ipc_put_u8(&w->b, 0);
	w->rec_nfield = 0;
	w->nrec++;
	w->in_rec = true;
}

static bool
field_room(struct ctl_writer *w, const char *key)
{
	return w->in_rec && w->rec_nfield < CTL_FIELDS_MAX &&
	    ctl_key_is_valid(key, strlen(key));
}

void
ctl_field_text(struct ctl_writer *w, const char *key, const char *value)
{
	if (!field_room(w, key))
		return;
	ipc_put_str(&w->b, key);
	ipc_put_u8(&w->b, CTL_KIND_TEXT);
	put_clean_line(&w->b, value, CTL_VALUE_MAX);
	w->rec_nfield++;
}

void
ctl_field_number(struct ctl_writer *w, const char *key, const char *value)
{
	if (!field_room(w, key))
		return;
	ipc_put_str(&w->b, key);
	ipc_put_u8(&w->b, CTL_KIND_NUMBER);
	ipc_put_str(&w->b, ctl_number_is_valid(value, strlen(value)) ? value : "0");
	w->rec_nfield++;
}

void
ctl_field_u64(struct ctl_writer *w, const char *key, uint64_t value)
{
	char num[24];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)value);
	ctl_field_number(w, key, num);
}

void
ctl_writer_finish(struct ctl_writer *w, enum ctl_status st, const char *text)
{
	static struct ipc_builder nb;	/* 65 KB: not on the stack */

	close_record(w);
	patch_nrec(w);
	w->b.buf[0] = (uint8_t)st;
	if (text[0] == '\0') {
		w->send(&w->b, w->arg);
		return;
	}
	/* The text sits before the records (frame_begin wrote it empty):
	 * the same frame again, with the text. */
	size_t rest = w->b.len - w->nrec_off;
	ipc_build_init(&nb);
	ipc_put_u8(&nb, (uint8_t)st);
	put_clean_line(&nb, text, CTL_TEXT_MAX);
	if (nb.len + rest > sizeof(nb.buf))
		nb.overflow = true;
	else {
		memcpy(nb.buf + nb.len, w->b.buf + w->nrec_off, rest);
		nb.len += rest;
	}
	w->send(&nb, w->arg);
}

void
ipc_encode_ctl_answer_bare(struct ipc_builder *b, enum ctl_status st,
    const char *text)
{
	char clean[CTL_TEXT_MAX + 1];

	ipc_text_line_clean(clean, sizeof(clean), text, strlen(text));
	ipc_build_init(b);
	ipc_put_u8(b, (uint8_t)st);
	ipc_put_str(b, clean);
	ipc_put_u16(b, 0);
}

/* ---- the socket --------------------------------------------------------- */

int
ctl_socket_path(const struct config *c, char *out, size_t size)
{
	char copy[CONFIG_PATH_MAX];

	snprintf(copy, sizeof(copy), "%s", c->store_dir);
	int n = snprintf(out, size, "%s/control", dirname(copy));
	return n < 0 || (size_t)n >= size ? -1 : 0;
}
