/*
 * relay/family.c - see family.h.
 */
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "family.h"
#include "util.h"

struct pin {
	char	name[ADDR_DOMAIN_MAX + 1];
	time_t	until;
};

static struct pin	pins[FAMILY_MEMORY_MAX];
static size_t		npins;
static family_learn_cb	learn_hook;

void
family_set_learn_hook(family_learn_cb cb)
{
	learn_hook = cb;
}

static struct pin *
pin_find(const char *name)
{
	for (size_t i = 0; i < npins; i++)
		if (strcasecmp(pins[i].name, name) == 0)
			return &pins[i];
	return NULL;
}

/* A free slot: an expired entry, a new one, or the one expiring first. */
static struct pin *
pin_slot(time_t now)
{
	size_t victim = 0;

	for (size_t i = 0; i < npins; i++)
		if (pins[i].until <= now)
			return &pins[i];
	if (npins < FAMILY_MEMORY_MAX)
		return &pins[npins++];
	for (size_t i = 1; i < npins; i++)
		if (pins[i].until < pins[victim].until)
			victim = i;
	return &pins[victim];
}

/* Pins name until then (never shortens a pin); NULL if name is unusable. */
static struct pin *
pin_set(const char *name, time_t until, time_t now)
{
	struct pin *p;
	size_t len = strlen(name);

	if (len == 0 || len >= sizeof(p->name) || until <= now)
		return NULL;
	if ((p = pin_find(name)) == NULL) {
		p = pin_slot(now);
		memcpy(p->name, name, len + 1);
		str_lower(p->name);
		p->until = until;
	} else if (until > p->until)
		p->until = until;
	return p;
}

void
family_remember(const char *name, time_t now, uint32_t seconds)
{
	struct pin *p;

	if (seconds == 0 || (p = pin_set(name, now + (time_t)seconds, now)) == NULL)
		return;
	if (learn_hook != NULL)
		learn_hook(p->name, p->until);
}

void
family_load(const char *name, time_t until, time_t now, uint32_t max_seconds)
{
	if (until > now + (time_t)max_seconds)
		until = now + (time_t)max_seconds;
	(void)pin_set(name, until, now);
}

bool
family_is_pinned(const char *name, time_t now)
{
	const struct pin *p = pin_find(name);

	return p != NULL && p->until > now;
}

size_t
family_count(time_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < npins; i++)
		if (pins[i].until > now)
			n++;
	return n;
}

void
family_forget_all(void)
{
	memset(pins, 0, sizeof(pins));
	npins = 0;
}
