/*
 * lib/addr.h - RFC 5321 mailbox and path parsing, and address normalization.
 *
 * Owns: the one definition of what a valid address is in homemx. smtpd
 * parses MAIL FROM/RCPT TO with it, the IPC decoders re-check addresses with
 * it, and mxctl normalizes what the admin types with it, so a key such as
 * "kim€example.test" can never enter the store.
 */
#ifndef HMX_ADDR_H
#define HMX_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#define ADDR_LOCAL_MAX	64	/* RFC 5321 4.5.3.1.1 */
#define ADDR_DOMAIN_MAX	255	/* RFC 5321 4.5.3.1.2 */
#define ADDR_MAX	256	/* RFC 5321 4.5.3.1.3 path, incl. <> */
#define ADDR_LOGIN_MAX	32	/* a system login name: useradd(8)'s limit */

enum addr_status {
	ADDR_OK = 0,
	ADDR_SYNTAX,		/* 501 5.1.3 (RCPT) / 501 5.1.7 (MAIL) */
	ADDR_TOO_LONG,		/* 501 5.1.3 */
	ADDR_NO_DOMAIN,		/* "user" or "a!b!c" without @domain */
	ADDR_BAD_DOMAIN,
	ADDR_BAD_LOCAL,
	ADDR_NON_ASCII,		/* 8-bit without SMTPUTF8, or not UTF-8: 553 5.6.7 */
};

const char	*addr_status_text(enum addr_status);

struct mailaddr {
	/* Local part in canonical form: unquoted if it is a valid dot-string,
	 * otherwise the quoted string as received. */
	char	local[ADDR_LOCAL_MAX + 3];
	/* Domain, lowercased, in A-label form (a U-label domain is converted,
	 * lib/addr_intl.h); an address literal keeps its brackets. */
	char	domain[ADDR_DOMAIN_MAX + 1];
	bool	is_literal;
	/* RFC 6531 3.3: the local part is UTF-8 (NFC); such an address can
	 * only travel with SMTPUTF8. */
	bool	utf8_local;
	/* The domain was given with U-labels (domain holds the A-labels). */
	bool	u_label;
};

/* True if the address as given needs SMTPUTF8 (RFC 6531 3.4). */
#define ADDR_NEEDS_SMTPUTF8(a)	((a)->utf8_local || (a)->u_label)

/*
 * Parses a bare Mailbox ("local@domain") of exactly len bytes. UTF-8 local
 * parts and U-label domains (RFC 6531 3.3) are accepted and normalized
 * (NFC local part, A-label domain) and flagged in utf8_local/u_label: the
 * SMTP layer decides whether the transaction may carry them (smtpd/command.c).
 * 8-bit bytes that are not clean UTF-8 give ADDR_NON_ASCII.
 */
enum addr_status addr_parse_mailbox(const char *s, size_t len, struct mailaddr *);

/*
 * Parses a Reverse-path / Forward-path at the start of s: "<" [A-d-l ":"]
 * Mailbox ">" or, if allow_null, "<>". A source route is accepted and
 * ignored (RFC 5321 4.1.1.3), so "<@local:user@other>" means user@other.
 * On success *consumed is the number of bytes up to and including '>'.
 */
enum addr_status addr_parse_path(const char *s, size_t len, bool allow_null,
		    struct mailaddr *, bool *is_null, size_t *consumed);

/* "local@domain" into buf; -1 if it does not fit. */
int		 addr_format(const struct mailaddr *, char *buf, size_t size);

/*
 * Normalizes an address typed by an administrator: trims nothing, rejects
 * anything but one mailbox, folds the local part into its lookup key
 * (lowercase in any script, NFC: addr_local_fold() in lib/addr_intl.h),
 * lowercases the domain and converts an internationalized domain to its
 * A-label form (IDNA2008), as addr_parse_mailbox() does for the domain of
 * an address received over SMTP. The result is a store key.
 * On error returns the status and sets *why to a sentence for the user.
 */
enum addr_status addr_normalize_input(const char *in, char *out, size_t outsize,
		    const char **why);
/* Same for a bare domain name. Returns 0 or -1 with *why. */
int		 domain_normalize_input(const char *in, char *out, size_t outsize,
		    const char **why);
/* True for a system login that can be the local part of an address as
 * it is (a dot-atom, RFC 5322 3.2.3, of at most ADDR_LOGIN_MAX octets):
 * what LOGIN@hostname needs (sendmail(8), submission/local.c). */
bool		 addr_login_is_valid(const char *login);
/* True if s is a syntactically valid (ASCII, LDH) domain name. */
bool		 domain_is_valid(const char *s, size_t len);

#endif
