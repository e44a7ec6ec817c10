/* json.c - cJSON objects printed as NDJSON lines (see json.h). */
#include "json.h"

#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "output.h"
#include "util.h"

cJSON *json_object(void)
{
	static int hooked;

	if (!hooked) {
		cJSON_Hooks hooks = { xmalloc, free };
		cJSON_InitHooks(&hooks);
		hooked = 1;
	}
	return cJSON_CreateObject();
}

/* s with every byte that does not start a valid UTF-8 sequence (and is
 * not ASCII) re-encoded as the two-byte UTF-8 of its Latin-1 reading. */
static char *valid_utf8(const char *s)
{
	size_t len = strlen(s), n = 0;
	char *d = xmalloc(2 * len + 1);

	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		size_t sl = c >= 0x80 ? out_utf8_len(s + i, len - i) : 1;

		if (sl) {
			memcpy(d + n, s + i, sl);
			n += sl;
			i += sl;
		} else {
			d[n++] = (char)(0xc0 | c >> 6);
			d[n++] = (char)(0x80 | (c & 0x3f));
			i++;
		}
	}
	d[n] = '\0';
	return d;
}

void json_add_string(cJSON *obj, const char *key, const char *s)
{
	char *text;

	if (!s) {
		cJSON_AddNullToObject(obj, key);
		return;
	}
	text = valid_utf8(s);
	cJSON_AddStringToObject(obj, key, text);
	free(text);
}

int json_print_line(cJSON *obj)
{
	char *text = cJSON_PrintUnformatted(obj);
	int rc = out_puts(text);

	if (rc == RC_OK)
		rc = out_write("\n", 1);
	cJSON_free(text);
	cJSON_Delete(obj);
	return rc;
}
