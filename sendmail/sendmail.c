/*
 * sendmail/sendmail.c - one run of sendmail(8): read the message a
 * program writes, hand it to homemx over the local socket, exit with a
 * sysexits.h code.
 *
 * Owns: the order of a run and the exit code. The socket is connected
 * first (a mail system that is down is EX_TEMPFAIL before a byte of the
 * message is read, so the caller still has it), then the setgid group is
 * dropped for good: nothing after the connect needs it. The server says
 * who we are (VRFY: the sender address the kernel's uid maps to, see
 * submission/local.c) and the host name (its greeting), which completes
 * addresses without a domain. The header section is read whole (bounded,
 * header.c), the recipients sent, then the body streamed through body.c
 * in 64 KiB steps. Exit 0 only after "250" to the final dot - the
 * message is committed to disk by then. Anything else sends no dot: the
 * server drops what it got, nothing half-written is queued.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "sendmail.h"

/* The socket homemxd makes for "listen local" (man/homemx.conf.5). */
#define SENDMAIL_SOCKET_PATH	CONFIG_LOCAL_SOCKET_DEFAULT

#define TIMEOUT_GREETING	60	/* a busy role; a dead one: homemxd's 421
					 * (supervisor/localstandin.c) */
#define TIMEOUT_COMMAND		300	/* RFC 5321 4.5.3.2 */
#define TIMEOUT_FINAL		600	/* the dot: signed and committed first */
#define STDIN_CHUNK		65536

/* What one run holds; the buffers are static (no stack giants). */
struct run {
	struct sm_options	 o;
	struct sm_conn		 conn;
	char			 host[ADDR_DOMAIN_MAX + 1];	/* from the greeting */
	char			 me[ADDR_MAX + 1];	/* D, from VRFY */
	char			 sender[ADDR_MAX + 1];	/* "" = <> */
	char			(*rcpt)[ADDR_MAX + 1];
	size_t			 nrcpt;
	struct sm_header	 header;
	char			 in[STDIN_CHUNK];	/* stdin, not yet used */
	size_t			 inlen, inoff;
	bool			 in_eof;
	bool			 input_ended;	/* a lone "." (without -i) */
	char			 first_body[STDIN_CHUNK];	/* the line that ended the header */
	size_t			 first_body_len;
	bool			 has_first_body;
};

static struct run	run;

static int
fail(int code, const char *fmt, const char *arg, const char *reply)
{
	fprintf(stderr, "sendmail: ");
	fprintf(stderr, fmt, arg);
	if (reply != NULL)
		fprintf(stderr, ": %s", reply);
	fprintf(stderr, "\n");
	return code;
}

/* "X.Y.Z" at the start of a reply text, or "". */
static const char *
enhanced(const struct sm_reply *r, char *buf, size_t size)
{
	const char *t = r->text;
	size_t n = strspn(t, "0123456789.");

	if (n < 5 || n >= size || (t[n] != ' ' && t[n] != '\0'))
		return "";
	memcpy(buf, t, n);
	buf[n] = '\0';
	return buf;
}

int
sm_exit_for_reply(const struct sm_reply *r)
{
	char eb[16];
	const char *e = enhanced(r, eb, sizeof(eb));

	if (r->code < 500)
		return EX_TEMPFAIL;	/* 4xx, or no reply at all (0) */
	if (strncmp(e, "5.7.", 4) == 0 || (r->code == 553 && strncmp(e, "5.1.", 4) != 0))
		return EX_NOPERM;	/* a sender or From: the user does not own */
	if (strcmp(e, "5.1.1") == 0)
		return EX_NOUSER;
	if (r->code == 552 || strncmp(e, "5.6.", 4) == 0 || strncmp(e, "5.1.", 4) == 0 ||
	    strncmp(e, "5.5.", 4) == 0 || strncmp(e, "5.3.4", 5) == 0)
		return EX_DATAERR;
	return EX_UNAVAILABLE;
}

static int
fail_reply(const char *what, const char *arg, const struct sm_reply *r)
{
	char text[SM_REPLY_MAX + 16];

	if (r->code == 0)
		snprintf(text, sizeof(text), "no answer from the mail system");
	else
		snprintf(text, sizeof(text), "%d %s", r->code, r->text);
	return fail(sm_exit_for_reply(r), what, arg, text);
}

/* ---- stdin --------------------------------------------------------------- */

static bool
stdin_fill(void)
{
	ssize_t n;

	if (run.in_eof)
		return false;
	if (run.inoff > 0) {
		memmove(run.in, run.in + run.inoff, run.inlen - run.inoff);
		run.inlen -= run.inoff;
		run.inoff = 0;
	}
	do
		n = read(STDIN_FILENO, run.in + run.inlen, sizeof(run.in) - run.inlen);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		exit(fail(EX_IOERR, "reading the message: %s", strerror(errno), NULL));
	if (n == 0)
		run.in_eof = true;
	run.inlen += (size_t)n;
	return n > 0;
}

/* The next line of the header section (CR stripped); false at EOF. A
 * line that does not fit the buffer is an error. */
static bool
stdin_line(const char **line, size_t *len)
{
	for (;;) {
		char *start = run.in + run.inoff;
		char *nl = memchr(start, '\n', run.inlen - run.inoff);
		if (nl != NULL || (run.in_eof && run.inlen > run.inoff)) {
			size_t n = nl != NULL ? (size_t)(nl - start) : run.inlen - run.inoff;
			run.inoff += n + (nl != NULL ? 1 : 0);
			if (n > 0 && start[n - 1] == '\r')
				n--;
			*line = start;
			*len = n;
			return true;
		}
		if (run.in_eof)
			return false;
		if (run.inoff == 0 && run.inlen == sizeof(run.in))
			exit(fail(EX_DATAERR, "%s", "a header line over 64 KiB", NULL));
		(void)stdin_fill();
	}
}

/* ---- the header section --------------------------------------------------- */

static int
header_error(enum sm_header_status st)
{
	switch (st) {
	case SM_HEADER_TOO_LONG:
		return fail(EX_DATAERR, "%s", "the header section is too long", NULL);
	case SM_HEADER_TOO_MANY:
		return fail(EX_DATAERR, "%s", "too many recipients in the header", NULL);
	default:
		return fail(EX_DATAERR, "-t: not a list of valid addresses in %s:",
		    sm_header_bad_field(), NULL);
	}
}

/* Reads up to the end of the header section: the empty line, a line
 * that is no field (kept as the first body line), a lone "." or EOF. */
static int
read_header(void)
{
	struct sm_header_input in = { .domain = run.host, .me = run.me,
	    .collect_rcpts = run.o.from_headers };
	enum sm_header_status st;
	const char *line;
	size_t len;
	bool have_field = false;

	sm_header_init(&run.header, run.rcpt);
	while (stdin_line(&line, &len)) {
		if (len == 0) {
			run.header.ended_by_blank = true;
			break;
		}
		if (len == 1 && line[0] == '.' && !run.o.ignore_dots) {
			run.input_ended = true;
			break;
		}
		if (!sm_header_line_is_field(line, len, have_field)) {
			memcpy(run.first_body, line, len);
			run.first_body_len = len;
			run.has_first_body = true;
			break;
		}
		have_field = true;
		if ((st = sm_header_add_line(&run.header, &in, line, len)) != SM_HEADER_OK)
			return header_error(st);
	}
	if ((st = sm_header_finish(&run.header, &in)) != SM_HEADER_OK)
		return header_error(st);
	return EX_OK;
}

/* ---- envelope -------------------------------------------------------------- */

static bool
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* -f: "<>" or "" is the null sender; "<a>" or "a", completed. */
static int
take_sender(void)
{
	char buf[ADDR_MAX + 1];
	size_t n;

	if (!run.o.has_sender) {
		snprintf(run.sender, sizeof(run.sender), "%s", run.me);
		return EX_OK;
	}
	snprintf(buf, sizeof(buf), "%s", run.o.sender);
	n = strlen(buf);
	if (n >= 2 && buf[0] == '<' && buf[n - 1] == '>') {
		memmove(buf, buf + 1, n - 2);
		buf[n - 2] = '\0';
	}
	if (buf[0] == '\0') {
		run.sender[0] = '\0';
		return EX_OK;
	}
	if (sm_addr_complete(buf, run.host, run.sender, sizeof(run.sender)) != ADDR_OK)
		return fail(EX_DATAERR, "-f %s: not a valid address", buf, NULL);
	return EX_OK;
}

static void
add_rcpt(const char *a)
{
	for (size_t i = 0; i < run.nrcpt; i++)
		if (strcmp(run.rcpt[i], a) == 0)
			return;
	memmove(run.rcpt[run.nrcpt++], a, strlen(a) + 1);
}

/* The recipients: the header's (-t), then the arguments, without repeats. */
static int
take_recipients(void)
{
	size_t from_header = run.header.nrcpt;
	char a[ADDR_MAX + 1];

	run.nrcpt = 0;
	for (size_t i = 0; i < from_header; i++) {
		snprintf(a, sizeof(a), "%s", run.rcpt[i]);
		add_rcpt(a);
	}
	for (int i = 0; i < run.o.nrcpt_args; i++) {
		if (has_control(run.o.rcpt_args[i]) ||
		    sm_addr_complete(run.o.rcpt_args[i], run.host, a, sizeof(a)) != ADDR_OK)
			return fail(EX_DATAERR, "%s: not a valid address", run.o.rcpt_args[i], NULL);
		if (run.nrcpt == SM_RCPTS_MAX)
			return fail(EX_DATAERR, "%s", "too many recipients", NULL);
		add_rcpt(a);
	}
	if (run.nrcpt == 0)
		return fail(EX_USAGE, "%s", "no recipients (give addresses, or -t and To:)", NULL);
	return EX_OK;
}

/* ---- the dialog ------------------------------------------------------------ */

static void
emit_conn(void *arg, const char *buf, size_t len)
{
	sm_write(arg, buf, len);
}

/* 220 HOST ..., EHLO, VRFY: who the server says we are. */
static int
hello(void)
{
	struct sm_reply r;
	char *lt, *gt;

	sm_read_reply(&run.conn, TIMEOUT_GREETING, &r);
	if (r.code != 220)
		return fail_reply("%s", "the mail system refused", &r);
	snprintf(run.host, sizeof(run.host), "%.*s", (int)strcspn(r.text, " "), r.text);
	sm_command(&run.conn, TIMEOUT_COMMAND, &r, "EHLO localhost");
	if (r.code != 250)
		return fail_reply("%s", "EHLO", &r);
	sm_command(&run.conn, TIMEOUT_COMMAND, &r, "VRFY me");
	if (r.code != 250 || (lt = strchr(r.text, '<')) == NULL ||
	    (gt = strchr(lt, '>')) == NULL || (size_t)(gt - lt - 1) >= sizeof(run.me))
		return fail_reply("%s", "who am I (VRFY)", &r);
	snprintf(run.me, sizeof(run.me), "%.*s", (int)(gt - lt - 1), lt + 1);
	return EX_OK;
}

static int
envelope(void)
{
	struct sm_reply r;

	sm_command(&run.conn, TIMEOUT_COMMAND, &r, "MAIL FROM:<%s>%s", run.sender,
	    run.o.body_8bit ? " BODY=8BITMIME" : "");
	if (r.code != 250)
		return fail_reply("sender <%s>", run.sender, &r);
	for (size_t i = 0; i < run.nrcpt; i++) {
		sm_command(&run.conn, TIMEOUT_COMMAND, &r, "RCPT TO:<%s>", run.rcpt[i]);
		if (r.code != 250 && r.code != 251)
			return fail_reply("recipient <%s>", run.rcpt[i], &r);
	}
	sm_command(&run.conn, TIMEOUT_COMMAND, &r, "DATA");
	if (r.code != 354)
		return fail_reply("%s", "DATA", &r);
	return EX_OK;
}

/* The header section as rewritten, with From: when it had none. */
static int
send_header(void)
{
	struct sm_body b;
	char from[SM_FULLNAME_MAX * 5 + ADDR_MAX + 16];
	size_t n;

	sm_body_init(&b, true, emit_conn, &run.conn);
	(void)sm_body_feed(&b, run.header.buf, run.header.len);
	if (!run.header.has_from) {
		n = sm_render_from(run.o.fullname, run.sender[0] != '\0' ? run.sender :
		    run.me, from, sizeof(from));
		if (n == 0)
			return fail(EX_DATAERR, "%s", "-F: not a usable name", NULL);
		(void)sm_body_feed(&b, from, n);
	}
	sm_body_finish(&b);
	sm_write(&run.conn, "\r\n", 2);	/* the empty line, always */
	return EX_OK;
}

static int
send_body(void)
{
	struct sm_body b;
	struct sm_reply r;

	sm_body_init(&b, run.o.ignore_dots, emit_conn, &run.conn);
	if (run.has_first_body) {
		(void)sm_body_feed(&b, run.first_body, run.first_body_len);
		(void)sm_body_feed(&b, "\n", 1);
	}
	while (!run.input_ended && !b.ended && run.conn.error == 0) {
		if (run.inoff < run.inlen) {
			run.inoff += sm_body_feed(&b, run.in + run.inoff, run.inlen - run.inoff);
			continue;
		}
		run.inoff = run.inlen = 0;
		if (!stdin_fill())
			break;
	}
	sm_body_finish(&b);
	sm_write(&run.conn, ".\r\n", 3);
	if (sm_flush(&run.conn) == -1) {
		sm_read_reply(&run.conn, TIMEOUT_COMMAND, &r);	/* why it hung up */
		return fail_reply("%s", "sending the message", &r);
	}
	sm_read_reply(&run.conn, TIMEOUT_FINAL, &r);
	if (r.code != 250)
		return fail_reply("%s", "the message was not accepted", &r);
	return EX_OK;
}

/* ---- modes ----------------------------------------------------------------- */

/* -bs: SMTP between our stdin/stdout and the local socket, byte for byte;
 * the server applies the same rules as to a message read with -bm. */
static int
smtp_proxy(void)
{
	struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN },
	    { .fd = run.conn.fd, .events = POLLIN } };
	char buf[16384];

	for (;;) {
		if (poll(p, 2, TIMEOUT_FINAL * 1000) <= 0)
			return EX_TEMPFAIL;
		for (int i = 0; i < 2; i++) {
			if (p[i].revents == 0)
				continue;
			ssize_t n = read(p[i].fd, buf, sizeof(buf));
			if (n <= 0) {
				if (i == 0) {
					(void)shutdown(run.conn.fd, SHUT_WR);
					p[0].fd = -1;
					continue;
				}
				return EX_OK;
			}
			int out = i == 0 ? run.conn.fd : STDOUT_FILENO;
			for (ssize_t off = 0, w; off < n; off += w)
				if ((w = write(out, buf + off, (size_t)(n - off))) <= 0)
					return EX_IOERR;
		}
	}
}

/*
 * -bp, or called as mailq: the queue is homemxd's and shown by
 * `mxctl queue list`, so run that, as the caller: the setgid group is
 * dropped for good first, then mxctl (the one installed next to this
 * program: /proc/self/exe names it through any mailq or sendmail link)
 * asks homemxd, which serves root and the admin group only and tells
 * anyone else so. -C FILE is Sendmail's config file option: mxctl -f FILE.
 */
static int
queue_list(void)
{
	char self[4096], mxctl[4096 + 8];
	char *argv[6];
	int argc = 0;
	gid_t gid = getgid();
	ssize_t n;
	char *slash;

	if (setresgid(gid, gid, gid) == -1)
		return fail(EX_OSERR, "%s", "setresgid", strerror(errno));
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || (size_t)n >= sizeof(self) - 1)
		return fail(EX_UNAVAILABLE, "%s", "the queue is shown by "
		    "`mxctl queue list` (as root or the admin group)", NULL);
	self[n] = '\0';
	slash = strrchr(self, '/');
	snprintf(mxctl, sizeof(mxctl), "%.*s/mxctl",
	    slash != NULL ? (int)(slash - self) : 1, slash != NULL ? self : ".");
	argv[argc++] = mxctl;
	if (run.o.config != NULL) {
		argv[argc++] = "-f";
		argv[argc++] = (char *)run.o.config;
	}
	argv[argc++] = "queue";
	argv[argc++] = "list";
	argv[argc] = NULL;
	execv(mxctl, argv);
	return fail(EX_UNAVAILABLE, "cannot run %s: run `mxctl queue list` "
	    "(as root or the admin group)", mxctl, strerror(errno));
}

/* A setgid program may be started with 0, 1 or 2 closed: whatever we
 * open next (the socket) must not become one of them. */
static void
guard_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) == -1 && open("/dev/null", O_RDWR) != fd)
			_exit(EX_OSERR);
}

static int
connect_and_drop(void)
{
	const char *path = secure_getenv("HOMEMX_SENDMAIL_SOCKET");
	gid_t gid = getgid();

	if (path == NULL || path[0] == '\0')
		path = SENDMAIL_SOCKET_PATH;
	if (sm_connect(path, &run.conn) == -1)
		return fail(EX_TEMPFAIL, "cannot reach the mail system at %s", path,
		    strerror(errno));
	if (setresgid(gid, gid, gid) == -1)
		return fail(EX_OSERR, "%s", "setresgid", strerror(errno));
	run.conn.verbose = run.o.verbose;
	return EX_OK;
}

static int
deliver(void)
{
	int rc;

	if ((rc = hello()) != EX_OK || (rc = take_sender()) != EX_OK ||
	    (rc = read_header()) != EX_OK || (rc = take_recipients()) != EX_OK ||
	    (rc = envelope()) != EX_OK || (rc = send_header()) != EX_OK ||
	    (rc = send_body()) != EX_OK)
		return rc;
	return EX_OK;
}

int
sendmail_main(int argc, char **argv)
{
	struct sm_reply r;
	char err[256], probe[SM_FULLNAME_MAX * 5 + 64];
	int rc;

	guard_std_fds();
	if (sm_options_parse(argc, argv, &run.o, err, sizeof(err)) == -1)
		return fail(EX_USAGE, "%s", err, NULL);
	if (run.o.mode == SM_MODE_NEWALIASES)
		return fail(EX_OK, "%s", "homemx has no aliases file: see mxctl alias", NULL);
	if (run.o.mode == SM_MODE_QUEUE_LIST)
		return queue_list();
	if (has_control(run.o.sender))
		return fail(EX_DATAERR, "%s", "-f: control characters (CR, LF ...) in the address", NULL);
	if (run.o.has_fullname && sm_render_from(run.o.fullname, "a@b", probe, sizeof(probe)) == 0)
		return fail(EX_DATAERR, "%s", "-F: control characters (CR, LF ...) or invalid UTF-8", NULL);
	if ((rc = connect_and_drop()) != EX_OK)
		return rc;
	if (run.o.mode == SM_MODE_SMTP)
		return smtp_proxy();
	run.rcpt = calloc(SM_RCPTS_MAX * 2, sizeof(*run.rcpt));
	if (run.rcpt == NULL)
		return fail(EX_OSERR, "%s", "out of memory", NULL);
	rc = deliver();
	sm_command(&run.conn, 10, &r, "QUIT");
	close(run.conn.fd);
	return rc;
}
