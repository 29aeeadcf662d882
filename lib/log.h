/*
 * lib/log.h - one line per event, key=value, to stderr or syslog.
 *
 * Owns: the log line format that fail2ban filters and the tests rely on.
 * Every line starts with "event=NAME". Client-supplied text passes through
 * log_escape() so that no CR, LF or control byte reaches the log.
 */
#ifndef HMX_LOG_H
#define HMX_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_sink { LOG_SINK_STDERR, LOG_SINK_SYSLOG };

void	log_init(const char *progname, enum log_sink sink);
void	log_set_debug(int on);

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
 * Copies src (srclen bytes, untrusted) into dst as a printable, quoted-safe
 * token: bytes outside 0x21..0x7e except space become \xHH, '"' and '\'
 * are escaped. Always NUL-terminates; truncates with "..." when dst is full.
 * Returns dst so it can be used inline in log_event() arguments.
 */
char	*log_escape(char *dst, size_t dstsize, const void *src, size_t srclen);

#define LOG_ESCAPE_MAX	512	/* room for one escaped client string */

#endif
