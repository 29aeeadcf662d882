/*
 * lib/log.c - the single place where log lines are formatted.
 *
 * Owns: the sink (stderr in the foreground, syslog as a daemon, or the
 * log pipe to homemxd for a role) and the escaping of untrusted text. Why
 * here: fail2ban and the tests parse these lines, so the format must not
 * drift between roles, nor between a role's own lines and the ones it
 * writes from a signal handler (log_event_signal_safe) or homemxd relays
 * for it (log_forward).
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
static long		 log_pid;	/* for the signal-safe path: no getpid() there */
static int		 log_fd = STDERR_FILENO;

void
log_init(const char *progname, enum log_sink sink)
{
	log_progname = progname;
	log_sink = sink;
	log_pid = (long)getpid();
	if (sink == LOG_SINK_SYSLOG)
		/* LOG_NDELAY connects now, before a chroot hides /dev/log. */
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_set_output(int fd)
{
	log_fd = fd;
}

void
log_set_debug(int on)
{
	log_debug_on = on;
}

/* "<6>" before a line for homemxd to pass on at that syslog priority. */
static int
parent_prefix(char *buf, size_t size, int prio)
{
	return snprintf(buf, size, "<%d>", prio);
}

static void
log_emit(int prio, const char *line)
{
	char buf[LOG_LINE_MAX];
	int n;

	if (log_sink == LOG_SINK_SYSLOG) {
		syslog(prio, "%s", line);
		return;
	}
	if (log_sink == LOG_SINK_PARENT) {
		n = parent_prefix(buf, sizeof(buf), prio);
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s\n", line);
	} else {
		struct timespec ts;
		struct tm tm;
		char stamp[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		n = snprintf(buf, sizeof(buf), "%s.%03ldZ %s[%ld]: %s\n", stamp,
		    ts.tv_nsec / 1000000, log_progname, (long)getpid(), line);
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf)) {
		n = sizeof(buf) - 1;
		buf[n - 1] = '\n';
	}
	/* One write per line keeps lines of concurrent writers whole (a pipe
	 * write of at most PIPE_BUF bytes is atomic). */
	ssize_t w = write(log_fd, buf, (size_t)n);
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

/* ---- the signal-safe path ----------------------------------------------- */

/* A bounded line built without stdio: no locks, no allocation. */
struct sigsafe_line {
	char	buf[1024];
	size_t	len;
};

static void
sigsafe_put(struct sigsafe_line *l, const char *s)
{
	while (*s != '\0' && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = *s++;
}

/* n in decimal, at least width digits (zero-padded). */
static void
sigsafe_put_num(struct sigsafe_line *l, unsigned long n, int width)
{
	char digits[24];
	int i = 0;

	do {
		digits[i++] = (char)('0' + n % 10);
		n /= 10;
	} while (n != 0 && i < (int)sizeof(digits));
	while (i < width && i < (int)sizeof(digits))
		digits[i++] = '0';
	while (i > 0 && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = digits[--i];
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" from the epoch, without gmtime_r (which may
 * take the time zone lock). Days to a civil date: H. Hinnant's algorithm,
 * "chrono-Compatible Low-Level Date Algorithms" (civil_from_days). */
static void
sigsafe_put_stamp(struct sigsafe_line *l, const struct timespec *ts)
{
	long z = (long)(ts->tv_sec / 86400) + 719468;
	long secs = (long)(ts->tv_sec % 86400);
	long era = (z >= 0 ? z : z - 146096) / 146097;
	long doe = z - era * 146097;
	long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long mp = (5 * doy + 2) / 153;
	long day = doy - (153 * mp + 2) / 5 + 1;
	long month = mp < 10 ? mp + 3 : mp - 9;
	long year = yoe + era * 400 + (month <= 2);

	sigsafe_put_num(l, (unsigned long)year, 4);
	sigsafe_put(l, "-");
	sigsafe_put_num(l, (unsigned long)month, 2);
	sigsafe_put(l, "-");
	sigsafe_put_num(l, (unsigned long)day, 2);
	sigsafe_put(l, "T");
	sigsafe_put_num(l, (unsigned long)(secs / 3600), 2);
	sigsafe_put(l, ":");
	sigsafe_put_num(l, (unsigned long)(secs / 60 % 60), 2);
	sigsafe_put(l, ":");
	sigsafe_put_num(l, (unsigned long)(secs % 60), 2);
	sigsafe_put(l, ".");
	sigsafe_put_num(l, (unsigned long)(ts->tv_nsec / 1000000), 3);
	sigsafe_put(l, "Z");
}

size_t
log_stamp_signal_safe(char *buf, size_t size, const struct timespec *ts)
{
	struct sigsafe_line l = { .len = 0 };

	if (size == 0)
		return 0;
	sigsafe_put_stamp(&l, ts);
	size_t n = l.len < size - 1 ? l.len : size - 1;
	memcpy(buf, l.buf, n);
	buf[n] = '\0';
	return n;
}

void
log_event_signal_safe(const char *event, const char *text)
{
	struct sigsafe_line l = { .len = 0 };
	struct timespec ts;

	if (log_sink == LOG_SINK_STDERR) {
		clock_gettime(CLOCK_REALTIME, &ts);
		sigsafe_put_stamp(&l, &ts);
		sigsafe_put(&l, " ");
		sigsafe_put(&l, log_progname);
		sigsafe_put(&l, "[");
		sigsafe_put_num(&l, (unsigned long)log_pid, 1);
		sigsafe_put(&l, "]: ");
	} else {
		/* LOG_SINK_SYSLOG would need syslog(3), which is not
		 * signal-safe: the line goes to fd 2 for homemxd to relay. */
		sigsafe_put(&l, "<");
		sigsafe_put_num(&l, LOG_ERR, 1);
		sigsafe_put(&l, ">");
	}
	sigsafe_put(&l, "event=");
	sigsafe_put(&l, event);
	sigsafe_put(&l, " ");
	sigsafe_put(&l, text);
	l.buf[l.len++] = '\n';
	ssize_t w = write(log_fd, l.buf, l.len);
	(void)w;
}

/* ---- relaying a role's lines (homemxd) ------------------------------------ */

int
log_take_priority(const char **line, size_t *len)
{
	const char *p = *line;
	size_t i = 1;
	int prio = 0;

	if (*len < 3 || p[0] != '<')
		return -1;
	while (i < *len && i < 4 && p[i] >= '0' && p[i] <= '9')
		prio = prio * 10 + (p[i++] - '0');
	if (i == 1 || i >= *len || p[i] != '>' || prio > LOG_DEBUG)
		return -1;
	*line += i + 1;
	*len -= i + 1;
	return prio;
}

void
log_forward(const char *tag, const char *line, size_t len)
{
	if (log_sink != LOG_SINK_SYSLOG) {
		char buf[LOG_LINE_MAX + 1];
		size_t n = len < sizeof(buf) - 1 ? len : sizeof(buf) - 1;

		memcpy(buf, line, n);
		buf[n++] = '\n';
		ssize_t w = write(log_fd, buf, n);
		(void)w;
		return;
	}
	int prio = log_take_priority(&line, &len);
	/* syslog(3) has one tag per process: lend it the role's for one line.
	 * Without LOG_PID, as the tag already carries the role's pid. */
	openlog(tag, LOG_NDELAY, LOG_MAIL);
	syslog(prio == -1 ? LOG_WARNING : prio, "%.*s", (int)len, line);
	openlog(log_progname, LOG_PID | LOG_NDELAY, LOG_MAIL);
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
