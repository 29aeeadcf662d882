// SOURCES: relay/dane.c
// LIBS: -lresolv
/*
 * tests/fuzz/fuzz_relay_tlsa.c - the relay's TLSA answer reader
 * (dane_parse_answer, relay/dane.c) on any packet a resolver could send.
 * Whatever it is: at most DANE_TLSA_MAX records kept, each with data
 * within DANE_DATA_MAX and inside the set's used data area (at most
 * DANE_SET_DATA_MAX), records only with DANE_RC_RECORDS, and the
 * decision (dane_decide) never authenticates from an answer without AD.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../relay/dane.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dane_set set;
	bool ad;
	enum dane_rcode rc = dane_parse_answer(data, size, &ad, &set);

	if (set.n > DANE_TLSA_MAX || set.n > set.nseen || set.used > DANE_SET_DATA_MAX)
		abort();
	if (rc != DANE_RC_RECORDS && set.n != 0)
		abort();
	for (size_t i = 0; i < set.n; i++)
		if (set.rr[i].len == 0 || set.rr[i].len > DANE_DATA_MAX ||
		    (size_t)set.rr[i].off + set.rr[i].len > set.used)
			abort();
	if (!ad && dane_decide(true, true, rc, ad, &set) == DANE_AUTH)
		abort();
	return 0;
}
