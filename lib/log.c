/*
 * lib/log.c - the single place where log lines are formatted.
 *
 * Owns: the sink (stderr in the foreground, syslog as a daemon) and the
 * escaping of untrusted text. Why here: fail2ban and the tests parse these
 * lines, so the format must not drift between roles.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char	*log_progname = "homemx";
static enum log_sink	 log_sink = LOG_SINK_STDERR;
static int		 log_debug_on;

void
log_init(const char *progname, enum log_sink sink)
{
	log_progname = progname;
	log_sink = sink;
	if (sink == LOG_SINK_SYSLOG)
		/* LOG_NDELAY connects now, before a chroot hides /dev/log. */
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_set_debug(int on)
{
	log_debug_on = on;
}

static void
log_emit(int prio, const char *line)
{
	if (log_sink == LOG_SINK_SYSLOG) {
		syslog(prio, "%s", line);
		return;
	}
	struct timespec ts;
	struct tm tm;
	char stamp[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	/* One write per line keeps lines of concurrent roles whole. */
	char buf[4096];
	int n = snprintf(buf, sizeof(buf), "%s.%03ldZ %s[%ld]: %s\n", stamp,
	    ts.tv_nsec / 1000000, log_progname, (long)getpid(), line);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf)) {
		n = sizeof(buf) - 1;
		buf[n - 1] = '\n';
	}
	ssize_t w = write(STDERR_FILENO, buf, (size_t)n);
	(void)w;
}

static void
log_vformat(int prio, const char *prefix, const char *fmt, va_list ap)
{
	char line[3800];
	size_t off = 0;
	int n;

	if (prefix != NULL) {
		n = snprintf(line, sizeof(line), "%s", prefix);
		if (n > 0)
			off = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	}
	vsnprintf(line + off, sizeof(line) - off, fmt, ap);
	log_emit(prio, line);
}

void
log_event(const char *event, const char *fmt, ...)
{
	char prefix[96];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "event=%s ", event);
	va_start(ap, fmt);
	log_vformat(LOG_INFO, prefix, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_debug_on)
		return;
	va_start(ap, fmt);
	log_vformat(LOG_DEBUG, "event=debug ", fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vformat(LOG_WARNING, "event=warning ", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	char msg[1024], esc[300];
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	const char *e = strerror(saved);
	log_warnx("%s error=\"%s\"", msg, log_escape(esc, sizeof(esc), e, strlen(e)));
}

static void	(*fatal_hook)(const char *);

void
log_set_fatal_hook(void (*hook)(const char *))
{
	fatal_hook = hook;
}

static void __attribute__((noreturn))
fatal_exit(const char *text)
{
	void (*hook)(const char *) = fatal_hook;

	fatal_hook = NULL;	/* a fatal inside the hook must not loop */
	if (hook != NULL)
		hook(text);
	exit(1);
}

void
fatal(const char *fmt, ...)
{
	char msg[1024], esc[300], text[1400];
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	const char *e = strerror(saved);
	log_event("fatal", "%s error=\"%s\"", msg, log_escape(esc, sizeof(esc), e, strlen(e)));
	snprintf(text, sizeof(text), "%s: %s", msg, e);
	fatal_exit(text);
}

void
fatalx(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_event("fatal", "%s", msg);
	fatal_exit(msg);
}

char *
log_escape(char *dst, size_t dstsize, const void *src, size_t srclen)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = src;
	size_t o = 0;

	if (dstsize == 0)
		return dst;
	for (size_t i = 0; i < srclen; i++) {
		unsigned char c = s[i];
		char tmp[4];
		size_t tl;

		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			tl = 2;
		} else if (c >= 0x20 && c < 0x7f) {
			tmp[0] = (char)c;
			tl = 1;
		} else {
			tmp[0] = '\\';
			tmp[1] = 'x';
			tmp[2] = hex[c >> 4];
			tmp[3] = hex[c & 15];
			tl = 4;
		}
		if (o + tl + 4 > dstsize) {	/* keep room for "..." and NUL */
			if (dstsize >= 4) {
				memcpy(dst + (o < dstsize - 4 ? o : dstsize - 4), "...", 3);
				o = (o < dstsize - 4 ? o : dstsize - 4) + 3;
			}
			break;
		}
		memcpy(dst + o, tmp, tl);
		o += tl;
	}
	dst[o < dstsize ? o : dstsize - 1] = '\0';
	return dst;
}
