/*
 * admin/dnsrecords_test.c - the record builder behind `mxctl dns`: which
 * records, with which names and values, for which inputs (addresses or
 * none, keys or none, a certificate that verifies or not, an outside
 * report address, a smarthost), and the zone-file and JSON forms.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dnsrecords.h"

struct fixture {
	struct host_addrs	pub;
	struct dkim_pub		dkim[DKIM_ALG_COUNT];
	struct dnsrec_input	in;
	struct dnsrec_list	l;
};

static struct fixture *
fixture_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(host_addrs_add(&f->pub, "192.0.2.1", HOST_ADDR_CONFIG), 0);
	assert_int_equal(host_addrs_add(&f->pub, "2001:DB8::1", HOST_ADDR_CONFIG), 0);
	for (int i = 0; i < DKIM_ALG_COUNT; i++) {
		f->dkim[i].present = true;
		f->dkim[i].alg = (enum dkim_key_alg)i;
		snprintf(f->dkim[i].dns_selector, sizeof(f->dkim[i].dns_selector), "mx1-%s",
		    dkim_alg_dns_name((enum dkim_key_alg)i));
		snprintf(f->dkim[i].text, sizeof(f->dkim[i].text), "v=DKIM1; k=%s; p=KEY%d",
		    dkim_alg_dns_name((enum dkim_key_alg)i), i);
		assert_int_equal(dkim_zone_strings(f->dkim[i].text, f->dkim[i].zone,
		    sizeof(f->dkim[i].zone)), 0);
	}
	f->in = (struct dnsrec_input){
		.domain = "example.org", .hostname = "mx.example.org", .public = &f->pub,
		.sending = &f->pub, .dkim = f->dkim, .selector = "mx1", .report_address = "",
		.tls = true, .tlsa_hex = "ab12", .cert_verifies = true, .cert_why = "",
		.smarthost = "",
	};
	return f;
}

static const struct dnsrec *
want(const struct dnsrec_list *l, const char *type, const char *name, const char *value)
{
	const struct dnsrec *r = dnsrec_find(l, type, name);

	if (r == NULL)
		fail_msg("no %s record at %s", type, name);
	if (value != NULL && strcmp(strcmp(type, "TXT") == 0 ? r->text : r->value, value) != 0)
		fail_msg("%s %s: '%s', want '%s'", type, name, strcmp(type, "TXT") == 0 ?
		    r->text : r->value, value);
	if (r->why[0] == '\0')
		fail_msg("%s %s has no reason", type, name);
	return r;
}

static void
test_every_record(void **state)
{
	struct fixture *f = fixture_new();
	struct dnsrec_list *l = &f->l;

	(void)state;
	assert_int_equal(dnsrec_build(&f->in, l), 0);
	want(l, "MX", "example.org", "10 mx.example.org.");
	want(l, "A", "mx.example.org", "192.0.2.1");
	want(l, "AAAA", "mx.example.org.", "2001:db8::1");
	const struct dnsrec *ptr = want(l, "PTR", "1.2.0.192.in-addr.arpa", "mx.example.org.");
	assert_int_equal(ptr->where, DNSREC_PROVIDER);
	want(l, "PTR", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
	    "mx.example.org.");
	want(l, "TXT", "example.org", "v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 -all");
	want(l, "TXT", "mx.example.org", "v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 -all");
	want(l, "TXT", "mx1-rsa._domainkey.example.org", "v=DKIM1; k=rsa; p=KEY0");
	want(l, "TXT", "mx1-ed25519._domainkey.example.org", "v=DKIM1; k=ed25519; p=KEY1");
	want(l, "TXT", "_dmarc.example.org",
	    "v=DMARC1; p=reject; adkim=s; aspf=s; rua=mailto:postmaster@example.org");
	want(l, "TXT", "_smtp._tls.example.org", "v=TLSRPTv1; rua=mailto:postmaster@example.org");
	want(l, "TLSA", "_25._tcp.mx.example.org", "3 1 1 ab12");
	want(l, "A", "mta-sts.example.org", "192.0.2.1");
	/* enforce; the id is 20 hex digits of the policy's SHA-256 */
	assert_int_equal(l->sts_mode, STS_ENFORCE);
	assert_string_equal(l->sts_policy, "version: STSv1\r\nmode: enforce\r\n"
	    "mx: mx.example.org\r\nmax_age: 604800\r\n");
	assert_string_equal(l->sts_url, "https://mta-sts.example.org/.well-known/mta-sts.txt");
	assert_int_equal(strlen(l->sts_id), 20);
	char txt[64];
	snprintf(txt, sizeof(txt), "v=STSv1; id=%s", l->sts_id);
	want(l, "TXT", "_mta-sts.example.org", txt);
	assert_int_equal(l->nnotes, 0);
	free(f);
}

static void
test_policy_id_follows_the_policy(void **state)
{
	struct fixture *f = fixture_new();
	char enforce[32];

	(void)state;
	assert_int_equal(dnsrec_build(&f->in, &f->l), 0);
	snprintf(enforce, sizeof(enforce), "%s", f->l.sts_id);
	assert_int_equal(dnsrec_build(&f->in, &f->l), 0);
	assert_string_equal(f->l.sts_id, enforce);		/* stable */
	f->in.cert_verifies = false;
	f->in.cert_why = "self-signed certificate";
	assert_int_equal(dnsrec_build(&f->in, &f->l), 0);
	assert_int_equal(f->l.sts_mode, STS_TESTING);
	assert_non_null(strstr(f->l.sts_policy, "mode: testing\r\n"));
	assert_non_null(strstr(f->l.sts_policy, "max_age: 86400\r\n"));
	assert_string_not_equal(f->l.sts_id, enforce);
	assert_non_null(strstr(f->l.note[0], "self-signed certificate"));
	free(f);
}

static void
test_without_addresses_keys_or_tls(void **state)
{
	struct fixture *f = fixture_new();
	struct host_addrs none = { 0 };

	(void)state;
	f->in.public = f->in.sending = &none;
	f->in.tls = false;
	f->in.tlsa_hex = NULL;
	f->dkim[DKIM_ALG_ED25519].present = false;
	assert_int_equal(dnsrec_build(&f->in, &f->l), 0);
	want(&f->l, "TXT", "example.org", "v=spf1 mx -all");
	assert_null(dnsrec_find(&f->l, "A", "mx.example.org"));
	assert_null(dnsrec_find(&f->l, "PTR", "1.2.0.192.in-addr.arpa"));
	assert_null(dnsrec_find(&f->l, "TLSA", "_25._tcp.mx.example.org"));
	assert_null(dnsrec_find(&f->l, "TXT", "_mta-sts.example.org"));
	assert_null(dnsrec_find(&f->l, "TXT", "mx1-ed25519._domainkey.example.org"));
	want(&f->l, "TXT", "mx1-rsa._domainkey.example.org", NULL);
	assert_int_equal(f->l.sts_mode, STS_OFF);
	assert_int_equal(f->l.nnotes, 3);
	assert_non_null(strstr(f->l.note[0], "public_address"));
	assert_non_null(strstr(f->l.note[1], "only one DKIM key"));
	assert_non_null(strstr(f->l.note[1], "mxctl dkim keygen example.org"));
	assert_non_null(strstr(f->l.note[2], "no tls_certificate"));
	free(f);
}

static void
test_outside_report_address_and_smarthost(void **state)
{
	struct fixture *f = fixture_new();

	(void)state;
	f->in.report_address = "reports@dmarc.example.net";
	f->in.smarthost = "smtp.provider.example";
	f->in.hostname = "example.org";		/* the domain is the mail host */
	assert_int_equal(dnsrec_build(&f->in, &f->l), 0);
	want(&f->l, "TXT", "_dmarc.example.org",
	    "v=DMARC1; p=reject; adkim=s; aspf=s; rua=mailto:reports@dmarc.example.net");
	want(&f->l, "TXT", "example.org._report._dmarc.dmarc.example.net", "v=DMARC1");
	want(&f->l, "TXT", "_smtp._tls.example.org",
	    "v=TLSRPTv1; rua=mailto:reports@dmarc.example.net");
	/* one SPF record only: the mail host is the domain */
	size_t spf = 0;
	for (size_t i = 0; i < f->l.n; i++)
		spf += strncmp(f->l.r[i].text, "v=spf1", 6) == 0;
	assert_int_equal(spf, 1);
	assert_non_null(strstr(f->l.note[0], "smtp.provider.example"));
	free(f);
}

static void
test_long_txt_is_split(void **state)
{
	char text[600], zone[700];

	(void)state;
	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	assert_int_equal(dkim_zone_strings(text, zone, sizeof(zone)), 0);
	/* "255" "255" "89": three strings of at most 255 octets (RFC 1035 3.3.14) */
	assert_int_equal(zone[0], '"');
	assert_int_equal(zone[256], '"');
	assert_int_equal(zone[257], ' ');
	assert_int_equal(strlen(zone), 599 + 6 + 2);
	assert_int_equal(dkim_zone_strings(text, zone, 100), -1);
}

static void
test_printers(void **state)
{
	struct fixture *f = fixture_new();
	char *buf = NULL;
	size_t len = 0;
	FILE *out;

	(void)state;
	f->in.report_address = "a\"b@example.org";	/* JSON must escape it */
	assert_int_equal(dnsrec_build(&f->in, &f->l), 0);
	assert_non_null(out = open_memstream(&buf, &len));
	dnsrec_print_zone(out, &f->in, &f->l);
	fclose(out);
	assert_non_null(strstr(buf, "\n; mail for example.org is delivered to mx.example.org"));
	assert_non_null(strstr(buf, "\nexample.org. IN MX 10 mx.example.org.\n"));
	assert_non_null(strstr(buf, "\n; 1.2.0.192.in-addr.arpa. IN PTR mx.example.org.\n"));
	assert_non_null(strstr(buf, ";   mode: enforce\n"));
	free(buf);
	assert_non_null(out = open_memstream(&buf, &len));
	dnsrec_print_json(out, &f->in, &f->l);
	fclose(out);
	assert_non_null(strstr(buf, "rua=mailto:a\\\"b@example.org\""));
	assert_non_null(strstr(buf, "\"policy\": \"version: STSv1\\r\\nmode: enforce"));
	assert_non_null(strstr(buf, "\"where\": \"provider\""));
	free(buf);
	free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_record),
		cmocka_unit_test(test_policy_id_follows_the_policy),
		cmocka_unit_test(test_without_addresses_keys_or_tls),
		cmocka_unit_test(test_outside_report_address_and_smarthost),
		cmocka_unit_test(test_long_txt_is_split),
		cmocka_unit_test(test_printers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
