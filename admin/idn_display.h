/*
 * admin/idn_display.h - the two forms of an internationalized domain in
 * mxctl's listings: the store keeps the A-label form (what DNS and SMTP
 * without SMTPUTF8 need, RFC 5890 2.3.2.1), a person reads the U-labels
 * (RFC 5890 2.3.2.1 too: the U-label is the form meant for display).
 *
 * Owns: nothing; pure formatting over lib/addr_intl.h. Why a helper: the
 * domain, user and alias lists (text and --json) must show the pair the
 * same way, "xn--bcher-kva.example (bücher.example)" and "domain_unicode"
 * / "address_unicode" members, and only when the two forms differ.
 */
#ifndef HMX_ADMIN_IDN_DISPLAY_H
#define HMX_ADMIN_IDN_DISPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The U-label form of an A-label domain into out; false (out = "") when
 * the domain has no A-label that converts, so both forms are the same. */
bool	idn_domain_unicode(const char *domain, char *out, size_t size);
/* The same for the domain of "local@domain"; the local part is kept. */
bool	idn_address_unicode(const char *address, char *out, size_t size);

/* "name" or "name (unicode form)" for a text listing: a domain when
 * is_address is false, else an address. */
void	idn_print_text(FILE *, const char *name, bool is_address);
/* ", \"KEY_unicode\": \"...\"" when the forms differ, nothing otherwise;
 * key is "domain" or "address". */
void	idn_print_json_member(FILE *, const char *key, const char *name,
	    bool is_address);

#endif
