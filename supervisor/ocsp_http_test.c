/*
 * supervisor/ocsp_http_test.c - the HTTP of an OCSP fetch: responder URIs
 * (name, IPv4, [IPv6], port, path) and their refusals, the request head,
 * and responses: 200 with and without Content-Length, a body cut short,
 * another status, chunked encoding, garbage.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ocsp_http.h"

static void
test_uris(void **state)
{
	static const struct { const char *uri, *host, *path; uint16_t port; } good[] = {
		{ "http://r3.o.lencr.org", "r3.o.lencr.org", "/", 80 },
		{ "http://ocsp.example.test:8080/", "ocsp.example.test", "/", 8080 },
		{ "HTTP://192.0.2.7:81/ocsp/x", "192.0.2.7", "/ocsp/x", 81 },
		{ "http://[2001:db8::7]:8888/q", "2001:db8::7", "/q", 8888 },
		{ "http://[2001:db8::7]", "2001:db8::7", "/", 80 },
	};
	static const char *const bad[] = { "https://ocsp.example.test/", "http://", "http://:80/",
		"http://host:0/", "http://host:99999/", "http://host:8x/", "http://ho st/",
		"http://[2001:db8::7/", "http://host/a b", "ldap://host/", "http://host:/" };
	char host[OCSP_HOST_MAX], path[OCSP_PATH_MAX];
	uint16_t port;
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(ocsp_uri_parse(good[i].uri, host, &port, path, &why), 0);
		assert_string_equal(host, good[i].host);
		assert_string_equal(path, good[i].path);
		assert_int_equal(port, good[i].port);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ocsp_uri_parse(bad[i], host, &port, path, &why) != -1)
			fail_msg("accepted %s", bad[i]);
}

static void
test_request_head(void **state)
{
	char out[512];

	(void)state;
	assert_true(ocsp_http_request_head("ocsp.example.test", 80, "/", 83, out, sizeof(out)) > 0);
	assert_string_equal(out, "POST / HTTP/1.0\r\nHost: ocsp.example.test\r\n"
	    "Content-Type: application/ocsp-request\r\nContent-Length: 83\r\n"
	    "Connection: close\r\n\r\n");
	assert_true(ocsp_http_request_head("2001:db8::7", 8888, "/q", 1, out, sizeof(out)) > 0);
	assert_non_null(strstr(out, "Host: [2001:db8::7]:8888\r\n"));
	assert_int_equal(ocsp_http_request_head("h", 80, "/", 1, out, 20), -1);
}

static int
parse(const char *text, const char **body, size_t *len, const char **why)
{
	return ocsp_http_response(text, strlen(text), body, len, why);
}

static void
test_responses(void **state)
{
	const char *body, *why;
	size_t len;

	(void)state;
	assert_int_equal(parse("HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response\r\n"
	    "Content-Length: 4\r\n\r\nDERx trailing", &body, &len, &why), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(body, "DERx", 4);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\n\r\nuntil close", &body, &len, &why), 0);
	assert_int_equal(len, 11);
	assert_int_equal(parse("HTTP/1.0 200 OK\r\ncontent-length:  20\r\n\r\nshort", &body, &len,
	    &why), -1);
	assert_string_equal(why, "body shorter than Content-Length");
	assert_int_equal(parse("HTTP/1.0 404 Not Found\r\n\r\nx", &body, &len, &why), -1);
	assert_string_equal(why, "HTTP status is not 200");
	assert_int_equal(parse("HTTP/1.0 2000\r\n\r\nx", &body, &len, &why), -1);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nDERx",
	    &body, &len, &why), -1);
	assert_int_equal(parse("HTTP/1.0 200 OK\r\n\r\n", &body, &len, &why), -1);
	assert_int_equal(parse("HTTP/1.0 200 OK\r\nContent-Length: -1\r\n\r\nx", &body, &len,
	    &why), -1);
	assert_int_equal(parse("SSH-2.0-OpenSSH\r\n\r\nx", &body, &len, &why), -1);
	assert_int_equal(parse("HTTP/1.0 200 OK\r\nno end of head", &body, &len, &why), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uris),
		cmocka_unit_test(test_request_head),
		cmocka_unit_test(test_responses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
