/*
 * smtpd/guard.c - client identity for connection counts, the deadline
 * of each phase, and the stress-mode rule.
 *
 * Owns: the answer to "how long may this client take now". Why deadlines
 * that bytes do not extend: an idle timer that every byte restarts lets a
 * client that drips one byte every few seconds hold its slot forever, and
 * twenty addresses with ten such connections each lock out all inbound
 * mail. Why stress mode: when the server is nearly full, the patient
 * defaults of RFC 5321 4.5.3.2 (5 minutes per command) are what an attack
 * lives on; shortening them frees slots for the mail that is waiting, as
 * Postfix's stress mode does. Honest clients answer in milliseconds, so
 * they never notice.
 */
#include <netinet/in.h>

#include <string.h>

#include "guard.h"

void
client_addr_from_sockaddr(const struct sockaddr *sa, struct client_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
		out->b[10] = out->b[11] = 0xff;
		memcpy(&out->b[12], &s4->sin_addr, 4);
		out->v4 = true;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
		memcpy(out->b, &s6->sin6_addr, 16);
		out->v4 = IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr);
	}
}

bool
client_same_ip(const struct client_addr *a, const struct client_addr *b)
{
	return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

bool
client_same_net(const struct client_addr *a, const struct client_addr *b)
{
	if (a->v4 != b->v4)
		return false;
	if (a->v4)
		return memcmp(&a->b[12], &b->b[12], 3) == 0;	/* /24 */
	return memcmp(a->b, b->b, 8) == 0;			/* /64 */
}

const char *
deadline_name(enum deadline_kind k)
{
	switch (k) {
	case DEADLINE_GREETING:		return "greeting";
	case DEADLINE_FIRST_COMMAND:	return "first_command";
	case DEADLINE_COMMAND:		return "command";
	case DEADLINE_DATA:		return "data";
	case DEADLINE_ANSWER:		return "answer";
	case DEADLINE_EOD_ANSWER:	return "eod_answer";
	case DEADLINE_LINGER:		return "linger";
	case DEADLINE_NONE:		break;
	}
	return "none";
}

static unsigned
shorter(unsigned configured, unsigned stress_value, bool stress)
{
	return stress && stress_value < configured ? stress_value : configured;
}

unsigned
deadline_seconds(enum deadline_kind k, const struct config *c, bool stress)
{
	switch (k) {
	case DEADLINE_GREETING:
		return shorter(c->greeting_delay, STRESS_GREETING, stress);
	case DEADLINE_FIRST_COMMAND:
		return shorter(c->timeout_command, STRESS_FIRST_COMMAND, stress);
	case DEADLINE_COMMAND:
		return shorter(c->timeout_command, STRESS_COMMAND, stress);
	case DEADLINE_DATA:
		return shorter(c->timeout_data, STRESS_DATA, stress);
	case DEADLINE_ANSWER:
		return ANSWER_TIMEOUT;
	case DEADLINE_EOD_ANSWER:
		return eod_answer_seconds(c);
	case DEADLINE_LINGER:
		return CLOSE_LINGER;
	case DEADLINE_NONE:
		break;
	}
	return 0;
}

unsigned
screen_answer_seconds(const struct config *c)
{
	return 2 * c->screen.dns_timeout + 5;
}

unsigned
eod_answer_seconds(const struct config *c)
{
	unsigned need = 2 * c->screen.dns_timeout + c->screen.scan.timeout + 10;

	return need > ANSWER_TIMEOUT ? need : ANSWER_TIMEOUT;
}

bool
stress_next(bool stressed, size_t sessions, uint32_t max_connections)
{
	uint64_t n = sessions, max = max_connections;

	if (!stressed)
		return n * STRESS_ENTER_DEN > max * STRESS_ENTER_NUM;
	return n * STRESS_LEAVE_DEN > max * STRESS_LEAVE_NUM;
}
