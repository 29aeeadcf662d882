/*
 * lib/sts_policy.h - the MTA-STS policy (RFC 8461 3.2) and the HTTP
 * response it comes in (3.3): see sts_policy.c.
 */
#ifndef HMX_STS_POLICY_H
#define HMX_STS_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

#define STS_MX_MAX		16
#define STS_BODY_MAX		65536	/* RFC 8461 3.3: a sender reads at most 64 KiB */

enum sts_policy_mode { STS_MODE_NONE = 0, STS_MODE_TESTING, STS_MODE_ENFORCE };

struct sts_policy {
	enum sts_policy_mode	mode;
	unsigned long		max_age;
	size_t			nmx;
	char			mx[STS_MX_MAX][ADDR_DOMAIN_MAX + 1];	/* "*.example.org" allowed */
};

/* RFC 8461 3.2: 0, or -1 with why (the first problem). Unknown keys are
 * ignored; version, mode and max_age must be there, mx too unless mode none. */
int	sts_policy_parse(const char *text, size_t len, struct sts_policy *, char *why,
	    size_t whysize);
/* RFC 8461 4.1: exact, or "*.suffix" for one more label. */
bool	sts_policy_mx_matches(const struct sts_policy *, const char *host);
/* An HTTP/1.x response: 0 with the status code, the body and whether the
 * Content-Type is text/plain; -1 with why if it is not a response. */
int	sts_http_response(const char *buf, size_t len, int *status, const char **body,
	    size_t *bodylen, bool *text_plain, char *why, size_t whysize);

#endif
