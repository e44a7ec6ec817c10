/* md5.c - MD5 written from the description in RFC 1321. */
#include "md5.h"

#include <string.h>

#include "util.h"

/* T[i] = floor(2^32 * |sin(i + 1)|), RFC 1321 section 3.4. */
static const uint32_t T[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee,
	0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
	0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
	0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
	0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa,
	0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
	0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
	0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
	0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
	0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05,
	0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039,
	0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
	0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
	0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

/* Left-rotation amounts: four per round, repeated four times. */
static const unsigned char S[4][4] = {
	{ 7, 12, 17, 22 }, { 5, 9, 14, 20 }, { 4, 11, 16, 23 }, { 6, 10, 15, 21 },
};

static uint32_t rotl(uint32_t x, unsigned n) { return (x << n) | (x >> (32 - n)); }

/* The message is little-endian 32-bit words (RFC 1321 section 2). */
static uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* One 64-byte block: the four rounds of section 3.4 written as one loop.
 * Round r uses function F, G, H or I and takes message word k(i). */
static void md5_block(uint32_t state[4], const unsigned char block[64])
{
	uint32_t X[16], a = state[0], b = state[1], c = state[2], d = state[3];

	for (int i = 0; i < 16; i++)
		X[i] = get_le32(block + 4 * i);
	for (int i = 0; i < 64; i++) {
		int round = i / 16;
		uint32_t f, t;
		unsigned k;

		switch (round) {
		case 0: f = (b & c) | (~b & d); k = (unsigned)i; break;
		case 1: f = (b & d) | (c & ~d); k = (5u * (unsigned)i + 1) % 16; break;
		case 2: f = b ^ c ^ d; k = (3u * (unsigned)i + 5) % 16; break;
		default: f = c ^ (b | ~d); k = (7u * (unsigned)i) % 16; break;
		}
		t = d;
		d = c;
		c = b;
		b = b + rotl(a + f + X[k] + T[i], S[round][i % 4]);
		a = t;
	}
	state[0] += a;
	state[1] += b;
	state[2] += c;
	state[3] += d;
	secret_wipe(X, sizeof(X));
}

void md5_init(struct md5_ctx *c)
{
	c->state[0] = 0x67452301;
	c->state[1] = 0xefcdab89;
	c->state[2] = 0x98badcfe;
	c->state[3] = 0x10325476;
	c->nbytes = 0;
}

void md5_update(struct md5_ctx *c, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t used = (size_t)(c->nbytes % 64);

	c->nbytes += len;
	if (used) {
		size_t take = 64 - used < len ? 64 - used : len;
		memcpy(c->buf + used, p, take);
		p += take;
		len -= take;
		if (used + take < 64)
			return;
		md5_block(c->state, c->buf);
	}
	for (; len >= 64; p += 64, len -= 64)
		md5_block(c->state, p);
	if (len)
		memcpy(c->buf, p, len);
}

/* Padding (section 3.1-3.2): a 1 bit, zeros up to 56 mod 64, then the
 * bit length as a little-endian 64-bit number. */
void md5_final(struct md5_ctx *c, unsigned char digest[16])
{
	static const unsigned char pad[64] = { 0x80 };
	unsigned char lenbytes[8];
	uint64_t bits = c->nbytes * 8;
	size_t used = (size_t)(c->nbytes % 64);

	for (int i = 0; i < 8; i++)
		lenbytes[i] = (unsigned char)(bits >> (8 * i));
	md5_update(c, pad, used < 56 ? 56 - used : 120 - used);
	md5_update(c, lenbytes, 8);
	for (int i = 0; i < 4; i++)
		put_le32(digest + 4 * i, c->state[i]);
	secret_wipe(c, sizeof(*c));
}

void md5_final_hex(struct md5_ctx *c, char out[33])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[16];

	md5_final(c, d);
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[32] = '\0';
	secret_wipe(d, sizeof(d));
}

void md5_hex(const void *data, size_t len, char out[33])
{
	struct md5_ctx c;

	md5_init(&c);
	md5_update(&c, data, len);
	md5_final_hex(&c, out);
}

void md5_challenge_key(const char *challenge, const char *secret, char key[33])
{
	struct md5_ctx c;

	md5_init(&c);
	md5_update(&c, challenge, strlen(challenge));
	if (secret)
		md5_update(&c, secret, strlen(secret));
	md5_final_hex(&c, key);
}
