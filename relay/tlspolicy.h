/*
 * relay/tlspolicy.h - which TLS policy one MX host gets, from what the
 * admin set (tls=require), what DNSSEC said (relay/dane.h) and the
 * domain's MTA-STS policy (relay/mtasts.h).
 *
 * Owns: the precedence, as a pure function the unit tests pin:
 *	1. a TLSA lookup that failed under a secure MX: skip the host
 *	   (RFC 7672 2.2.1)
 *	2. usable TLSA records: DANE (RFC 8461 2: DANE wins over MTA-STS)
 *	3. tls=require: TLS with a certificate verified for the host name
 *	4. a secure TLSA RRset with no usable record: TLS, unauthenticated
 *	5. MTA-STS enforce: a host that matches no mx: line is skipped
 *	   (RFC 8461 4.1), the others get TLS verified for their name
 *	6. MTA-STS testing: opportunistic, the check only reported
 *	7. opportunistic STARTTLS
 */
#ifndef RELAY_TLSPOLICY_H
#define RELAY_TLSPOLICY_H

#include <stdbool.h>

#include "dane.h"
#include "sts_policy.h"
#include "tls.h"

enum tlspolicy_skip {
	TLSPOLICY_USE = 0,
	TLSPOLICY_SKIP_TLSA_FAILED,	/* 1. above */
	TLSPOLICY_SKIP_STS_MX,		/* 5. above */
};

/* sts: the domain's policy, or NULL for none. */
enum tls_policy_kind	tlspolicy_choose(bool rule_require, enum dane_state,
			    const struct sts_policy *sts, const char *mx_host,
			    enum tlspolicy_skip *skip);

#endif
