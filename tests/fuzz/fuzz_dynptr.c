// SOURCES: screen/dynptr.c lib/config_screen.c lib/config_scan.c lib/hostport.c lib/addr.c lib/addr_intl.c lib/utf8.c
// LIBS: -lpsl -lidn2 -lunistring
/*
 * tests/fuzz/fuzz_dynptr.c - the dynamic-PTR heuristic (screen/dynptr.c)
 * on any name and any address text: "NAME\nIP". The name is what a PTR
 * answer could hold (the resolver only passes host names, but the
 * heuristic must not depend on that), the IP what smtpd reported.
 * It must return, bounded, and fill why within its size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../screen/dynptr.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct screen_config sc;
	static int ready;
	char name[300], ip[80], why[24];
	const uint8_t *nl = memchr(data, '\n', size);
	size_t nlen = nl != NULL ? (size_t)(nl - data) : size;
	size_t ilen = nl != NULL ? size - nlen - 1 : 0;

	if (!ready) {
		screen_config_defaults(&sc);
		ready = 1;
	}
	if (nlen >= sizeof(name) || ilen >= sizeof(ip))
		return 0;
	memcpy(name, data, nlen);
	name[nlen] = '\0';
	if (nl != NULL)
		memcpy(ip, nl + 1, ilen);
	ip[ilen] = '\0';
	memset(why, 0x55, sizeof(why));
	enum dynptr_sign s = dynptr_check(name, ip, &sc, why, sizeof(why));
	if (s != DYNPTR_NONE && s != DYNPTR_WORD && s != DYNPTR_ADDRESS)
		abort();
	if (memchr(why, '\0', sizeof(why)) == NULL)
		abort();
	return 0;
}
