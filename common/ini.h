/* ini.h - the INI reader behind the config file: "[section]",
 * "key = value", ';' and '#' comments, double-quoted values. It knows
 * nothing of profiles or keys: config.c decides what a line means. */
#ifndef AMI_INI_H
#define AMI_INI_H

#include <stdio.h>

/* Called once per "[section]" line with key and value NULL (so empty
 * sections are seen), then once per "key = value" line; keys before any
 * section get section NULL. Returns 0 to go on. */
typedef int (*ini_kv_fn)(void *arg, const char *section, const char *key,
			 const char *value, int lineno);

/* Reads fp to its end. Returns 0, the number of the first bad line (or of
 * the line where kv said stop), or -1 when reading failed (errno set).
 * The line buffer is wiped: it may have held a secret. */
int ini_parse_file(FILE *fp, ini_kv_fn kv, void *arg);

/* Opens a file to parse; NULL with errno set (ENOENT when it is missing,
 * EISDIR for a directory, which fopen() would accept). A FIFO, as in
 * --config <(...), opens without hanging and then reads as a stream. */
FILE *ini_open(const char *path);

#endif
