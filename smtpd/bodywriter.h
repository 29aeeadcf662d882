/*
 * smtpd/bodywriter.h - buffered writes of a message body into the spool
 * file descriptor the queue handed us.
 */
#ifndef SMTPD_BODYWRITER_H
#define SMTPD_BODYWRITER_H

#include <stddef.h>
#include <stdint.h>

#define BODY_WRITE_BUF	(64 * 1024)	/* one write() per 64 KiB of message */

struct body_writer {
	int		fd;
	int		error;		/* errno of the first failed write, 0 if none */
	uint64_t	written;	/* octets handed to write() successfully */
	size_t		len;		/* octets waiting in buf */
	uint8_t		buf[BODY_WRITE_BUF];
};

void	body_writer_init(struct body_writer *, int fd);
/* Buffers n bytes; after the first write error, further bytes are dropped. */
void	body_writer_put(struct body_writer *, const void *, size_t n);
/* Writes what is buffered. 0, or -1 with w->error set. */
int	body_writer_flush(struct body_writer *);
/* Appends the whole content of fd (read with pread from offset 0, so a
 * shared file offset does not matter). 0, or -1 with w->error set (a read
 * error counts as a write error: the message is incomplete either way). */
int	body_writer_copy_fd(struct body_writer *, int fd);

#endif
