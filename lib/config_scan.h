/*
 * lib/config_scan.h - the content scanners' settings in homemx.conf:
 * where rspamd, spamd (SpamAssassin) and clamd listen, how much of a
 * message each may be sent, how a spam score enters homemx's score, and
 * the one timeout of a scan.
 *
 * Owns: the grammar of the scanner lines and the rule that decides which
 * addresses the screen may reach. Why so strict: the screen runs chrooted
 * into screen_dir, so a UNIX socket elsewhere cannot be reached from it
 * (the check at parse time says so, instead of a tempfail on every
 * message later), and a TCP scanner must be on loopback because the
 * message travels to it unencrypted.
 *
 * Grammar (conf/homemx.conf.example's screen section documents them):
 *	rspamd 127.0.0.1:11333		# or [::1]:11333, or none (the default)
 *	spamd /var/lib/homemx/screen/scanners/spamd.sock
 *	clamd 127.0.0.1:3310		# clamd binds after dropping root
 *	rspamd_weight 1			# contribution = round(score * weight)
 *	spamd_weight 1.5		# 0 to 100, at most two decimals
 *	scanner_timeout 30s		# rows of lib/config.c's table, as are
 *	rspamd_max_size 10M		# the three size caps
 */
#ifndef HMX_CONFIG_SCAN_H
#define HMX_CONFIG_SCAN_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCAN_ADDR_TEXT_MAX	128	/* as written, for logs */
#define SCAN_UNIX_PATH_MAX	107	/* sizeof(sockaddr_un.sun_path) - 1 */
#define SCAN_WEIGHT_MAX		10000	/* hundredths: weight 100 */

/* The scanners, in the order their results are reported. */
enum scan_kind {
	SCAN_RSPAMD = 0,
	SCAN_SPAMD,
	SCAN_CLAMD,
	SCAN_KINDS
};

const char	*scan_kind_name(enum scan_kind);	/* "rspamd", "spamd", "clamd" */

struct scan_target {
	bool			enabled;
	bool			is_unix;
	/* AF_UNIX: the path as written (outside the jail) and the same path
	 * seen from inside screen_dir (what the chrooted screen connects to) */
	char			path[SCAN_UNIX_PATH_MAX + 1];
	char			path_in_jail[SCAN_UNIX_PATH_MAX + 1];
	/* AF_INET/AF_INET6 on loopback */
	struct sockaddr_storage	addr;
	socklen_t		addrlen;
	char			text[SCAN_ADDR_TEXT_MAX];
	uint64_t		max_size;	/* bytes sent at most (prefix included) */
	uint32_t		weight;		/* hundredths; spam scanners only */
};

struct scan_config {
	struct scan_target	target[SCAN_KINDS];
	uint32_t		timeout;	/* seconds, all scanners of one message */
};

/* What lib/config_screen.c calls: _defaults from screen_config_defaults
 * (the table rows of lib/config.c set timeout and the size caps after),
 * _begin before a file, _directive for each line (1: not ours, 0: parsed,
 * -1: err filled), _finish after the last line with screen_dir. */
void	scan_config_defaults(struct scan_config *);
void	scan_config_parse_begin(void);
int	scan_config_directive(struct scan_config *, char **w, int nw,
	    char *err, size_t errlen);
int	scan_config_finish(struct scan_config *, const char *screen_dir,
	    char *err, size_t errlen);

/* True if any scanner is configured. */
bool	scan_config_any(const struct scan_config *);

/* "1", "0.5", "2.25": a weight from 0 to 100 in hundredths. */
int	scan_parse_weight(const char *, uint32_t *hundredths);

#endif
