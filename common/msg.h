/* msg.h - AMI messages: an I/O-free incremental parser and a safe builder.
 *
 * A message is an ordered list of headers. Names and values live in one
 * byte arena owned by the message, so reading a stream of events allocates
 * nothing once the arena has grown to the size of the largest message.
 * Header positions are offsets into the arena; ami_msg_name(m, i) and
 * ami_msg_value(m, i) give header i's name and value. */
#ifndef AMI_MSG_H
#define AMI_MSG_H

#include <stddef.h>
#include <stdint.h>

struct ami_header {
	uint32_t name, name_len;    /* offset and length in arena; NUL-terminated */
	uint32_t value, value_len;
};

struct ami_msg {
	char *arena;
	size_t used, cap;
	struct ami_header *h;
	size_t n, hcap;
};

/* Lines that carry no "Name:" (text an old server sends without headers)
 * are kept as a header whose name is empty and whose value is the line. */

/* The name and value of header i, NUL-terminated, valid until m changes. */
static inline const char *ami_msg_name(const struct ami_msg *m, size_t i)
{ return m->arena + m->h[i].name; }
static inline const char *ami_msg_value(const struct ami_msg *m, size_t i)
{ return m->arena + m->h[i].value; }

void ami_msg_init(struct ami_msg *m);
void ami_msg_free(struct ami_msg *m);
void ami_msg_clear(struct ami_msg *m);             /* keep the memory, drop the headers */
/* Appends a header. Refuses CR, LF or NUL in name or value (returns -1). */
int ami_msg_add(struct ami_msg *m, const char *name, const char *value);
int ami_msg_addn(struct ami_msg *m, const char *name, size_t nlen, const char *value, size_t vlen);
int ami_msg_set(struct ami_msg *m, const char *name, const char *value);   /* replace or add */
const char *ami_msg_get(const struct ami_msg *m, const char *name);        /* first, any case */
size_t ami_msg_count(const struct ami_msg *m, const char *name);
int ami_msg_is_event(const struct ami_msg *m);     /* has Event: (checked before Response:) */
void ami_msg_copy(struct ami_msg *dst, const struct ami_msg *src);

/* Where the name of the header line s[0, len) ends: the first colon, but a
 * name with '(' runs to the matching ')' first, as in
 * "ChanVariable(IAX2/10.0.0.1:4569-1): x=y". len when there is no colon.
 * The parser's rule, shared with readers that look at wire bytes in place. */
size_t ami_header_name_end(const char *s, size_t len);

/* Limits Asterisk puts on what it accepts (main/manager.c). */
#define AMI_MAX_SEND_LINE 1024
#define AMI_MAX_SEND_HEADERS 128

/* Checks an outgoing message against those limits and for CR/LF/NUL.
 * On failure writes a one-line reason naming the header into err. */
int ami_msg_check_send(const struct ami_msg *m, char *err, size_t errlen);
/* Wire form "Name: value\r\n...\r\n". Returns length; *out is malloc'd. */
size_t ami_msg_format(const struct ami_msg *m, char **out);

/* Parser limits: hostile servers get a clear error, never unbounded memory. */
struct ami_limits {
	size_t max_line;       /* bytes in one line */
	size_t max_headers;    /* headers in one message */
	size_t max_msg;        /* bytes in one message */
};
extern const struct ami_limits ami_default_limits;

/* A message seen in place, without a copy: as it sits in the parser's
 * buffer (valid until the next call on that parser), or a view of an
 * ami_msg. Names and values are NOT NUL-terminated: use the lengths. */
struct ami_view {
	const char *base;               /* header offsets count from here */
	const struct ami_header *h;     /* NULL until split (ami_parser_split) */
	size_t n;
	const char *lim;                /* base..lim may be read: formatters read ahead */
	const char *wire;               /* the message as received, blank line included;
					 * NULL for a view of an ami_msg */
	size_t wire_len, body;          /* wire[0, body) are its header lines */
	const char *event;              /* its Event: value (NULL: a response, or other) */
	size_t event_len;
	const struct ami_msg *msg;      /* the message viewed, or NULL */
};

/* The value of the first header called name (any case), or NULL. */
const char *ami_view_get(const struct ami_view *v, const char *name, size_t *len);
void ami_view_of_msg(struct ami_view *v, const struct ami_msg *m);
/* A NUL-terminated copy (what ami_parser_next makes). */
void ami_msg_from_view(struct ami_msg *out, const struct ami_view *v);

struct ami_parser;
/* expect_banner: the first line is the "Asterisk Call Manager/X.Y.Z" greeting
 * (TCP, TLS); HTTP bodies have none. */
struct ami_parser *ami_parser_new(const struct ami_limits *lim, int expect_banner);
void ami_parser_free(struct ami_parser *p);
void ami_parser_reset(struct ami_parser *p, int expect_banner);
/* Copies len bytes in. Returns 0, or -1 when the limits are exceeded. */
int ami_parser_feed(struct ami_parser *p, const char *buf, size_t len);
/* Zero-copy feeding: a place for up to *room bytes, then commit what was read. */
char *ami_parser_space(struct ami_parser *p, size_t *room);
void ami_parser_commit(struct ami_parser *p, size_t len);
/* 1: a message was stored in out (its old content is replaced);
 * 0: more bytes needed; -1: protocol error, see ami_parser_error(). */
int ami_parser_next(struct ami_parser *p, struct ami_msg *out);
/* The same without a copy: the next message as a view into the parser's
 * buffer, valid until the next call on p. Every message is framed by the
 * same rules and limits whichever call reads it. split = 0: an event whose
 * first line is "Event: NAME" comes with its name and bytes only (h NULL,
 * n 0), which is all a filter on the name or a raw copy needs; any other
 * message comes split. */
int ami_parser_next_view(struct ami_parser *p, struct ami_view *v, int split);
/* Splits the header lines of a view from ami_parser_next_view (if not yet),
 * before the next call on p. */
void ami_parser_split(struct ami_parser *p, struct ami_view *v);
const char *ami_parser_banner(const struct ami_parser *p);   /* NULL until read */
const char *ami_parser_error(const struct ami_parser *p);
/* Bytes held that no message returned yet covers: a message being framed
 * keeps all its bytes here until it is complete. */
size_t ami_parser_pending(const struct ami_parser *p);

#endif
