// SOURCES: screen/authres.c screen/message.c screen/score.c lib/addr.c lib/addr_intl.c lib/utf8.c
// LIBS: -lidn2 -lunistring
/*
 * tests/fuzz/fuzz_authres.c - the Authentication-Results writer and the
 * finder of forged fields (screen/authres.c) on arbitrary values and
 * messages.
 * Input: byte 0 picks the null sender, the SPF result, how many DKIM
 * signatures and DMARC domains are reported and their results; then
 * NUL-separated: HELO, MAIL FROM, d=, s=, a DKIM reason, a From domain, an
 * authserv-id; the rest is a message for the finder.
 * Checks on the field written: it fits AUTHRES_FIELD_MAX; it holds only
 * printable ASCII, TAB and CRLF; every line ends with CRLF, is at most 998
 * octets and every line after the first starts with a TAB; outside quoted
 * strings and comments it has exactly one ';' per result (values cannot
 * add results); written as a message with authserv-id mx.home.test, the
 * finder returns exactly that whole field. Checks on the finder: ranges
 * are whole indexed fields named Authentication-Results, in order, within
 * the header section.
 */
#include <sys/mman.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../../screen/authres.h"
#include "../../screen/message.h"

#define NFIELDS	7

static int	fd = -1;

static struct screen_message *
open_bytes(const void *p, size_t n)
{
	const char *why;
	struct screen_message *m;

	if (ftruncate(fd, 0) != 0 || (n > 0 && pwrite(fd, p, n, 0) != (ssize_t)n))
		abort();
	if ((m = screen_message_open(fd, &why)) == NULL)
		abort();
	return m;
}

/* ';' outside quoted strings and comments. */
static size_t
count_results(const char *t)
{
	size_t n = 0;
	unsigned depth = 0;
	bool quote = false;

	for (; *t != '\0'; t++) {
		if ((quote || depth > 0) && *t == '\\') {
			if (*++t == '\0')
				abort();
			continue;
		}
		if (quote)
			quote = *t != '"';
		else if (*t == '"' && depth == 0)
			quote = true;
		else if (*t == '(')
			depth++;
		else if (*t == ')' && depth > 0)
			depth--;
		else if (*t == ';' && depth == 0)
			n++;
	}
	if (quote || depth > 0)
		abort();
	return n;
}

static void
check_lines(const char *t, size_t len)
{
	size_t start = 0;

	if (len < 2 || t[len - 2] != '\r' || t[len - 1] != '\n')
		abort();
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c == '\r') {
			if (t[i + 1] != '\n' || i - start > AUTHRES_LINE_HARD)
				abort();
			if (i + 2 < len && t[i + 2] != '\t')
				abort();
			start = i + 2;
			i++;
		} else if (c != '\t' && (c < ' ' || c > '~'))
			abort();
	}
}

static void
check_writer(const char *fields[NFIELDS], uint8_t ctl)
{
	static const char *const spf[] = { "spf_pass", "spf_fail", "spf_softfail", "spf_none" };
	static char buf[AUTHRES_FIELD_MAX];
	struct screen_facts f;
	struct score s;
	struct authres_range r[2];
	struct screen_message *m;
	size_t want = 0;
	int n;

	memset(&f, 0, sizeof(f));
	f.flags = (ctl & 1) ? SCREEN_FACT_NULL_SENDER : SCREEN_FACT_MAIL_SEEN;
	snprintf(f.helo, sizeof(f.helo), "%s", fields[0]);
	snprintf(f.mail_from, sizeof(f.mail_from), "%s", fields[1]);
	score_init(&s);
	if (ctl & 2) {
		score_add(&s, spf[(ctl >> 2) & 3], 0, "x");
		want++;
	}
	s.dkim_done = (ctl & 0x10) != 0;
	s.ndkim = s.dkim_done ? (ctl >> 5) & 7 : 0;
	want += s.dkim_done ? (s.ndkim > 0 ? s.ndkim : 1) : 0;
	for (size_t i = 0; i < s.ndkim; i++) {
		struct score_dkim *k = &s.dkim[i];
		k->result = (enum auth_result)(i % 5);
		snprintf(k->domain, sizeof(k->domain), "%s", fields[2]);
		snprintf(k->selector, sizeof(k->selector), "%s", fields[3]);
		snprintf(k->reason, sizeof(k->reason), "%s", fields[4]);
		snprintf(k->alg, sizeof(k->alg), "%.15s", fields[3]);
		snprintf(k->b, sizeof(k->b), "%.8s", fields[4]);
	}
	s.ndmarc = (ctl >> 6) & 3;
	want += s.ndmarc;
	for (size_t i = 0; i < s.ndmarc; i++) {
		s.dmarc[i].result = (enum auth_result)((i + ctl) % 5);
		snprintf(s.dmarc[i].from_domain, sizeof(s.dmarc[i].from_domain), "%s", fields[5]);
		snprintf(s.dmarc[i].policy, sizeof(s.dmarc[i].policy), "%s", i ? "reject" : "");
	}
	n = authres_format(fields[6], &f, &s, buf, sizeof(buf));
	if (n <= 0 || (size_t)n != strlen(buf))
		abort();
	check_lines(buf, (size_t)n);
	if (count_results(buf + strlen("Authentication-Results:")) != (want > 0 ? want : 1))
		abort();
	/* our own field is found, whole */
	n = authres_format("mx.home.test", &f, &s, buf, sizeof(buf));
	m = open_bytes(buf, (size_t)n);
	if (authres_find_ours(m, "mx.home.test", r, 2) != 1 || r[0].off != 0 ||
	    r[0].len != (size_t)n)
		abort();
	screen_message_free(m);
}

static void
check_finder(const uint8_t *msg, size_t len, const char *id)
{
	static struct authres_range r[MSG_FIELDS_MAX];
	struct screen_message *m = open_bytes(msg, len);
	size_t n = authres_find_ours(m, id, r, MSG_FIELDS_MAX), fi = 0;

	if (n > MSG_FIELDS_MAX)
		abort();
	for (size_t i = 0; i < n; i++) {
		while (fi < m->nfields && m->field[fi].off != r[i].off)
			fi++;
		if (fi == m->nfields || m->field[fi].end - m->field[fi].off != r[i].len ||
		    !msg_field_is(m, &m->field[fi], "Authentication-Results") ||
		    r[i].off + r[i].len > m->hdr_len)
			abort();
		fi++;
	}
	screen_message_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char copy[4096 + 1];
	const char *fields[NFIELDS];
	size_t o = 1;

	if (size < 1 || size > 4096)
		return 0;
	if (fd == -1)
		fd = memfd_create("fuzz", 0);
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (int i = 0; i < NFIELDS; i++) {
		fields[i] = copy + o;
		o += strnlen(copy + o, size - o);
		if (o < size)
			o++;
	}
	check_writer(fields, data[0]);
	check_finder(data + o, size - o, fields[6][0] != '\0' ? fields[6] : "mx.home.test");
	return 0;
}
