/*
 * lib/ipc_text.h - the kinds of free-text field an IPC message carries.
 *
 * Owns: the one definition of each kind, checked inside the decoders of
 * lib/ipc_decode.c, so no receiver needs its own check:
 *	text line	a reason or a remote reply: printable ASCII, HTAB and
 *			UTF-8 (RFC 3629) without C0/C1 controls, so no CR, LF,
 *			NUL or ESC reaches a log, a DSN or an SMTP reply
 *	header block	header fields to prepend to a message (RFC 5322 2.2):
 *			CRLF-ended lines of at most 998 octets of printable
 *			ASCII and HTAB, a "name:" line first, folded lines
 *			start with SP/HTAB, no bare CR or LF
 *	token		printable ASCII without space (a HELO argument)
 *	ip text		an IPv4 or IPv6 address as inet_ntop() writes it
 * Text that comes from outside (a remote server's reply) is passed through
 * ipc_text_line_clean() by the encoder, so what we send always passes.
 */
#ifndef HMX_IPC_TEXT_H
#define HMX_IPC_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#define IPC_HEADER_LINE_MAX	998	/* RFC 5322 2.1.1, without CRLF */

bool	ipc_text_line_is_valid(const char *s, size_t len);
/*
 * Copies src into dst as a valid text line: every byte that may not be in
 * one (a control, a broken UTF-8 sequence) becomes '?', and the text is
 * cut at a character boundary to fit dstsize - 1 bytes. NUL-terminates;
 * returns the length written.
 */
size_t	ipc_text_line_clean(char *dst, size_t dstsize, const char *src, size_t srclen);
bool	ipc_header_block_is_valid(const char *s, size_t len);
/* Empty is valid for these two: a locally made message has neither. */
bool	ipc_token_is_valid(const char *s, size_t len);
bool	ipc_ip_text_is_valid(const char *s, size_t len);

#endif
