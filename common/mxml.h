/* mxml.h - Asterisk's /mxml (and /amxml) XML back into AMI messages.
 *
 * Asterisk turns each message into <generic name='value' .../> with the
 * names lower-cased, every non-alphanumeric byte made '_', repeats
 * numbered (output, output-2, output-3) and values trimmed (xml_translate
 * in main/manager.c). This decoder undoes what it can and writes the same
 * AMI wire text /rawman would have sent, so the session's parser needs no
 * second path. It does no I/O, so it can be fuzzed. */
#ifndef AMI_MXML_H
#define AMI_MXML_H

#include <stddef.h>

/* Decodes one HTTP body. Returns 0 with *out (malloc'd, NUL-terminated)
 * holding "Name: value\r\n" lines with a blank line after each message,
 * *outlen its length (0 when the body held no message); or -1 with a
 * one-line reason in err and *out NULL. */
int mxml_decode(const char *xml, size_t len, char **out, size_t *outlen, char *err,
		size_t errlen);

/* The AMI spelling of an attribute name: "actionid" -> "ActionID",
 * "output-3" -> "Output", "cause_txt" -> "Cause-txt"; names not in the
 * table of known headers get a capital first letter. Writes at most cap
 * bytes (NUL included) and returns the length of the name. */
size_t mxml_header_name(const char *attr, size_t len, char *name, size_t cap);

#endif
