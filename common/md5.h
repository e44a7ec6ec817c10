/* md5.h - MD5 message digest (RFC 1321), for AMI challenge logins and
 * HTTP digest authentication. Not for anything that needs a secure hash. */
#ifndef AMI_MD5_H
#define AMI_MD5_H

#include <stddef.h>
#include <stdint.h>

struct md5_ctx {
	uint32_t state[4];          /* A, B, C, D */
	uint64_t nbytes;            /* message length so far */
	unsigned char buf[64];      /* partial block */
};

void md5_init(struct md5_ctx *c);
void md5_update(struct md5_ctx *c, const void *data, size_t len);
/* Writes the 16-byte digest and wipes the context (it may hold a secret). */
void md5_final(struct md5_ctx *c, unsigned char digest[16]);
/* Like md5_final, as 32 lower-case hex digits and a NUL. */
void md5_final_hex(struct md5_ctx *c, char out[33]);
/* One-shot: the lower-case hex digest of data. */
void md5_hex(const void *data, size_t len, char out[33]);
/* The Key of an AMI MD5 login: md5_hex(challenge + secret); NULL secret: "". */
void md5_challenge_key(const char *challenge, const char *secret, char key[33]);

#endif
