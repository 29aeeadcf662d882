/*
 * admin/jsonout.c - JSON string escaping (see jsonout.h).
 */
#include "jsonout.h"

void
json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void
json_member(FILE *f, int first, const char *key, const char *value)
{
	if (!first)
		fputs(", ", f);
	json_string(f, key);
	fputs(": ", f);
	json_string(f, value);
}
