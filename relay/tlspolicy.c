/*
 * relay/tlspolicy.c - see tlspolicy.h.
 */
#include <stddef.h>

#include "tlspolicy.h"

enum tls_policy_kind
tlspolicy_choose(bool rule_require, enum dane_state dane, const struct sts_policy *sts,
    const char *mx_host, enum tlspolicy_skip *skip)
{
	*skip = TLSPOLICY_USE;
	if (dane == DANE_HOST_FAILED) {
		*skip = TLSPOLICY_SKIP_TLSA_FAILED;
		return TLSP_DANE;
	}
	if (dane == DANE_AUTH)
		return TLSP_DANE;
	if (rule_require)
		return TLSP_REQUIRE;
	if (dane == DANE_ENCRYPT)
		return TLSP_DANE_ENCRYPT;
	if (sts != NULL && sts->mode == STS_MODE_ENFORCE) {
		if (!sts_policy_mx_matches(sts, mx_host))
			*skip = TLSPOLICY_SKIP_STS_MX;
		return TLSP_STS_ENFORCE;
	}
	if (sts != NULL && sts->mode == STS_MODE_TESTING)
		return TLSP_STS_TESTING;
	return TLSP_OPPORTUNISTIC;
}
