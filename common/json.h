/* json.h - the --json summaries of the commands (ping, originate, callfile,
 * config): objects built with cJSON, each printed as one NDJSON line.
 * Messages from Asterisk are not built this way: output.c writes them in
 * one pass, which the event stream needs. */
#ifndef AMI_JSON_H
#define AMI_JSON_H

#include <cJSON.h>

/* A new empty object. cJSON allocates through xmalloc from here on, so no
 * cJSON call made with it returns NULL for want of memory. */
cJSON *json_object(void);
/* key: s as a JSON string, or null when s is NULL. Bytes that are not UTF-8
 * are read as Latin-1 (as out_json_string does), so the line stays valid. */
void json_add_string(cJSON *obj, const char *key, const char *s);
/* Prints obj and a newline through out_write, then frees obj.
 * RC_OK or RC_IO. */
int json_print_line(cJSON *obj);

#endif
