// SOURCES: supervisor/rolelog.c lib/log.c lib/util.c
// LIBS: -levent
/*
 * tests/fuzz/fuzz_rolelog.c - what a role writes to its log pipe, as
 * homemxd reads it (supervisor/rolelog.c): a compromised role controls
 * every byte. Input: byte 0 picks the size of the pieces the rest arrives
 * in (so line ends and cuts fall at every offset), the rest is the stream.
 * Each complete line also goes through log_take_priority(), the parse of
 * the "<N>" prefix homemxd does with -S. Output goes to /dev/null.
 */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "../../supervisor/rolelog.h"

static struct event_base	*base;

static void
init_once(void)
{
	int null;

	if (base != NULL)
		return;
	base = event_base_new();
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	log_init("homemxd", LOG_SINK_STDERR);
	log_set_output(null);
}

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rolelog *rl;
	int wfd;

	if (size == 0)
		return 0;
	init_once();
	if ((rl = rolelog_new(base, "homemx-fuzz", &wfd)) == NULL)
		return 0;
	rolelog_started(rl, 1);		/* closes the write end: EOF at release */
	size_t piece = (size_t)data[0] * 67 + 1;	/* 1 .. 17086 bytes */
	const char *p = (const char *)data + 1;
	size_t n = size - 1;
	for (size_t off = 0; off < n; off += piece)
		rolelog_feed(rl, p + off, n - off < piece ? n - off : piece);
	rolelog_release(rl);

	for (const char *line = p, *end = p + n; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t len = nl != NULL ? (size_t)(nl - line) : (size_t)(end - line);
		const char *l = line;
		int prio = log_take_priority(&l, &len);
		if (prio < -1 || prio > 7 || l < line)
			__builtin_trap();
		line = nl != NULL ? nl + 1 : end;
	}
	return 0;
}
