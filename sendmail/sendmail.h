/*
 * sendmail/sendmail.h - homemx's sendmail(8): the command local programs
 * (cron, web applications, mail(1)) hand a message to.
 *
 * The folder:
 *	main.c		only main()
 *	sendmail.c	the run: options, connect, the SMTP dialog, exit code
 *	options.c	the command line (pure): -t -i -f -F -B -o..., modes
 *	addrlist.c	RFC 5322 address lists (pure): the -t recipients of
 *			To:/Cc:/Bcc:, unqualified addresses completed
 *	header.c	the header section (pure): read, Bcc: removed,
 *			addresses qualified, From: added, -F encoded (RFC 2047)
 *	body.c		the body stream (pure): LF to CRLF, dot-stuffing, a
 *			lone dot, lines over 998 octets
 *	client.c	the SMTP client over the local socket (blocking, with
 *			deadlines)
 * Owns: nothing beyond one run. Why a thin client: the program is
 * installed setgid homemx-send (never setuid) and decides nothing: the
 * submission role learns who runs it from the kernel (SO_PEERCRED) and
 * checks the sender, signs and commits (submission/local.c). The program
 * exits 0 only after "250" to the final dot, i.e. after the commit.
 * Exit codes are those of sysexits.h, as every sendmail's.
 */
#ifndef SENDMAIL_SENDMAIL_H
#define SENDMAIL_SENDMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define SM_RCPTS_MAX		1000	/* recipients of one run, arguments and -t */
#define SM_HEADER_MAX		(256 * 1024)	/* the header section we hold */
#define SM_FULLNAME_MAX		256	/* -F, in octets */
#define SM_LINE_MAX		998	/* RFC 5322 2.1.1, without CRLF */

/* ---- options.c ------------------------------------------------------------- */

enum sm_mode {
	SM_MODE_DELIVER = 0,	/* -bm (the default): read a message, send it */
	SM_MODE_SMTP,		/* -bs: SMTP on stdin/stdout */
	SM_MODE_QUEUE_LIST,	/* -bp, or called as mailq: mxctl queue list */
	SM_MODE_NEWALIASES,	/* -bi, or called as newaliases: nothing to do */
};

struct sm_options {
	enum sm_mode	 mode;
	bool		 from_headers;	/* -t */
	bool		 ignore_dots;	/* -i, -oi: a lone "." does not end input */
	bool		 has_sender;	/* -f / -r given */
	char		 sender[ADDR_MAX + 1];	/* as given (checked later) */
	bool		 has_fullname;	/* -F given */
	char		 fullname[SM_FULLNAME_MAX + 1];
	bool		 body_8bit;	/* -B 8BITMIME */
	bool		 verbose;	/* -v: the dialog on stderr */
	const char	*config;	/* -C FILE: mxctl -f FILE for -bp (not copied) */
	int		 nrcpt_args;
	char		**rcpt_args;	/* argv's recipients (not copied) */
};

/*
 * Parses argv (progname decides mailq/newaliases). Returns 0, or -1 with
 * err filled (a usage error: EX_USAGE). Options that other sendmails take
 * and that mean nothing here (-oem, -odb, -N, -R, -U, -L, -h, -C ...) are
 * accepted and ignored.
 */
int	sm_options_parse(int argc, char **argv, struct sm_options *,
	    char *err, size_t errlen);

/* ---- addrlist.c ------------------------------------------------------------ */

/* One address found in an address list; offsets into the value. */
struct sm_addr {
	char	text[ADDR_MAX + 1];	/* the addr-spec, comments and blanks out */
	size_t	end;			/* where its last token ends in the value */
	bool	qualified;		/* it had an @domain */
};

enum sm_list_status {
	SM_LIST_OK = 0,
	SM_LIST_SYNTAX,		/* unbalanced <>, quotes or comments */
	SM_LIST_TOO_MANY,	/* more than max addresses */
	SM_LIST_TOO_LONG,	/* an address over ADDR_MAX */
};

/*
 * Parses an RFC 5322 address-list (a To:/Cc:/Bcc:/From: value, unfolded,
 * len bytes): mailboxes with or without display names and comments, and
 * groups ("undisclosed-recipients:;"). Fills at most max entries of out.
 * Lenient like every MTA for what humans type; the addresses themselves
 * are checked by sm_addr_complete().
 */
enum sm_list_status sm_addrlist_parse(const char *value, size_t len,
		    struct sm_addr *out, size_t max, size_t *n);

/*
 * a, completed with "@domain" if it has no domain, as a canonical
 * RFC 5321 mailbox into out. Returns ADDR_OK or why not.
 */
enum addr_status sm_addr_complete(const char *a, const char *domain,
		    char *out, size_t size);

/* ---- header.c -------------------------------------------------------------- */

struct sm_header {
	char	 buf[SM_HEADER_MAX];	/* the fields that go out, CRLF-ended */
	size_t	 len;
	bool	 has_from;
	bool	 ended_by_blank;	/* else the first body line came without one */
	/* -t recipients (To:, Cc:, Bcc: and their Resent- forms) */
	char	(*rcpt)[ADDR_MAX + 1];
	size_t	 nrcpt;
};

enum sm_header_status {
	SM_HEADER_OK = 0,
	SM_HEADER_TOO_LONG,	/* over SM_HEADER_MAX */
	SM_HEADER_BAD_ADDRESS,	/* a recipient field that is not an address list */
	SM_HEADER_TOO_MANY,	/* over SM_RCPTS_MAX recipients */
};

struct sm_header_input {
	const char	*domain;	/* qualifies unqualified addresses */
	const char	*me;		/* the caller's address (VRFY); NULL or ""
					 * = unknown: From:/Sender: qualified too */
	bool		 collect_rcpts;	/* -t */
};

/*
 * Adds one header line (without its line end; CR stripped by the caller)
 * to h: a field or the continuation of one. Bcc: fields are dropped
 * (also without -t: they must never go out), the address fields From:,
 * Sender:, Reply-To:, To:, Cc: get unqualified addresses completed, and
 * with -t the recipients are collected. bad names the field on error.
 */
void	sm_header_init(struct sm_header *, char (*rcpt)[ADDR_MAX + 1]);
enum sm_header_status sm_header_add_line(struct sm_header *,
		    const struct sm_header_input *, const char *line, size_t len);
/* The last field is complete (call once at the end of the section). */
enum sm_header_status sm_header_finish(struct sm_header *,
		    const struct sm_header_input *);
/* The field of a header line: true if line starts a field ("Name:") or
 * continues one (a blank first): what decides where the section ends. */
bool	sm_header_line_is_field(const char *line, size_t len, bool have_field);
const char *sm_header_bad_field(void);

/*
 * "From: NAME <address>\r\n" into out: NAME is -F, as an atom phrase, a
 * quoted string, or RFC 2047 encoded words (UTF-8, base64) when it is not
 * ASCII; no NAME when fullname is "". Returns the length, or 0 if fullname
 * has control characters (CR, LF, ...) or invalid UTF-8, or it does not fit.
 */
size_t	sm_render_from(const char *fullname, const char *address, char *out,
	    size_t size);

/* ---- body.c ---------------------------------------------------------------- */

typedef void (*sm_emit_fn)(void *arg, const char *buf, size_t len);

/* Turns what a program writes (lines ending in LF or CRLF) into SMTP DATA:
 * CRLF line ends, a lone CR dropped, dot-stuffing (RFC 5321 4.5.2), lines
 * over SM_LINE_MAX octets broken, and - without -i - the end of input at a
 * line holding only ".". */
struct sm_body {
	bool		 ignore_dots;
	bool		 ended;		/* a lone "." was seen (without -i) */
	size_t		 col;		/* octets of the current line so far */
	bool		 pending_cr;
	bool		 pending_dot;	/* a line began with "." */
	sm_emit_fn	 emit;
	void		*arg;
};

void	sm_body_init(struct sm_body *, bool ignore_dots, sm_emit_fn, void *arg);
/* Returns how many bytes of buf were taken (less than len only once a
 * lone dot ended the input). */
size_t	sm_body_feed(struct sm_body *, const char *buf, size_t len);
/* End of input: the last line is ended. */
void	sm_body_finish(struct sm_body *);

/* ---- client.c -------------------------------------------------------------- */

#define SM_REPLY_MAX	1024

struct sm_conn {
	int	 fd;
	bool	 verbose;
	char	 in[8192];
	size_t	 inlen;
	char	 out[65536];
	size_t	 outlen;
	int	 error;		/* errno of the first failed write */
};

struct sm_reply {
	int	 code;		/* 0: no reply (timeout, EOF, garbage) */
	char	 text[SM_REPLY_MAX];	/* the last line, after the code */
};

int	sm_connect(const char *path, struct sm_conn *);
/* Reads one (multi-line) reply within timeout seconds. */
void	sm_read_reply(struct sm_conn *, int timeout, struct sm_reply *);
/* Queues bytes; flushed when the buffer fills or by sm_flush(). */
void	sm_write(struct sm_conn *, const char *buf, size_t len);
int	sm_flush(struct sm_conn *);
/* Sends a command line (CRLF added) and reads its reply. */
void	sm_command(struct sm_conn *, int timeout, struct sm_reply *,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- sendmail.c ------------------------------------------------------------ */

int	sendmail_main(int argc, char **argv);
/* The sysexits.h code for an SMTP reply that is not success. */
int	sm_exit_for_reply(const struct sm_reply *);

#endif
