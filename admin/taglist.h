/*
 * admin/taglist.h - "tag=value; tag=value" lists (RFC 6376 3.2), the form
 * of DKIM key records, DMARC (RFC 7489 6.4), MTA-STS (RFC 8461 3.1) and
 * TLS-RPT (RFC 8460 3) records, as `mxctl doctor` reads them from DNS.
 *
 * Owns: nothing; a pure, bounded reader of outside text (fuzzed in
 * tests/fuzz/fuzz_doctor_records.c). Tag names compare exactly (RFC 6376
 * 3.2: case-sensitive); blanks around names, '=' and values are dropped.
 */
#ifndef HMX_ADMIN_TAGLIST_H
#define HMX_ADMIN_TAGLIST_H

#include <stddef.h>

/* 0 if every non-empty element of txt is "name=value" with a valid name
 * (ALPHA *(ALNUM / "_")), else -1. */
int	taglist_valid(const char *txt, size_t len);
/* The value of the first tag called name: 1 (out set), 0 absent, -1 if it
 * does not fit size. */
int	taglist_get(const char *txt, size_t len, const char *name, char *out, size_t size);
/* The first tag's name and value: 1, or 0 if there is none / it is malformed. */
int	taglist_first(const char *txt, size_t len, char *name, size_t nsize, char *value,
	    size_t vsize);

#endif
