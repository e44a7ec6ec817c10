/* fuzz_state.c - libFuzzer target for the PBX state model (common/state.c).
 *
 * The input is AMI text (bare LF will do) that the parser turns into
 * messages for a model with small limits. A few headers steer the run:
 * "ActionID: @N" becomes the ActionID of the Nth list request the model
 * handed out (so list answers reach it), "Fuzz: sync" starts a
 * (re)synchronisation, "Fuzz: finish" flushes every call, "Fuzz: keep"
 * switches the finished-call queue on and off, "Fuzz-Time: N" sets the
 * clock (which may go back). After every message the model must hold
 * together: every entity found by its key, every link answered from the
 * other side, every count right, every string clean UTF-8; every record
 * must point only at its own legs. ASan and LeakSanitizer do the rest.
 *
 *   make fuzz        (builds every tests/fuzz/fuzz_*.c target with clang)
 *   tests/fuzz/out/fuzz_state -max_total_time=30 tests/fuzz/corpus/state */
#include "msg.h"
#include "state.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

/* Valid UTF-8, no control character, at most PBX_MAX_STR bytes. */
static void clean(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = 0;

	CHECK(s);
	while (u[n]) {
		unsigned c = u[n];
		size_t k = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
			: c >= 0xf0 && c <= 0xf4 ? 4 : 0;
		CHECK(k && c >= 0x20 && c != 0x7f);
		for (size_t i = 1; i < k; i++)
			CHECK((u[n + i] & 0xc0) == 0x80);
		n += k;
	}
	CHECK(n <= PBX_MAX_STR);
}

static size_t check_channels(const struct pbx *p)
{
	size_t n = 0;

	for (const struct pbx_channel *c = pbx_channels(p); c; c = c->all.next, n++) {
		const char *strs[] = { c->uniqueid, c->linkedid, c->name, c->state_desc, c->cid_num,
				       c->cid_name, c->conn_num, c->conn_name, c->account,
				       c->context, c->exten, c->app, c->app_data };
		for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
			clean(strs[i]);
		CHECK(pbx_channel(p, c->uniqueid) == c);
		if (*c->name)
			CHECK(pbx_channel_named(p, c->name));
		if (c->local_peer)
			CHECK(c->local_peer->local_peer == c);
		if (c->call) {
			const struct pbx_channel *x = c->call->channels.first;
			while (x && x != c)
				x = x->in_call.next;
			CHECK(x == c && pbx_call(p, c->call->linkedid) == c->call);
		}
		if (c->bridge)
			CHECK(pbx_bridge(p, c->bridge->id) == c->bridge);
		if (c->conf)
			CHECK(pbx_conf(p, c->conf->name) == c->conf);
		if (c->queue)
			CHECK(pbx_queue(p, c->queue->name) == c->queue);
	}
	return n;
}

static void check_model(const struct pbx *p)
{
	size_t n = 0, members = 0, callers = 0;

	CHECK(check_channels(p) == pbx_count(p, PBX_KIND_CHANNEL));
	for (const struct pbx_call *c = pbx_calls(p); c; c = c->all.next, n++) {
		struct pbx_call_view v;
		size_t k = 0;
		clean(c->linkedid);
		for (const struct pbx_channel *x = c->channels.first; x; x = x->in_call.next, k++)
			CHECK(x->call == c);
		CHECK(k == c->channels.n && k > 0);
		pbx_call_view(c, &v);
		CHECK(v.caller && v.caller->call == c);
		clean(v.caller_num), clean(v.callee_num), clean(v.app), clean(v.app_data);
	}
	CHECK(n == pbx_count(p, PBX_KIND_CALL));
	n = 0;
	for (const struct pbx_bridge *b = pbx_bridges(p); b; b = b->all.next, n++) {
		size_t k = 0;
		clean(b->id), clean(b->type), clean(b->name), clean(b->creator);
		for (const struct pbx_channel *x = b->members.first; x; x = x->in_bridge.next, k++)
			CHECK(x->bridge == b);
		CHECK(k == b->members.n);
	}
	CHECK(n == pbx_count(p, PBX_KIND_BRIDGE));
	n = 0;
	for (const struct pbx_conf *cf = pbx_confs(p); cf; cf = cf->all.next, n++) {
		size_t k = 0;
		clean(cf->name), clean(cf->bridge_id);
		for (const struct pbx_channel *x = cf->members.first; x; x = x->in_conf.next, k++)
			CHECK(x->conf == cf);
		CHECK(k == cf->members.n);
	}
	CHECK(n == pbx_count(p, PBX_KIND_CONF));
	n = 0;
	for (const struct pbx_queue *q = pbx_queues(p); q; q = q->all.next, n++) {
		clean(q->name), clean(q->strategy);
		for (const struct pbx_member *m = q->members.first; m; m = m->in_queue.next, members++) {
			CHECK(m->queue == q && pbx_member(p, q->name, m->interface) == m);
			clean(m->name), clean(m->paused_reason);
		}
		for (const struct pbx_channel *x = q->callers.first; x; x = x->in_queue.next, callers++)
			CHECK(x->queue == q);
	}
	CHECK(n == pbx_count(p, PBX_KIND_QUEUE));
	CHECK(members == pbx_count(p, PBX_KIND_MEMBER));
	CHECK(callers == pbx_count(p, PBX_KIND_CALLER));
	n = 0;
	for (const struct pbx_extension *e = pbx_extensions(p); e; e = e->all.next, n++)
		CHECK(pbx_extension(p, e->context, e->exten) == e);
	CHECK(n == pbx_count(p, PBX_KIND_EXTENSION));
	n = 0;
	for (const struct pbx_device *d = pbx_devices(p); d; d = d->all.next, n++) {
		CHECK(pbx_device(p, d->name) == d);
		clean(d->state);
	}
	CHECK(n == pbx_count(p, PBX_KIND_DEVICE));
}

/* Every sorted view has every entity once (checked at the end: it sorts). */
static void check_sorted(const struct pbx *p)
{
	const void *rows[64];

	for (int k = 0; k < PBX_KIND_COUNT; k++)
		for (int s = PBX_SORT_AGE; s <= PBX_SORT_STATE; s++) {
			size_t n = pbx_sorted(p, k, s, s & 1, rows, 64);
			CHECK(n == (k == PBX_KIND_MEMBER || k == PBX_KIND_CALLER ? 0 : pbx_count(p, k)));
			for (size_t i = 0; i < n && i < 64; i++)
				for (size_t j = 0; j < i; j++)
					CHECK(rows[i] != rows[j]);
		}
}

static void check_record(const struct pbx_record *r)
{
	clean(r->linkedid);
	for (size_t i = 0; i < r->nlegs; i++) {
		const struct pbx_leg *l = &r->legs[i];
		clean(l->uniqueid), clean(l->name), clean(l->cid_name), clean(l->cause_txt);
		CHECK(l->local_peer >= -1 && l->local_peer < (int)r->nlegs);
	}
	for (size_t i = 0; i < r->nsteps; i++) {
		const struct pbx_step *s = &r->steps[i];
		CHECK(s->leg >= -1 && s->leg < (int)r->nlegs && s->peer >= -1 && s->peer < (int)r->nlegs);
		CHECK(*pbx_step_name(s->kind));
		clean(s->a), clean(s->b), clean(s->c);
	}
}

static void on_end(void *arg, const struct pbx_record *r)
{
	(void)arg;
	check_record(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pbx_limits lim = {
		.channels = 24, .others = 8, .legs = 4, .steps = 8, .record_bytes = 256,
		.tombstones = 4,
	};
	struct ami_parser *ps = ami_parser_new(NULL, 0);
	struct pbx *p = pbx_new(&lim);
	struct pbx_request req[16];
	struct pbx_record *r;
	struct ami_msg m;
	size_t nreq = 0;
	int64_t now = 1796522520000ll;

	ami_msg_init(&m);
	pbx_on_call_end(p, on_end, NULL);
	ami_parser_feed(ps, (const char *)data, size);
	ami_parser_feed(ps, "\n\n", 2);
	while (ami_parser_next(ps, &m) > 0) {
		const char *fuzz = ami_msg_get(&m, "Fuzz"), *aid = ami_msg_get(&m, "ActionID");
		const char *t = ami_msg_get(&m, "Fuzz-Time");
		while (nreq < 16 && pbx_next_request(p, &req[nreq]))
			nreq++;
		now = t ? 1796522520000ll + atoi(t) * 100ll : now + 7;
		if (aid && aid[0] == '@' && (size_t)atoi(aid + 1) < nreq)
			ami_msg_set(&m, "ActionID", req[atoi(aid + 1)].action_id);
		if (fuzz && !strcmp(fuzz, "sync")) {
			pbx_sync_begin(p, now);
			nreq = 0;
		} else if (fuzz && !strcmp(fuzz, "finish")) {
			pbx_finish_all(p, now);
		} else if (fuzz && !strcmp(fuzz, "keep")) {
			pbx_keep_finished(p, pbx_stats(p)->messages % 3);
		} else if (fuzz && !strcmp(fuzz, "lost") && nreq) {
			pbx_request_lost(p, &req[nreq - 1], "lost");
		} else {
			pbx_feed(p, &m, now);
		}
		check_model(p);
		pbx_event_rate(p, now);
		while ((r = pbx_next_finished(p))) {
			check_record(r);
			pbx_record_free(r);
		}
	}
	check_sorted(p);
	ami_msg_free(&m);
	ami_parser_free(ps);
	pbx_free(p);
	return 0;
}
