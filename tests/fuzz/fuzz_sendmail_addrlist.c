// SOURCES: sendmail/addrlist.c sendmail/header.c lib/addr.c lib/addr_intl.c lib/utf8.c
// LIBS: -lidn2 -lunistring
/*
 * tests/fuzz/fuzz_sendmail_addrlist.c - what sendmail -t reads from a
 * program's header section (sendmail/addrlist.c, sendmail/header.c) on
 * arbitrary bytes. The address-list parser: no more addresses than asked
 * for, each within ADDR_MAX, its end inside the value and "qualified"
 * exactly when it has an '@'. The same bytes as header lines through the
 * rewrite with -t: what goes out is CRLF-ended lines only, never a Bcc:
 * field, and every recipient collected is a valid RFC 5321 mailbox.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../sendmail/sendmail.h"

static struct sm_addr	addrs[16];
static char		rcpts[SM_RCPTS_MAX][ADDR_MAX + 1];
static struct sm_header	h;

static void
check_list(const char *v, size_t len)
{
	size_t n = 0;

	if (sm_addrlist_parse(v, len, addrs, 16, &n) != SM_LIST_OK)
		return;
	if (n > 16)
		abort();
	for (size_t i = 0; i < n; i++) {
		size_t l = strnlen(addrs[i].text, sizeof(addrs[i].text));
		if (l == 0 || l > ADDR_MAX || addrs[i].end > len)
			abort();
		if (addrs[i].qualified != (memchr(addrs[i].text, '@', l) != NULL))
			abort();
	}
}

/* Every line of the output ends in CRLF, has no other CR or LF, and
 * starts no Bcc: field. */
static void
check_output(void)
{
	size_t i = 0;

	while (i < h.len) {
		const char *line = h.buf + i;
		const char *lf = memchr(line, '\n', h.len - i);
		if (lf == NULL || lf == line || lf[-1] != '\r')
			abort();
		size_t n = (size_t)(lf - line) - 1;
		if (memchr(line, '\r', n) != NULL)
			abort();
		if ((n >= 4 && strncasecmp(line, "bcc:", 4) == 0) ||
		    (n >= 11 && strncasecmp(line, "resent-bcc:", 11) == 0))
			abort();
		i += n + 2;
	}
}

static void
check_header(const char *data, size_t size)
{
	struct sm_header_input in = { .domain = "mx.example.test", .collect_rcpts = true };
	struct mailaddr m;
	size_t i = 0;
	bool have_field = false;

	sm_header_init(&h, rcpts);
	while (i < size) {
		const char *line = data + i;
		const char *nl = memchr(line, '\n', size - i);
		size_t len = nl != NULL ? (size_t)(nl - line) : size - i;
		i += len + (nl != NULL);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		/* what sendmail.c does: the section ends at a line that is no field */
		if (len == 0 || memchr(line, '\r', len) != NULL ||
		    !sm_header_line_is_field(line, len, have_field))
			break;
		have_field = true;
		if (sm_header_add_line(&h, &in, line, len) != SM_HEADER_OK)
			return;
	}
	if (sm_header_finish(&h, &in) != SM_HEADER_OK)
		return;
	check_output();
	for (size_t k = 0; k < h.nrcpt; k++)
		if (addr_parse_mailbox(rcpts[k], strlen(rcpts[k]), &m) != ADDR_OK)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_list((const char *)data, size);
	check_header((const char *)data, size);
	return 0;
}
