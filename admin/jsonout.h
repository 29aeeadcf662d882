/*
 * admin/jsonout.h - JSON strings for the --json output of mxctl commands
 * (RFC 8259 7): quotes, backslashes and control characters escaped, any
 * other byte passed on (our texts are ASCII or UTF-8 from the config).
 */
#ifndef HMX_ADMIN_JSONOUT_H
#define HMX_ADMIN_JSONOUT_H

#include <stdio.h>

/* Writes s as a JSON string, quotes included. */
void	json_string(FILE *, const char *s);
/* "key": "value" with a leading comma unless first. */
void	json_member(FILE *, int first, const char *key, const char *value);

#endif
