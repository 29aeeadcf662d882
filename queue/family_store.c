/*
 * queue/family_store.c - the relay's remembered IPv6->IPv4 fallbacks on
 * disk: spool_dir/state/family.
 *
 * Owns: spool_dir/state/ and the memory of which destinations (MX host
 * names, recipient domains) go out over IPv4 only until when, after a
 * server refused us over IPv6 with 5.7.x (relay/family.c, relay/job.c).
 * Why here: the relay runs chrooted in an empty directory and keeps
 * nothing; the queue owns a disk directory. The relay tells us each pin
 * (MSG_RELAY_FAMILY_LEARNED) and gets them all back when its link comes up
 * (MSG_QUEUE_FAMILY_MEMORY, queue/relay.c), so a restart of the relay, of
 * the queue or of the whole daemon does not cost a refused IPv6 attempt
 * per destination again.
 *
 * Everything from the relay is checked before it touches the file: names
 * by the decoder (a valid lowercase domain name), until against our clock
 * and family_fallback_memory; the memory holds at most FAMILY_STORE_MAX
 * names (when full, the pin that expires first makes room), and the file
 * is rewritten at most once per FAMILY_WRITE_INTERVAL, so a hostile relay
 * can neither grow it nor keep the disk busy.
 *
 * Order of a write (the whole file each time; it is small and changes
 * rarely; util_replace_file_at, lib/util.h): family.tmp written, fsync,
 * rename to family, fsync(state/).
 * A crash leaves the old file or the new one. The write is synchronous in
 * the event loop: a few milliseconds, a few times a week.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "family_store.h"
#include "log.h"
#include "util.h"

#define FAMILY_WRITE_INTERVAL	1.0	/* s between two writes of the file */
#define FAMILY_FILE_HEADER	"homemx-family 1\n"
#define FAMILY_FILE_END		"end\n"
#define FAMILY_TMP		FAMILY_STORE_FILE ".tmp"
#define FAMILY_CORRUPT		FAMILY_STORE_FILE ".corrupt"

static struct family_pin	pins[FAMILY_STORE_MAX];
static size_t			npins;
static int			state_fd = -1;
static struct event		*ev_write;
static bool			dirty;
static double			last_write = -FAMILY_WRITE_INTERVAL;

/* ---- the table (pure) ------------------------------------------------------ */

/* Pins name until then in arr (n used of max): a known name only grows,
 * a new one takes an expired slot, a free one, or the one expiring first. */
static void
pins_put(struct family_pin *arr, size_t *n, size_t max, const char *name,
    uint64_t until, uint64_t now)
{
	size_t slot = *n, first = 0;

	for (size_t i = 0; i < *n; i++)
		if (strcmp(arr[i].name, name) == 0) {
			if (until > arr[i].until)
				arr[i].until = until;
			return;
		}
	for (size_t i = 0; i < *n && slot == *n; i++)
		if (arr[i].until <= now)
			slot = i;
	if (slot == *n && *n == max) {
		for (size_t i = 1; i < *n; i++)
			if (arr[i].until < arr[first].until)
				first = i;
		slot = first;
	}
	if (slot == *n)
		(*n)++;
	snprintf(arr[slot].name, sizeof(arr[slot].name), "%s", name);
	arr[slot].until = until;
}

static uint64_t
cut_until(uint64_t until, uint64_t now, uint32_t max_age)
{
	return until > now + max_age ? now + max_age : until;
}

/* ---- the file format (pure) ------------------------------------------------ */

/* "ipv4 NAME UNTIL" (without its newline) into p; -1 if malformed. */
static int
parse_line(const char *line, size_t len, struct family_pin *p)
{
	const char *sp;
	size_t nl;
	uint64_t v = 0;

	if (len < 5 || memcmp(line, "ipv4 ", 5) != 0)
		return -1;
	line += 5;
	len -= 5;
	if ((sp = memchr(line, ' ', len)) == NULL)
		return -1;
	nl = (size_t)(sp - line);
	if (nl == 0 || nl >= sizeof(p->name))
		return -1;
	memcpy(p->name, line, nl);
	p->name[nl] = '\0';
	if (!family_name_is_valid(p->name))
		return -1;
	line += nl + 1;
	len -= nl + 1;
	if (len == 0 || len > 13)	/* FAMILY_UNTIL_MAX has 13 digits */
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (line[i] < '0' || line[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(line[i] - '0');
	}
	if (v == 0 || v >= FAMILY_UNTIL_MAX)
		return -1;
	p->until = v;
	return 0;
}

int
family_store_parse(const char *text, size_t len, uint64_t now, uint32_t max_age,
    struct family_pin *out, size_t max)
{
	size_t hl = sizeof(FAMILY_FILE_HEADER) - 1, el = sizeof(FAMILY_FILE_END) - 1;
	size_t n = 0, off = hl;

	if (len < hl + el || memcmp(text, FAMILY_FILE_HEADER, hl) != 0 ||
	    memcmp(text + len - el, FAMILY_FILE_END, el) != 0 || memchr(text, '\0', len))
		return -1;
	while (off < len - el) {
		const char *nl = memchr(text + off, '\n', len - el - off);
		struct family_pin p;
		if (nl == NULL || parse_line(text + off, (size_t)(nl - text - off), &p) == -1)
			return -1;
		off = (size_t)(nl - text) + 1;
		if (p.until > now && max > 0)
			pins_put(out, &n, max, p.name, cut_until(p.until, now, max_age), now);
	}
	return (int)n;
}

size_t
family_store_format(const struct family_pin *p, size_t n, char *buf, size_t size)
{
	size_t o = 0;
	int w;

	w = snprintf(buf, size, "%s", FAMILY_FILE_HEADER);
	if (w < 0 || (size_t)w >= size)
		return 0;
	o = (size_t)w;
	for (size_t i = 0; i < n; i++) {
		w = snprintf(buf + o, size - o, "ipv4 %s %llu\n", p[i].name,
		    (unsigned long long)p[i].until);
		if (w < 0 || (size_t)w >= size - o)
			return 0;
		o += (size_t)w;
	}
	w = snprintf(buf + o, size - o, "%s", FAMILY_FILE_END);
	if (w < 0 || (size_t)w >= size - o)
		return 0;
	return o + (size_t)w;
}

/* ---- the file ----------------------------------------------------------------- */

/* Writes the table now; on failure it stays dirty for the next try. */
static void
store_write(void)
{
	char *text = xmalloc(FAMILY_FILE_MAX);
	size_t len = family_store_format(pins, npins, text, FAMILY_FILE_MAX);

	last_write = mono_now();
	if (len == 0 || util_replace_file_at(state_fd, FAMILY_STORE_FILE, text, len, 0600) == -1) {
		log_event("family_store_error", "op=write errno=\"%s\"",
		    len == 0 ? "too large" : strerror(errno));
		free(text);
		return;
	}
	dirty = false;
	log_event("family_written", "pins=%zu", npins);
	free(text);
}

static void
on_write(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (dirty)
		store_write();
	if (dirty) {	/* failed: try again later */
		struct timeval tv = { (time_t)FAMILY_WRITE_INTERVAL * 10, 0 };
		evtimer_add(ev_write, &tv);
	}
}

/* Writes now if the last write is long enough ago, else a bit later. */
static void
write_soon(void)
{
	double wait = last_write + FAMILY_WRITE_INTERVAL - mono_now();
	struct timeval tv;

	dirty = true;
	if (evtimer_pending(ev_write, NULL))
		return;
	if (wait <= 0) {
		on_write(-1, 0, NULL);
		return;
	}
	tv.tv_sec = (time_t)wait;
	tv.tv_usec = (suseconds_t)((wait - (double)tv.tv_sec) * 1e6);
	evtimer_add(ev_write, &tv);
}

/* The file's text (malloc'd) and length, or NULL: missing (errno ENOENT)
 * or unreadable. */
static char *
read_file(size_t *len)
{
	char *text;
	ssize_t n;
	size_t got = 0;
	int fd = openat(state_fd, FAMILY_STORE_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd == -1)
		return NULL;
	text = xmalloc(FAMILY_FILE_MAX + 1);
	while (got <= FAMILY_FILE_MAX &&
	    (n = read(fd, text + got, FAMILY_FILE_MAX + 1 - got)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			int err = errno;
			close(fd);
			free(text);
			errno = err;
			return NULL;
		}
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return text;
}

static void
store_load(uint64_t now, uint32_t max_age)
{
	size_t len = 0;
	char *text = read_file(&len);
	int n = -1;

	if (text == NULL) {
		if (errno != ENOENT)
			log_event("family_store_error", "op=read errno=\"%s\"", strerror(errno));
		return;
	}
	if (len <= FAMILY_FILE_MAX)
		n = family_store_parse(text, len, now, max_age, pins, FAMILY_STORE_MAX);
	free(text);
	if (n == -1) {
		/* Kept for a human; the memory starts empty. */
		(void)renameat(state_fd, FAMILY_STORE_FILE, state_fd, FAMILY_CORRUPT);
		log_event("family_store_error", "op=parse action=moved_to_%s", FAMILY_CORRUPT);
		return;
	}
	npins = (size_t)n;
}

/* ---- entry points --------------------------------------------------------------- */

void
family_store_init(struct event_base *base, const char *spool_dir, uint64_t now,
    uint32_t max_age)
{
	char path[CONFIG_PATH_MAX + sizeof(FAMILY_STORE_DIR) + 1];

	if (snprintf(path, sizeof(path), "%s/%s", spool_dir, FAMILY_STORE_DIR) >=
	    (int)sizeof(path))
		fatalx("family_store: spool_dir too long");
	if (mkdir_p(path, 0700) == -1)
		fatal("family_store: mkdir %s", path);
	if ((state_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		fatal("family_store: open %s", path);
	(void)unlinkat(state_fd, FAMILY_TMP, 0);	/* a write a crash cut short */
	if ((ev_write = evtimer_new(base, on_write, NULL)) == NULL)
		fatalx("family_store: evtimer_new");
	store_load(now, max_age);
	log_event("family_loaded", "pins=%zu", npins);
}

int
family_store_learn(const struct family_pin *p, uint64_t now, uint32_t max_age)
{
	if (p->until <= now || max_age == 0)
		return -1;
	pins_put(pins, &npins, FAMILY_STORE_MAX, p->name, cut_until(p->until, now, max_age),
	    now);
	log_event("family_learned", "name=%s until=%llu", p->name,
	    (unsigned long long)cut_until(p->until, now, max_age));
	write_soon();
	return 0;
}

size_t
family_store_get(struct family_pin *out, size_t max, uint64_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < npins && n < max; i++)
		if (pins[i].until > now)
			out[n++] = pins[i];
	return n;
}

void
family_store_flush(void)
{
	if (dirty && state_fd != -1)
		store_write();
}

void
family_store_close(void)
{
	if (ev_write != NULL)
		event_free(ev_write);
	ev_write = NULL;
	if (state_fd != -1)
		close(state_fd);
	state_fd = -1;
	npins = 0;
	dirty = false;
	last_write = -FAMILY_WRITE_INTERVAL;
}
