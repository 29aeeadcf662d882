// SOURCES: lib/config.c lib/config_dest.c lib/config_screen.c lib/config_scan.c lib/hostport.c lib/addr.c lib/addr_intl.c lib/utf8.c
// LIBS: -lidn2 -lunistring
/*
 * tests/fuzz/fuzz_config.c - the homemx.conf grammar on arbitrary text.
 * The parser must either accept or produce an error naming file:line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config c;
	char err[CONFIG_ERR_MAX];

	if (config_parse("fuzz.conf", (const char *)data, size, &c, err, sizeof(err)) == -1 &&
	    strncmp(err, "fuzz.conf", 9) != 0)
		abort();
	return 0;
}
