/*
 * sendmail/client.c - the SMTP client side of the local socket: connect,
 * commands, replies.
 *
 * Owns: the socket and its two buffers. Blocking I/O with poll()
 * deadlines: one client, one conversation, nothing to multiplex. Replies
 * are read whole (RFC 5321 4.2: "250-" lines then "250 "); a reply that
 * does not come in time, or is not a reply, counts as code 0, which
 * sendmail.c turns into EX_TEMPFAIL: the message is not sent, the caller
 * keeps it.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sendmail.h"

int
sm_connect(const char *path, struct sm_conn *c)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (strlen(path) >= sizeof(un.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(un.sun_path, path, strlen(path) + 1);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(c->fd, (struct sockaddr *)&un, sizeof(un)) == -1) {
		int e = errno;
		close(c->fd);
		c->fd = -1;
		errno = e;
		return -1;
	}
	return 0;
}

static bool
wait_for(int fd, short what, int timeout)
{
	struct pollfd p = { .fd = fd, .events = what };
	int r;

	do
		r = poll(&p, 1, timeout * 1000);
	while (r == -1 && errno == EINTR);
	return r == 1;
}

/* One line into line (without CRLF); false on timeout, EOF or overflow. */
static bool
read_line(struct sm_conn *c, int timeout, char *line, size_t size)
{
	for (;;) {
		char *nl = memchr(c->in, '\n', c->inlen);
		if (nl != NULL) {
			size_t n = (size_t)(nl - c->in);
			size_t keep = n > 0 && c->in[n - 1] == '\r' ? n - 1 : n;
			if (keep >= size)
				return false;
			memcpy(line, c->in, keep);
			line[keep] = '\0';
			c->inlen -= n + 1;
			memmove(c->in, nl + 1, c->inlen);
			return true;
		}
		if (c->inlen == sizeof(c->in) || !wait_for(c->fd, POLLIN, timeout))
			return false;
		ssize_t r = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		c->inlen += (size_t)r;
	}
}

void
sm_read_reply(struct sm_conn *c, int timeout, struct sm_reply *r)
{
	char line[SM_REPLY_MAX];

	r->code = 0;
	r->text[0] = '\0';
	for (;;) {
		if (!read_line(c, timeout, line, sizeof(line)))
			return;
		if (c->verbose)
			fprintf(stderr, "<<< %s\n", line);
		if (strlen(line) < 3 || line[0] < '2' || line[0] > '5' ||
		    line[1] < '0' || line[1] > '9' || line[2] < '0' || line[2] > '9' ||
		    (line[3] != '\0' && line[3] != ' ' && line[3] != '-'))
			return;		/* not a reply: code stays 0 */
		if (line[3] != '-') {
			r->code = atoi(line);
			snprintf(r->text, sizeof(r->text), "%s", line[3] != '\0' ? line + 4 : "");
			return;
		}
	}
}

int
sm_flush(struct sm_conn *c)
{
	size_t off = 0;

	while (off < c->outlen && c->error == 0) {
		ssize_t w = send(c->fd, c->out + off, c->outlen - off, MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			c->error = errno;
		else
			off += (size_t)w;
	}
	c->outlen = 0;
	return c->error == 0 ? 0 : -1;
}

void
sm_write(struct sm_conn *c, const char *buf, size_t len)
{
	while (len > 0 && c->error == 0) {
		size_t n = sizeof(c->out) - c->outlen;
		if (n > len)
			n = len;
		memcpy(c->out + c->outlen, buf, n);
		c->outlen += n;
		buf += n;
		len -= n;
		if (c->outlen == sizeof(c->out))
			(void)sm_flush(c);
	}
}

void
sm_command(struct sm_conn *c, int timeout, struct sm_reply *r, const char *fmt, ...)
{
	char line[SM_REPLY_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	r->code = 0;
	r->text[0] = '\0';
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		return;
	if (c->verbose)
		fprintf(stderr, ">>> %s\n", line);
	memcpy(line + n, "\r\n", 2);
	sm_write(c, line, (size_t)n + 2);
	if (sm_flush(c) == -1)
		return;
	sm_read_reply(c, timeout, r);
}
