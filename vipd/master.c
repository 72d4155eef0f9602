// SPDX-License-Identifier: Apache-2.0
/* The master client (see master.h). One transfer at a time. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/counters.h"
#include "common/log.h"
#include "common/metrics.h"
#include "vipd/master.h"
#include "vipd/mesos_parse.h"

#define MAX_REDIRECTS 3

struct master {
	struct event_base *base;
	const struct vipd_options *o;
	struct core *c;
	CURLM *multi;
	CURL *easy;
	struct curl_slist *hdrs;
	struct mesos_parser *parser;
	struct event *curl_timer, *retry, *watchdog;
	int idx;           /* index into o->masters */
	char base_url[512];  /* the master in use (after redirects) */
	int redirects;
	int legacy;        /* API_LEGACY in use (given or detected) */
	int poll_only;     /* a master refused SUBSCRIBE: GET_STATE polling instead */
	int streaming;     /* the current transfer is SUBSCRIBE */
	int subscribed;    /* SUBSCRIBED arrived on this stream */
	int had_stream;    /* some stream was subscribed before: the next is a reconnect */
	size_t known;      /* records of a kind a master sends, in this reply */
	uint64_t start_us; /* when the current request was sent */
	long http_status;
	int parse_failed;
	unsigned failures;
	double heartbeat_s;
	char token[4096];
	char curl_err[CURL_ERROR_SIZE]; /* libcurl's detail of the last failure */
};

unsigned master_backoff_ms(unsigned failures, unsigned min, unsigned max, long rnd)
{
	unsigned base = min;

	for (unsigned i = 1; i < failures && base < max; i++)
		base *= 2;
	if (base > max)
		base = max;
	/* ±25 % so that a cluster of vipds does not reconnect in lockstep;
	 * the cap applies to the jittered wait (it is what --backoff-max says). */
	base = base - base / 4 + (unsigned)((double)rnd / RAND_MAX * (base / 2) + 0.5);
	return base > max ? max : base;
}

double master_heartbeat_s(double given)
{
	if (given == 0)
		return MASTER_HEARTBEAT_DEFAULT_S;
	if (given >= MASTER_HEARTBEAT_MIN_S && given <= MASTER_HEARTBEAT_MAX_S)
		return given;
	report_bad_input("master_heartbeat", "SUBSCRIBED heartbeat_interval_seconds %g out of "
			 "[%g, %g]: clamped", given, MASTER_HEARTBEAT_MIN_S, MASTER_HEARTBEAT_MAX_S);
	return given > MASTER_HEARTBEAT_MAX_S ? MASTER_HEARTBEAT_MAX_S : MASTER_HEARTBEAT_MIN_S;
}

static void master_start(struct master *m);

static void schedule(struct master *m, unsigned ms)
{
	struct timeval tv = { ms / 1000, (long)(ms % 1000) * 1000 };

	evtimer_add(m->retry, &tv);
}

static void watchdog_arm(struct master *m)
{
	double s = m->subscribed ? 3 * m->heartbeat_s : m->o->request_timeout_s;
	struct timeval tv = { (long)s, (long)((s - (long)s) * 1e6) };

	evtimer_add(m->watchdog, &tv);
}

static void on_record(struct mesos_record *rec, void *arg)
{
	struct master *m = arg;

	if (mesos_rec_is_snapshot(rec->type))
		metrics_histogram_observe("master_sync_duration_seconds",
					  (double)(clock_mono_us() - m->start_us) / 1e6);
	if (rec->type == REC_SUBSCRIBED) {
		m->subscribed = 1;
		m->had_stream = 1;
		m->failures = 0;
		m->heartbeat_s = master_heartbeat_s(rec->heartbeat_s);
		log_info("subscribed to %s (heartbeat %.1f s)", m->base_url, m->heartbeat_s);
	}
	m->known += rec->type != REC_OTHER;
	if (m->streaming)
		watchdog_arm(m); /* any event proves the stream alive */
	core_record(rec, m->c);
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct master *m = arg;
	size_t len = size * nmemb;

	if (!m->http_status)
		curl_easy_getinfo(m->easy, CURLINFO_RESPONSE_CODE, &m->http_status);
	if (m->http_status != 200)
		return len; /* an error body: read and drop */
	if (mesos_parser_feed(m->parser, ptr, len) < 0) {
		m->parse_failed = 1;
		return 0; /* aborts the transfer */
	}
	return len;
}

static void transfer_end(struct master *m)
{
	if (m->easy) {
		curl_multi_remove_handle(m->multi, m->easy);
		curl_easy_cleanup(m->easy);
		m->easy = NULL;
	}
	curl_slist_free_all(m->hdrs);
	m->hdrs = NULL;
	mesos_parser_free(m->parser);
	m->parser = NULL;
	evtimer_del(m->watchdog);
}

static void fail(struct master *m, const char *kind, const char *why)
{
	char failed[sizeof(m->base_url)];
	unsigned ms;

	report_bad_input(kind, "master %s: %s", m->base_url, why);
	counter_inc("master_errors");
	m->c->connected = 0;
	transfer_end(m);
	m->failures++;
	m->redirects = 0;
	snprintf(failed, sizeof(failed), "%s", m->base_url);
	/* Always back to a configured master: a leader a 307 named may be
	 * the one that died, and only a configured one can name the next. */
	if (m->o->nmasters > 1)
		m->idx = (m->idx + 1) % m->o->nmasters;
	snprintf(m->base_url, sizeof(m->base_url), "%s", m->o->masters[m->idx]);
	snprintf(m->c->master, sizeof(m->c->master), "%s", m->base_url);
	ms = master_backoff_ms(m->failures, m->o->backoff_min_ms, m->o->backoff_max_ms,
			       random());
	log_warn("master %s: %s; retrying %s in %u ms (the last table stays published)",
		 failed, why, m->base_url, ms);
	schedule(m, ms);
}

/* A 307 from a non-leader: the Location is the leader's endpoint. */
static int follow_redirect(struct master *m)
{
	char *loc = NULL, *p;

	curl_easy_getinfo(m->easy, CURLINFO_REDIRECT_URL, &loc);
	if (!loc || m->redirects >= MAX_REDIRECTS)
		return -1;
	snprintf(m->base_url, sizeof(m->base_url), "%s", loc);
	p = strstr(m->base_url, "/api/v1");
	if (!p)
		p = strstr(m->base_url, "/master/state");
	if (!p)
		p = strstr(m->base_url, "/state");
	if (p)
		*p = '\0';
	m->redirects++;
	log_info("following redirect to the leading master %s", m->base_url);
	return 0;
}

static void transfer_done(struct master *m, CURLcode res)
{
	char why[CURL_ERROR_SIZE + 128];
	long st = 0;

	curl_easy_getinfo(m->easy, CURLINFO_RESPONSE_CODE, &st);
	if (m->parse_failed) {
		snprintf(why, sizeof(why), "bad response: %s", mesos_parser_error(m->parser));
		fail(m, "master_malformed", why);
		return;
	}
	if (st == 307 && follow_redirect(m) == 0) {
		transfer_end(m);
		master_start(m);
		return;
	}
	if ((st == 404 || st == 405) && !m->legacy && m->o->api == API_AUTO) {
		log_info("master %s has no v1 operator API: using legacy /state", m->base_url);
		m->legacy = 1;
		transfer_end(m);
		master_start(m);
		return;
	}
	if ((st == 400 || st == 501) && m->streaming) {
		/* An operator API without SUBSCRIBE (or behind a proxy that
		 * refuses it): polling still gives the whole state. */
		log_warn("master %s refused SUBSCRIBE (HTTP %ld): polling GET_STATE every %u ms "
			 "instead", m->base_url, st, m->o->poll_interval_ms);
		counter_inc("master_subscribe_refused");
		m->poll_only = 1;
		transfer_end(m);
		master_start(m);
		return;
	}
	if (res != CURLE_OK) {
		/* The detail says which certificate check failed, if one did. */
		snprintf(why, sizeof(why), "%s%s", m->curl_err[0] ? m->curl_err :
			 curl_easy_strerror(res), (res == CURLE_PEER_FAILED_VERIFICATION ||
			 res == CURLE_SSL_CACERT_BADFILE) && !m->o->ca_file ?
			 " (a master whose certificate a private CA signed needs --ca-file)" : "");
		fail(m, "master_unreachable", why);
		return;
	}
	if (st != 200) {
		snprintf(why, sizeof(why), "HTTP status %ld", st);
		fail(m, "master_http_error", why);
		return;
	}
	if (mesos_parser_finish(m->parser) < 0) {
		snprintf(why, sizeof(why), "%s", mesos_parser_error(m->parser));
		fail(m, m->streaming ? "master_stream_broken" : "master_malformed", why);
		return;
	}
	if (!m->known) {
		/* a 200 with JSON in it, but no state: not a master (a proxy's
		 * page?); the last table stays */
		fail(m, "master_malformed", "not a Mesos master response: no state or event in it");
		return;
	}
	transfer_end(m);
	m->redirects = 0;
	if (m->streaming) {
		/* A stream that ended cleanly still ended: reconnect. */
		m->failures++;
		schedule(m, master_backoff_ms(m->failures, m->o->backoff_min_ms,
					      m->o->backoff_max_ms, random()));
		return;
	}
	m->failures = 0;
	schedule(m, m->o->poll_interval_ms);
}

static void check_done(struct master *m)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(m->multi, &left)))
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == m->easy)
			transfer_done(m, msg->data.result);
}

/* --- libcurl on libevent --- */

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
	struct master *m = arg;
	int running, flags = (what & EV_READ ? CURL_CSELECT_IN : 0) |
			     (what & EV_WRITE ? CURL_CSELECT_OUT : 0);

	curl_multi_socket_action(m->multi, fd, flags, &running);
	check_done(m);
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *arg, void *sockp)
{
	struct master *m = arg;
	struct event *ev = sockp;
	short kind = (short)((what & CURL_POLL_IN ? EV_READ : 0) |
			     (what & CURL_POLL_OUT ? EV_WRITE : 0) | EV_PERSIST);

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (ev)
			event_free(ev);
		curl_multi_assign(m->multi, s, NULL);
		return 0;
	}
	if (ev)
		event_free(ev);
	ev = event_new(m->base, s, kind, on_socket_event, m);
	if (!ev)
		return -1;
	event_add(ev, NULL);
	curl_multi_assign(m->multi, s, ev);
	return 0;
}

static void on_curl_timer(evutil_socket_t fd, short what, void *arg)
{
	struct master *m = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(m);
}

static int on_timer(CURLM *multi, long ms, void *arg)
{
	struct master *m = arg;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	(void)multi;
	if (ms < 0)
		evtimer_del(m->curl_timer);
	else
		evtimer_add(m->curl_timer, &tv);
	return 0;
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct master *m = arg;

	(void)fd;
	(void)what;
	counter_inc("master_stream_timeouts");
	fail(m, "master_timeout", m->subscribed ? "no event for 3 heartbeat intervals" :
						   "no complete response in time");
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	master_start(arg);
}

static void master_start(struct master *m)
{
	char url[600], auth[4200];
	int stream = m->o->mode == MODE_STREAM && !m->legacy && !m->poll_only;

	counter_inc("master_requests");
	if (stream && m->had_stream)
		counter_inc("master_stream_reconnects");
	m->start_us = clock_mono_us();
	m->parser = mesos_parser_new(on_record, m);
	m->easy = curl_easy_init();
	if (!m->parser || !m->easy) {
		fail(m, "master_internal", "out of memory");
		return;
	}
	mesos_parser_set_max_tasks(m->parser, m->o->max_tasks);
	mesos_parser_set_live(m->parser, &m->c->m);
	m->streaming = stream;
	m->subscribed = 0;
	m->http_status = 0;
	m->parse_failed = 0;
	m->known = 0;
	snprintf(m->c->master, sizeof(m->c->master), "%s", m->base_url);
	m->c->mode = stream ? "stream" : "poll";
	if (m->legacy) {
		snprintf(url, sizeof(url), "%s/state", m->base_url);
	} else {
		snprintf(url, sizeof(url), "%s/api/v1", m->base_url);
		curl_easy_setopt(m->easy, CURLOPT_POSTFIELDS,
				 stream ? "{\"type\":\"SUBSCRIBE\"}" : "{\"type\":\"GET_STATE\"}");
		m->hdrs = curl_slist_append(m->hdrs, "Content-Type: application/json");
	}
	m->hdrs = curl_slist_append(m->hdrs, "Accept: application/json");
	if (m->token[0]) {
		snprintf(auth, sizeof(auth), "Authorization: token=%s", m->token);
		m->hdrs = curl_slist_append(m->hdrs, auth);
	}
	curl_easy_setopt(m->easy, CURLOPT_URL, url);
	curl_easy_setopt(m->easy, CURLOPT_HTTPHEADER, m->hdrs);
	curl_easy_setopt(m->easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(m->easy, CURLOPT_WRITEDATA, m);
	curl_easy_setopt(m->easy, CURLOPT_CONNECTTIMEOUT, (long)m->o->connect_timeout_s);
	/* A stream lives for ever: its liveness is the heartbeat watchdog. */
	if (!stream)
		curl_easy_setopt(m->easy, CURLOPT_TIMEOUT, (long)m->o->request_timeout_s);
	curl_easy_setopt(m->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(m->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(m->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	if (m->o->ca_file)
		curl_easy_setopt(m->easy, CURLOPT_CAINFO, m->o->ca_file);
	m->curl_err[0] = '\0';
	curl_easy_setopt(m->easy, CURLOPT_ERRORBUFFER, m->curl_err);
	curl_multi_add_handle(m->multi, m->easy);
	watchdog_arm(m);
}

static int load_token(struct master *m)
{
	const char *env = getenv("L4LB_MASTER_TOKEN");
	size_t n;

	if (m->o->token_file) {
		FILE *f = fopen(m->o->token_file, "r");

		if (!f) {
			log_error("--token-file %s: %s", m->o->token_file, strerror(errno));
			return -errno;
		}
		n = fread(m->token, 1, sizeof(m->token) - 1, f);
		fclose(f);
		m->token[n] = '\0';
	} else if (env) {
		snprintf(m->token, sizeof(m->token), "%s", env);
	}
	/* Trailing newline and spaces are not part of the token. */
	n = strlen(m->token);
	while (n && (m->token[n - 1] == '\n' || m->token[n - 1] == '\r' || m->token[n - 1] == ' '))
		m->token[--n] = '\0';
	return 0;
}

struct master *master_new(struct event_base *base, const struct vipd_options *o, struct core *c)
{
	struct master *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->base = base;
	m->o = o;
	m->c = c;
	m->legacy = o->api == API_LEGACY;
	srandom((unsigned)clock_mono_us());
	snprintf(m->base_url, sizeof(m->base_url), "%s", o->masters[0]);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) || load_token(m) < 0)
		goto fail;
	m->multi = curl_multi_init();
	m->curl_timer = evtimer_new(base, on_curl_timer, m);
	m->retry = evtimer_new(base, on_retry, m);
	m->watchdog = evtimer_new(base, on_watchdog, m);
	if (!m->multi || !m->curl_timer || !m->retry || !m->watchdog)
		goto fail;
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
	schedule(m, 0);
	return m;
fail:
	master_free(m);
	return NULL;
}

void master_free(struct master *m)
{
	if (!m)
		return;
	transfer_end(m);
	if (m->multi)
		curl_multi_cleanup(m->multi);
	if (m->curl_timer)
		event_free(m->curl_timer);
	if (m->retry)
		event_free(m->retry);
	if (m->watchdog)
		event_free(m->watchdog);
	free(m);
}
