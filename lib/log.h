/*
 * lib/log.h - one line per event, key=value, to stderr or syslog.
 *
 * Owns: the log line format that fail2ban filters and the tests rely on.
 * Every line starts with "event=NAME". Client-supplied text passes through
 * log_escape() so that no CR, LF or control byte reaches the log.
 *
 * Roles never hold homemxd's stderr or a syslog socket: their fd 2 is a
 * pipe that homemxd reads (supervisor/rolelog.c). In the foreground a role
 * writes finished lines ("TIME homemx-ROLE[PID]: event=...") and homemxd
 * copies them unchanged; with -S it writes "<PRIORITY>event=..." and
 * homemxd hands the text to syslog under the role's name and pid.
 */
#ifndef HMX_LOG_H
#define HMX_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_sink {
	LOG_SINK_STDERR,	/* whole lines with time stamp, name and pid */
	LOG_SINK_SYSLOG,	/* syslog(3): homemxd itself with -S */
	LOG_SINK_PARENT,	/* "<prio>text" lines on fd 2: a role with -S */
};

#define LOG_LINE_MAX	4096	/* one line as written, newline included */

void	log_init(const char *progname, enum log_sink sink);
void	log_set_debug(int on);
/* Where LOG_SINK_STDERR and LOG_SINK_PARENT write: fd 2 unless a test or
 * a fuzz target says otherwise. */
void	log_set_output(int fd);

/* log_event("connect", "sess=%s ip=%s", ...): writes "event=connect sess=.. ip=..". */
void	log_event(const char *event, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* For broken invariants and setup failures only. */
/* Called with the fatal line's text just before fatal()/fatalx() exit:
 * lib/role.c hands it to the supervisor (MSG_ROLE_FATAL). */
void	log_set_fatal_hook(void (*)(const char *text));
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/*
 * Async-signal-safe: writes one "event=NAME TEXT" line (text already
 * formatted and escaped by the caller) in the format of the current sink,
 * using only clock_gettime() and write(). For a signal handler that runs
 * while the rest of the process may hold stdio or time zone locks.
 */
void	log_event_signal_safe(const char *event, const char *text);
/* Its time stamp, "2026-01-31T23:59:59.123Z" (exposed for the tests). */
struct timespec;
size_t	log_stamp_signal_safe(char *buf, size_t size, const struct timespec *ts);

/*
 * homemxd only: passes on one line a role wrote to its log pipe (without
 * the newline), unchanged. To stderr as is; to syslog under tag (the role's
 * "homemx-ROLE[PID]") with the priority of its "<N>" prefix, which is
 * removed, or LOG_WARNING for lines without one (a sanitizer report).
 */
void	log_forward(const char *tag, const char *line, size_t len);
/* The "<N>" (0..7) a LOG_SINK_PARENT line starts with: N, with *line and
 * *len moved past it; -1 (nothing moved) if the line has none. */
int	log_take_priority(const char **line, size_t *len);

/*
 * Copies src (srclen bytes, untrusted) into dst as a printable, quoted-safe
 * token: bytes outside 0x21..0x7e except space become \xHH, '"' and '\'
 * are escaped. Always NUL-terminates; truncates with "..." when dst is full.
 * Returns dst so it can be used inline in log_event() arguments.
 */
char	*log_escape(char *dst, size_t dstsize, const void *src, size_t srclen);

#define LOG_ESCAPE_MAX	512	/* room for one escaped client string */

#endif
