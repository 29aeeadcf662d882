// SOURCES: queue/envelope.c lib/ipc_decode.c lib/ipc_decode_send.c lib/ipc_ctl.c lib/ipc_text.c lib/ipc.c lib/addr.c lib/addr_intl.c lib/log.c lib/ipc_screen.c lib/ipc_bounce.c lib/batv.c lib/utf8.c
// LIBS: -levent -lidn2 -lunistring
/*
 * tests/fuzz/fuzz_envelope.c - the queue's envelope file parser
 * (queue/envelope.c) on arbitrary bytes. The spool is the queue's own, but
 * a crash, a full disk or an administrator's editor can leave anything in
 * it, and the queue parses every envelope at start-up. Checks: no crash or
 * UB; an accepted envelope obeys every bound (valid id, 1..IPC_MAX_RCPTS
 * recipients, NUL-terminated fields); and the writer accepts what the
 * parser accepted, with format(parse(x)) parsing back to the same envelope
 * and formatting to the same bytes (the writer is canonical). And the
 * crash rule of the one-flush commit: a file that parses is never torn,
 * a written file is not torn, and its strict prefixes are torn.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../queue/envelope.h"

static char text1[ENVELOPE_TEXT_MAX], text2[ENVELOPE_TEXT_MAX];

static void
check_bounds(const struct envelope *e)
{
	if (!queue_id_is_valid(e->id))
		abort();
	if (e->nrcpt == 0 || e->nrcpt > IPC_MAX_RCPTS || e->rcpt == NULL)
		abort();
	if (e->source < SOURCE_SMTP || e->source > SOURCE_MAX)
		abort();
	if (e->arrival > ENVELOPE_TIME_MAX || e->next_attempt > ENVELOPE_TIME_MAX ||
	    e->attempts > ENVELOPE_ATTEMPTS_MAX)
		abort();
	if (memchr(e->helo, '\0', sizeof(e->helo)) == NULL ||
	    memchr(e->client_ip, '\0', sizeof(e->client_ip)) == NULL ||
	    memchr(e->sender, '\0', sizeof(e->sender)) == NULL)
		abort();
	for (unsigned i = 0; i < e->nrcpt; i++)
		if (memchr(e->rcpt[i], '\0', sizeof(e->rcpt[i])) == NULL ||
		    e->rcpt[i][0] == '\0')
			abort();
}

static void
check_same(const struct envelope *a, const struct envelope *b)
{
	if (strcmp(a->id, b->id) != 0 || a->arrival != b->arrival ||
	    a->source != b->source || strcmp(a->client_ip, b->client_ip) != 0 ||
	    strcmp(a->helo, b->helo) != 0 || strcmp(a->sender, b->sender) != 0 ||
	    a->nrcpt != b->nrcpt || a->attempts != b->attempts ||
	    a->next_attempt != b->next_attempt || a->hold != b->hold ||
	    a->has_body_size != b->has_body_size || a->body_size != b->body_size)
		abort();
	for (unsigned i = 0; i < a->nrcpt; i++)
		if (strcmp(a->rcpt[i], b->rcpt[i]) != 0)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope e, back;
	size_t len1, len2;
	unsigned line;

	if (envelope_parse((const char *)data, size, &e, &line) != ENVELOPE_OK) {
		if (e.rcpt != NULL)	/* nothing to free on failure */
			abort();
		(void)envelope_is_torn((const char *)data, size);
		return 0;
	}
	if (envelope_is_torn((const char *)data, size))
		abort();	/* a whole envelope called torn: it would be deleted */
	check_bounds(&e);
	if (envelope_format(&e, text1, sizeof(text1), &len1) == -1)
		abort();	/* the writer refused what the parser accepted */
	if (envelope_is_torn(text1, len1) || !envelope_is_torn(text1, len1 - 1) ||
	    !envelope_is_torn(text1, len1 / 2) || !envelope_is_torn(text1, 0))
		abort();
	if (envelope_parse(text1, len1, &back, &line) != ENVELOPE_OK)
		abort();
	check_same(&e, &back);
	if (envelope_format(&back, text2, sizeof(text2), &len2) == -1 ||
	    len1 != len2 || memcmp(text1, text2, len1) != 0)
		abort();
	envelope_free(&back);
	envelope_free(&e);
	return 0;
}
