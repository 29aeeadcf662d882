/*
 * dkimsign/headers.h - splits the header section of a message into fields
 * for the signer (headers.c).
 */
#ifndef HMX_DKIMSIGN_HEADERS_H
#define HMX_DKIMSIGN_HEADERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Our bounds on what we sign. RFC 5322 2.1.1 limits a line to 998 octets
 * but not the number of folded lines of a field nor the number of fields;
 * these are generous and keep one request's memory and CPU bounded.
 */
#define HDR_SECTION_MAX	(1024 * 1024)	/* header section, blank line incl. */
#define HDR_FIELD_MAX	(64 * 1024)	/* one field with all its folds */
#define HDR_FIELDS_MAX	1000		/* fields in one message */

enum hdr_status {
	HDR_OK = 0,
	HDR_BAD_EOL,		/* bare CR or bare LF in the header section */
	HDR_NUL,		/* NUL byte in the header section */
	HDR_NO_COLON,		/* a line that is neither a field nor a fold */
	HDR_BAD_NAME,		/* empty, or a byte outside 33..126 (RFC 5322 3.6.8),
				 * such as the obsolete space before the colon */
	HDR_LEADING_FOLD,	/* continuation line before the first field */
	HDR_FIELD_TOO_LONG,	/* > HDR_FIELD_MAX */
	HDR_TOO_MANY,		/* > HDR_FIELDS_MAX */
	HDR_TOO_BIG,		/* no end of the header section within the buffer */
	HDR_CALLBACK,		/* the field callback asked to stop */
};

const char	*hdr_status_text(enum hdr_status);

/* Called once per field: the field's bytes from its name up to, not
 * including, the CRLF that ends its last line (folds stay inside).
 * Return 0 to go on, -1 to stop with HDR_CALLBACK. */
typedef int (*hdr_field_cb)(const uint8_t *field, size_t len, void *arg);

/*
 * Splits the header section at the start of buf (len bytes, CRLF line
 * ends). eof says that buf holds the whole message: a message without an
 * empty line is then all header (RFC 5322 3.5: the body is optional), and
 * a last line without CRLF still ends its field. Without eof, a header
 * section that does not end inside buf is HDR_TOO_BIG.
 * On HDR_OK *body_off is the offset of the first body byte (just after
 * the empty line; len when there is no body) and *nfields the field count.
 * Fields are handed to cb as they are found, so on an error cb may have
 * seen some of them already: the caller must then discard its work.
 */
enum hdr_status	 hdr_split(const uint8_t *buf, size_t len, bool eof,
		    hdr_field_cb cb, void *arg, size_t *body_off, size_t *nfields);

#endif
