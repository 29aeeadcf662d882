/*
 * smtpd/bodywriter.c - the 64 KiB write buffer between the DATA scanner
 * and the spool file.
 *
 * Owns: the first write error of a message. Why: the scanner hands over
 * bytes in small runs; one write() per run would cost a system call per
 * line. The file is a local regular file opened by the queue, so a write
 * may wait for the disk but never for the network. Durability (fsync,
 * rename) is the queue's job, not ours. Submission also copies its signed
 * message from a memfd into the spool through it (body_writer_copy_fd).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "bodywriter.h"
#include "util.h"

void
body_writer_init(struct body_writer *w, int fd)
{
	w->fd = fd;
	w->error = 0;
	w->written = 0;
	w->len = 0;
}

int
body_writer_flush(struct body_writer *w)
{
	if (w->error != 0)
		return -1;
	if (w->len == 0)
		return 0;
	if (write_all(w->fd, w->buf, w->len) == -1) {
		w->error = errno != 0 ? errno : EIO;
		w->len = 0;
		return -1;
	}
	w->written += w->len;
	w->len = 0;
	return 0;
}

void
body_writer_put(struct body_writer *w, const void *p, size_t n)
{
	const uint8_t *s = p;

	while (n > 0 && w->error == 0) {
		size_t room = sizeof(w->buf) - w->len;
		size_t take = n < room ? n : room;
		memcpy(w->buf + w->len, s, take);
		w->len += take;
		s += take;
		n -= take;
		if (w->len == sizeof(w->buf))
			(void)body_writer_flush(w);
	}
}

int
body_writer_copy_fd(struct body_writer *w, int fd)
{
	uint8_t buf[BODY_WRITE_BUF];
	off_t off = 0;

	while (w->error == 0) {
		ssize_t n = pread(fd, buf, sizeof(buf), off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			w->error = errno;
			return -1;
		}
		if (n == 0)
			return 0;
		body_writer_put(w, buf, (size_t)n);
		off += n;
	}
	return -1;
}
