/* fuzz_amiserver.c - libFuzzer target for the server side of AMI
 * (common/amiserver.c): what a hostile client may send.
 *
 * data[0] is a control byte: bit 0 = log in first, bits 1-7 seed the sizes
 * of the pieces the rest is fed in. The input goes to two sessions, to one
 * in one piece and to the other in those pieces, each answering every
 * request it can after each piece: both must answer the same bytes (Ping's
 * Timestamp aside) and end the same way. Whatever filters and event masks
 * the input set up must then let the same events through in both: a few
 * real ones, and the input itself as an event.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address -Icommon tests/fuzz/fuzz_amiserver.c \
 *       common/amiserver.c common/md5.c common/util.c -o fuzz_amiserver
 *   ./fuzz_amiserver -max_total_time=30 tests/fuzz/corpus/amiserver */
#include "amiserver.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char login[] = "Action: Login\r\nUsername: hello\r\nSecret: world\r\n\r\n";

static const char *const events[] = {
	"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/100-0001\r\nUniqueid: 1.1\r\n\r\n",
	"Event: VarSet\r\nPrivilege: dialplan,all\r\nChannel: Local/x@y-01;1\r\nValue: \r\n\r\n",
	"Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n",
};

/* Answers until the session wants more or ends; returns how it ended. */
static enum amis_result drain(struct amis_session *s, struct strbuf *out, enum amis_result last)
{
	enum amis_result r;

	if (last == AMIS_REJECT || last == AMIS_CLOSE)
		return last;
	while ((r = amis_next(s, out)) != AMIS_NONE) {
		last = r;
		if (r == AMIS_REJECT || r == AMIS_CLOSE)
			break;
	}
	return last;
}

/* Ping's Timestamp is the clock: zeroed so two runs compare. */
static void blank_timestamps(struct strbuf *b)
{
	for (char *p = b->p; p && (p = strstr(p, "Timestamp: "));)
		for (p += 11; (*p >= '0' && *p <= '9') || *p == '.'; p++)
			if (*p != '.')
				*p = '0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct amis_config cfg = { "hello", "world", 7 };
	struct amis_session *one, *many;
	struct strbuf a = { 0 }, b = { 0 };
	enum amis_result ra = AMIS_NONE, rb = AMIS_NONE;
	unsigned seed;

	if (size < 1)
		return 0;
	seed = data[0] >> 1;
	one = amis_new(&cfg);
	many = amis_new(&cfg);
	if (data[0] & 1) {
		amis_feed(one, login, sizeof login - 1);
		amis_feed(many, login, sizeof login - 1);
	}
	data++, size--;
	amis_feed(one, (const char *)data, size);
	ra = drain(one, &a, ra);
	if (data[-1] & 1)
		rb = drain(many, &b, rb);
	for (size_t i = 0; i < size;) {
		size_t n = 1 + (seed * 7 + i * 13) % 97;
		if (n > size - i)
			n = size - i;
		amis_feed(many, (const char *)data + i, n);
		rb = drain(many, &b, rb);
		i += n;
	}
	blank_timestamps(&a);
	blank_timestamps(&b);
	if (ra != rb || a.len != b.len || (a.len && memcmp(a.p, b.p, a.len)))
		abort();
	for (size_t i = 0; i <= sizeof events / sizeof *events; i++) {
		const char *e = i < sizeof events / sizeof *events ? events[i] : (const char *)data;
		size_t len = e == (const char *)data ? size : strlen(e);
		const char *priv = e == (const char *)data ? NULL : strstr(e, "Privilege: ");
		unsigned cls = priv ? amis_class_of(priv + 11, strcspn(priv + 11, "\r")) : 0;
		if (amis_wants(one, e, len, "Newchannel", 10, cls) != amis_wants(many, e, len, "Newchannel", 10, cls))
			abort();
	}
	amis_free(one);
	amis_free(many);
	strbuf_free(&a);
	strbuf_free(&b);
	return 0;
}
