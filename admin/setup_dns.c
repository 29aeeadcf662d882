/*
 * admin/setup_dns.c - the DNS records `mxctl setup` tells a new self-hoster
 * to publish.
 *
 * Owns: the simple form of a new domain's records, as zone-file lines with
 * a comment each: MX (RFC 5321 5.1), SPF (RFC 7208: "v=spf1 mx -all", only
 * the MX hosts send), the two DKIM keys (printed by `mxctl dkim show`,
 * admin/cmd_dkim.c), DMARC (RFC 7489: p=reject, reports to postmaster@).
 * The addresses of the mail host are not known here (a server behind NAT
 * does not see its public address), so its A/AAAA and PTR records are
 * described in comments, never printed as lines one could paste unchanged.
 * Why one function in a file of its own: a fuller printer (MTA-STS,
 * TLS-RPT, TLSA, checks of what is published) can replace its body
 * without touching the setup command.
 */
#include <stdio.h>

#include "setup.h"

int
setup_dns_print(struct mxctl *m, const char *domain, const char *hostname)
{
	char *show[] = { "show", (char *)domain, NULL };

	printf("; DNS records for %s: publish them at your DNS provider.\n", domain);
	printf("; Mail for %s goes to %s:\n", domain, hostname);
	printf("%s. IN MX 10 %s.\n", domain, hostname);
	printf("; %s needs an A record with this server's public IPv4 address (and an\n"
	    "; AAAA record for IPv6, if it has one); ask the provider of each address\n"
	    "; for a PTR record naming %s: receivers check both.\n", hostname, hostname);
	printf("; SPF: only the MX hosts of %s send its mail:\n", domain);
	printf("%s. IN TXT \"v=spf1 mx -all\"\n", domain);
	printf("; DKIM: the public keys outgoing mail is signed with:\n");
	fflush(stdout);
	if (cmd_dkim(m, 2, show) != MX_OK)
		return -1;
	printf("; DMARC: mail from %s that passes neither SPF nor DKIM is refused;\n"
	    "; reports go to postmaster@%s:\n", domain, domain);
	printf("_dmarc.%s. IN TXT \"v=DMARC1; p=reject; rua=mailto:postmaster@%s\"\n",
	    domain, domain);
	return 0;
}
