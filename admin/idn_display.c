/*
 * admin/idn_display.c - U-label display forms for mxctl's listings (see
 * idn_display.h).
 *
 * Owns: nothing. The conversion is addr_domain_ulabel() (libidn2,
 * lib/addr_intl.c); a name that does not convert is shown only in the form
 * the store holds, never half converted.
 */
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "addr_intl.h"
#include "idn_display.h"
#include "jsonout.h"

bool
idn_domain_unicode(const char *domain, char *out, size_t size)
{
	if (size == 0)
		return false;
	out[0] = '\0';
	if (strstr(domain, "xn--") == NULL)
		return false;
	addr_domain_ulabel(domain, out, size);
	if (strcmp(out, domain) == 0) {
		out[0] = '\0';
		return false;
	}
	return true;
}

bool
idn_address_unicode(const char *address, char *out, size_t size)
{
	const char *at = strrchr(address, '@');
	char domain[4 * ADDR_DOMAIN_MAX + 1];
	size_t ll;

	if (size == 0)
		return false;
	out[0] = '\0';
	if (at == NULL || !idn_domain_unicode(at + 1, domain, sizeof(domain)))
		return false;
	ll = (size_t)(at - address);
	if (ll + 1 + strlen(domain) + 1 > size)
		return false;
	snprintf(out, size, "%.*s@%s", (int)ll, address, domain);
	return true;
}

static bool
unicode_form(const char *name, bool is_address, char *out, size_t size)
{
	return is_address ? idn_address_unicode(name, out, size) :
	    idn_domain_unicode(name, out, size);
}

void
idn_print_text(FILE *f, const char *name, bool is_address)
{
	char u[4 * (ADDR_MAX + 1)];

	if (unicode_form(name, is_address, u, sizeof(u)))
		fprintf(f, "%s (%s)", name, u);
	else
		fputs(name, f);
}

void
idn_print_json_member(FILE *f, const char *key, const char *name,
    bool is_address)
{
	char u[4 * (ADDR_MAX + 1)], member[32];

	if (!unicode_form(name, is_address, u, sizeof(u)))
		return;
	snprintf(member, sizeof(member), "%s_unicode", key);
	json_member(f, 0, member, u);
}
