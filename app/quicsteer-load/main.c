/* quicsteer-load: options, threads, the progress line and the report.
 *
 *   quicsteer-load -c 8 -n 10000 -m 4 -t 2 https://198.18.0.1/bytes/1000
 *   quicsteer-load --ca cert.pem https://198.18.0.1/hello.txt > hello.txt
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sys/resource.h>

#include "qsl.h"

#define EXIT_USAGE 2
#define DEFAULT_TIMEOUT_S 10.0
#define PROGRESS_NS NGTCP2_SECONDS
#define JOIN_POLL_NS (50 * NGTCP2_MILLISECONDS)

static void
usage(FILE *f)
{
	fprintf(f,
"Usage: " QSL_NAME " [OPTIONS] URI...\n"
"An HTTP/3 load generator (h2load-style) on kernel UDP sockets.\n"
"URIs are https://host[:port]/path, used round-robin by each connection.\n"
"\n"
"  -c, --clients N        connections at once (default 1)\n"
"  -n, --requests N       requests in total (default 1)\n"
"  -D, --duration SECONDS run for this long instead of -n\n"
"  -m, --max-concurrent-streams N\n"
"                         requests in flight per connection (default 1)\n"
"  -t, --threads N        threads, one event loop each (default 1)\n"
"      --connect-to ADDR[:PORT]\n"
"                         connect there instead of the URI's host\n"
"                         (IPv4, or IPv6 in brackets: [2001:db8::1]:443)\n"
"      --local ADDR[,ADDR...]\n"
"                         send from these local addresses (configured on\n"
"                         an interface, the family of the server's), the\n"
"                         connections spread over them: one address has\n"
"                         ports for about 28,000 connections\n"
"      --conn-requests N  close each connection after N requests and\n"
"                         open a new one (handshake load)\n"
"      --rebind-every N   after every N completed requests on a connection,\n"
"                         move it to a new local UDP port unannounced\n"
"                         (a NAT rebinding)\n"
"      --migrate          with --rebind-every: an active migration\n"
"                         (new path validated, new connection ID) instead\n"
"      --rebind-fraction F\n"
"                         with --rebind-every: only this share (0..1] of\n"
"                         the connections moves, spread evenly over them\n"
"      --max-pending N    at most N handshakes under way at once (all\n"
"                         threads together; default 0: no limit), so that\n"
"                         many connections ramp up as fast as the server\n"
"                         takes them instead of in one burst\n"
"      --hold SECONDS     with -n: a connection done with its requests\n"
"                         stays open, without traffic; once every one is\n"
"                         held (or failed), a line 'holding N connections'\n"
"                         goes to stderr and they close SECONDS later (or\n"
"                         at SIGINT/SIGTERM). --timeout must exceed it\n"
"      --rapid-reset RATE with -D: an attack, not a load. Each connection\n"
"                         opens RATE request streams per second and resets\n"
"                         each as soon as its request is out (RESET_STREAM\n"
"                         and STOP_SENDING, H3_REQUEST_CANCELLED), the\n"
"                         HTTP/2 \"rapid reset\" (CVE-2023-44487) over HTTP/3;\n"
"                         a connection the server closes is replaced. The\n"
"                         report counts the streams and how the server\n"
"                         closed connections; exit status 1 when it closed one\n"
"      --resume           a first connection fetches a session ticket and\n"
"                         the transport parameters; every later connection\n"
"                         resumes (with the newest ticket its thread got)\n"
"                         and sends its first requests as 0-RTT\n"
"  -k, --insecure         accept any server certificate\n"
"      --ca FILE          verify the server certificate against the CA(s)\n"
"                         in FILE (default: the system trust store)\n"
"      --timeout SECONDS  handshake, idle and no-progress timeout (default %.0f)\n"
"      --max-time SECONDS end the whole run by then: nothing new is started,\n"
"                         what is in flight is aborted (counted as such)\n"
"      --get              print the body of one response to stdout and exit\n"
"                         non-zero unless the status is 2xx (also the mode\n"
"                         of -n 1 -c 1 with one URI and no --json)\n"
"      --no-gso           send one datagram per message: no UDP GSO\n"
"      --no-gro           receive one datagram per buffer: no UDP GRO\n"
"                         (both are used when the kernel accepts them;\n"
"                         -v says which are on)\n"
"      --json             the report as one JSON object\n"
"  -H, --header NAME:VALUE\n"
"                         add a request header field (repeatable, up to 8);\n"
"                         sent as given, even if malformed\n"
"  -q, --quiet            no progress line, no report (exit code only)\n"
"  -v, --verbose          ngtcp2's debug log and connection errors to stderr\n"
"  -h, --help             this text\n"
"\n"
"Exit status: 0 all requests completed (-D: none failed), 1 otherwise,\n"
"2 usage error.\n",
		DEFAULT_TIMEOUT_S);
}

/* ---- option parsing ---- */

static int
parse_u64(const char *s, uint64_t min, uint64_t *out, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min) {
		fprintf(stderr, QSL_NAME ": %s: '%s' is not an integer >= %llu\n",
			what, s, (unsigned long long)min);
		return -1;
	}
	*out = v;
	return 0;
}

static int
parse_seconds(const char *s, double *out, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v > 0) || v > 1e6) {
		fprintf(stderr, QSL_NAME ": %s: '%s' is not a number of seconds > 0\n",
			what, s);
		return -1;
	}
	*out = v;
	return 0;
}

static bool
is_ip(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
}

/* host (brackets for IPv6) and optional :port of s[0..len) */
static int
split_host_port(const char *s, size_t len, char *host, size_t hostcap,
		char *port, size_t portcap)
{
	const char *h = s, *p = NULL;
	size_t hlen;

	if (len > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', len);

		if (rb == NULL)
			return -1;
		h = s + 1;
		hlen = (size_t)(rb - h);
		if (rb + 1 < s + len) {
			if (rb[1] != ':')
				return -1;
			p = rb + 2;
		}
	} else {
		const char *colon = memchr(s, ':', len);

		hlen = colon ? (size_t)(colon - s) : len;
		if (colon)
			p = colon + 1;
	}
	if (hlen == 0 || hlen >= hostcap)
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (p != NULL) {
		size_t plen = (size_t)(s + len - p);
		uint64_t v;
		char buf[8];

		if (plen == 0 || plen >= sizeof(buf) || plen >= portcap)
			return -1;
		memcpy(buf, p, plen);
		buf[plen] = '\0';
		if (strspn(buf, "0123456789") != plen)
			return -1;
		v = strtoull(buf, NULL, 10);
		if (v == 0 || v > 65535)
			return -1;
		memcpy(port, buf, plen + 1);
	}
	return 0;
}

static int
parse_uri(struct qsl_uri *u, const char *text)
{
	static const char scheme[] = "https://";
	const char *auth, *slash;
	size_t alen;

	memset(u, 0, sizeof(*u));
	if (strncmp(text, scheme, sizeof(scheme) - 1) != 0)
		goto bad;
	auth = text + sizeof(scheme) - 1;
	slash = auth + strcspn(auth, "/?#");
	alen = (size_t)(slash - auth);
	snprintf(u->port, sizeof(u->port), "443");
	if (memchr(auth, '@', alen) != NULL ||
	    split_host_port(auth, alen, u->host, sizeof(u->host), u->port,
			    sizeof(u->port)) != 0)
		goto bad;
	u->host_is_ip = is_ip(u->host);
	u->text = strdup(text);
	u->authority = strndup(auth, alen);
	if (*slash == '/')
		u->path = strndup(slash, strcspn(slash, "#"));
	else if (*slash == '?') {	/* https://host?q: path "/?q" */
		size_t qlen = strcspn(slash, "#");

		u->path = malloc(qlen + 2);
		if (u->path != NULL) {
			u->path[0] = '/';
			memcpy(u->path + 1, slash, qlen);
			u->path[qlen + 1] = '\0';
		}
	} else
		u->path = strdup("/");
	if (u->text == NULL || u->authority == NULL || u->path == NULL) {
		fprintf(stderr, QSL_NAME ": out of memory\n");
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, QSL_NAME ": '%s' is not an https://host[:port]/path URI\n", text);
	return -1;
}

static void
free_uris(struct qsl_options *opt)
{
	for (size_t i = 0; i < opt->n_uris; i++) {
		free(opt->uris[i].text);
		free(opt->uris[i].authority);
		free(opt->uris[i].path);
	}
	free(opt->uris);
	opt->uris = NULL;
	opt->n_uris = 0;
}

/* where to send: --connect-to, else the first URI's host */
static int
resolve_remote(struct qsl_options *opt, const char *connect_to)
{
	char host[256], port[8];
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res;
	int rv;

	snprintf(host, sizeof(host), "%s", opt->uris[0].host);
	snprintf(port, sizeof(port), "%s", opt->uris[0].port);
	if (connect_to != NULL) {
		if (split_host_port(connect_to, strlen(connect_to), host, sizeof(host),
				    port, sizeof(port)) != 0 || !is_ip(host)) {
			fprintf(stderr, QSL_NAME ": --connect-to '%s': expected "
				"IPv4[:PORT] or [IPv6][:PORT]\n", connect_to);
			return -1;
		}
	}
	if (is_ip(host))
		hints.ai_flags = AI_NUMERICHOST;
	rv = getaddrinfo(host, port, &hints, &res);
	if (rv != 0) {
		fprintf(stderr, QSL_NAME ": %s: %s\n", host, gai_strerror(rv));
		return -1;
	}
	memcpy(&opt->remote, res->ai_addr, res->ai_addrlen);
	opt->remote_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* --local A,B,...: IP literals of the server's family, each one that a
 * socket can be bound to here (checked now, not at the first connect) */
static int
parse_local(struct qsl_options *opt, const char *list)
{
	char buf[1024], *save = NULL;

	if (strlen(list) >= sizeof(buf)) {
		fprintf(stderr, QSL_NAME ": --local: list too long\n");
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *a = strtok_r(buf, ",", &save); a != NULL; a = strtok_r(NULL, ",", &save)) {
		struct sockaddr_storage *ss = &opt->local[opt->n_local];
		struct addrinfo hints = {.ai_socktype = SOCK_DGRAM,
					 .ai_flags = AI_NUMERICHOST,
					 .ai_family = opt->remote.ss_family};
		struct addrinfo *res;
		int fd, err;

		if (opt->n_local == QSL_MAX_LOCAL) {
			fprintf(stderr, QSL_NAME ": --local: at most %d addresses\n",
				QSL_MAX_LOCAL);
			return -1;
		}
		if (!is_ip(a) || getaddrinfo(a, "0", &hints, &res) != 0) {
			fprintf(stderr, QSL_NAME ": --local '%s': expected an %s address "
				"(the server's family)\n", a,
				opt->remote.ss_family == AF_INET ? "IPv4" : "IPv6");
			return -1;
		}
		memcpy(ss, res->ai_addr, res->ai_addrlen);
		opt->local_len = res->ai_addrlen;
		freeaddrinfo(res);
		fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
		err = fd < 0 || bind(fd, (struct sockaddr *)ss, opt->local_len) != 0 ? errno : 0;
		if (fd >= 0)
			close(fd);
		if (err != 0) {
			fprintf(stderr, QSL_NAME ": --local '%s': %s (is it an address "
				"of this host?)\n", a, strerror(err));
			return -1;
		}
		opt->n_local++;
	}
	if (opt->n_local == 0) {
		fprintf(stderr, QSL_NAME ": --local: no address\n");
		return -1;
	}
	return 0;
}

enum {
	OPT_CONNECT_TO = 256,
	OPT_LOCAL,
	OPT_CONN_REQUESTS,
	OPT_REBIND_EVERY,
	OPT_MIGRATE,
	OPT_REBIND_FRACTION,
	OPT_MAX_PENDING,
	OPT_HOLD,
	OPT_RESUME,
	OPT_CA,
	OPT_TIMEOUT,
	OPT_MAX_TIME,
	OPT_GET,
	OPT_JSON,
	OPT_HEADER,
	OPT_RAPID_RESET,
	OPT_NO_GSO,
	OPT_NO_GRO,
};

static const struct option long_opts[] = {
	{"clients", required_argument, NULL, 'c'},
	{"requests", required_argument, NULL, 'n'},
	{"duration", required_argument, NULL, 'D'},
	{"max-concurrent-streams", required_argument, NULL, 'm'},
	{"threads", required_argument, NULL, 't'},
	{"connect-to", required_argument, NULL, OPT_CONNECT_TO},
	{"local", required_argument, NULL, OPT_LOCAL},
	{"conn-requests", required_argument, NULL, OPT_CONN_REQUESTS},
	{"rebind-every", required_argument, NULL, OPT_REBIND_EVERY},
	{"migrate", no_argument, NULL, OPT_MIGRATE},
	{"rebind-fraction", required_argument, NULL, OPT_REBIND_FRACTION},
	{"max-pending", required_argument, NULL, OPT_MAX_PENDING},
	{"hold", required_argument, NULL, OPT_HOLD},
	{"rapid-reset", required_argument, NULL, OPT_RAPID_RESET},
	{"resume", no_argument, NULL, OPT_RESUME},
	{"insecure", no_argument, NULL, 'k'},
	{"ca", required_argument, NULL, OPT_CA},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"max-time", required_argument, NULL, OPT_MAX_TIME},
	{"get", no_argument, NULL, OPT_GET},
	{"json", no_argument, NULL, OPT_JSON},
	{"no-gso", no_argument, NULL, OPT_NO_GSO},
	{"no-gro", no_argument, NULL, OPT_NO_GRO},
	{"header", required_argument, NULL, 'H'},
	{"quiet", no_argument, NULL, 'q'},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* 0 ok, 1 exit 0 (help), -1 usage error */
static int
parse_options(struct qsl_options *opt, int argc, char **argv)
{
	const char *connect_to = NULL, *local = NULL;
	bool have_n = false, get = false, migrate = false;
	double timeout_s = DEFAULT_TIMEOUT_S, max_time_s = 0, hold_s = 0;
	double fraction = 0;
	uint64_t v;
	int ch;

	memset(opt, 0, sizeof(*opt));
	opt->conns = opt->streams = opt->threads = 1;
	opt->requests = 1;
	opt->gso = opt->gro = true;
	while ((ch = getopt_long(argc, argv, "c:n:D:m:t:H:kqvh", long_opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			if (parse_u64(optarg, 1, &v, "-c") != 0 || v > 1000000)
				return -1;
			opt->conns = (uint32_t)v;
			break;
		case 'n':
			if (parse_u64(optarg, 1, &opt->requests, "-n") != 0)
				return -1;
			have_n = true;
			break;
		case 'D':
			if (parse_seconds(optarg, &opt->duration_s, "-D") != 0)
				return -1;
			break;
		case 'm':
			if (parse_u64(optarg, 1, &v, "-m") != 0 || v > 10000)
				return -1;
			opt->streams = (uint32_t)v;
			break;
		case 'H': {
			/* NAME:VALUE; the name is sent as given, even malformed,
			 * so a server's checks can be exercised */
			char *colon = strchr(optarg + (optarg[0] == ':'), ':');
			nghttp3_nv *nv = &opt->headers[opt->n_headers];

			if (colon == NULL || opt->n_headers == QSL_MAX_HEADERS) {
				fprintf(stderr, "-H: NAME:VALUE expected (at most %d)\n",
					QSL_MAX_HEADERS);
				return -1;
			}
			nv->name = (uint8_t *)optarg;
			nv->namelen = (size_t)(colon - optarg);
			nv->value = (uint8_t *)colon + 1 + (colon[1] == ' ');
			nv->valuelen = strlen((char *)nv->value);
			nv->flags = NGHTTP3_NV_FLAG_NO_COPY_NAME |
				    NGHTTP3_NV_FLAG_NO_COPY_VALUE;
			opt->n_headers++;
			break;
		}
		case 't':
			if (parse_u64(optarg, 1, &v, "-t") != 0 || v > 1024)
				return -1;
			opt->threads = (uint32_t)v;
			break;
		case OPT_CONNECT_TO:
			connect_to = optarg;
			break;
		case OPT_LOCAL:
			local = optarg;
			break;
		case OPT_CONN_REQUESTS:
			if (parse_u64(optarg, 1, &opt->conn_requests, "--conn-requests") != 0)
				return -1;
			break;
		case OPT_REBIND_EVERY:
			if (parse_u64(optarg, 1, &opt->rebind_every, "--rebind-every") != 0)
				return -1;
			break;
		case OPT_MIGRATE:
			migrate = true;
			break;
		case OPT_REBIND_FRACTION: {
			char *end;

			errno = 0;
			fraction = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    !(fraction > 0 && fraction <= 1)) {
				fprintf(stderr, QSL_NAME ": --rebind-fraction: '%s' is "
					"not a number in (0, 1]\n", optarg);
				return -1;
			}
			break;
		}
		case OPT_MAX_PENDING:
			if (parse_u64(optarg, 0, &v, "--max-pending") != 0 || v > 1000000)
				return -1;
			opt->max_pending = (uint32_t)v;
			break;
		case OPT_HOLD:
			if (parse_seconds(optarg, &hold_s, "--hold") != 0)
				return -1;
			break;
		case OPT_RAPID_RESET:
		{
			char *end;

			errno = 0;
			opt->rapid_reset_rate = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    !(opt->rapid_reset_rate >= 1 &&
			      opt->rapid_reset_rate <= 1e6)) {
				fprintf(stderr, QSL_NAME ": --rapid-reset: '%s' is not a "
					"rate in 1..1000000 streams/s\n", optarg);
				return -1;
			}
			break;
		}
		case OPT_RESUME:
			opt->resume = true;
			break;
		case 'k':
			opt->insecure = true;
			break;
		case OPT_CA:
			opt->ca = optarg;
			break;
		case OPT_TIMEOUT:
			if (parse_seconds(optarg, &timeout_s, "--timeout") != 0)
				return -1;
			break;
		case OPT_MAX_TIME:
			if (parse_seconds(optarg, &max_time_s, "--max-time") != 0)
				return -1;
			break;
		case OPT_GET:
			get = true;
			break;
		case OPT_JSON:
			opt->json = true;
			break;
		case OPT_NO_GSO:
			opt->gso = false;
			break;
		case OPT_NO_GRO:
			opt->gro = false;
			break;
		case 'q':
			opt->quiet = true;
			break;
		case 'v':
			opt->verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, QSL_NAME ": no URI given\n");
		usage(stderr);
		return -1;
	}
	if (opt->duration_s > 0 && have_n) {
		fprintf(stderr, QSL_NAME ": -n and -D exclude each other\n");
		return -1;
	}
	if (migrate && opt->rebind_every == 0) {
		fprintf(stderr, QSL_NAME ": --migrate needs --rebind-every N\n");
		return -1;
	}
	if (fraction > 0 && opt->rebind_every == 0) {
		fprintf(stderr, QSL_NAME ": --rebind-fraction needs --rebind-every N\n");
		return -1;
	}
	if (hold_s > 0 && opt->duration_s > 0) {
		fprintf(stderr, QSL_NAME ": --hold needs -n (a connection holds once "
			"its share of the requests is done)\n");
		return -1;
	}
	if (hold_s > 0 && hold_s >= timeout_s) {
		fprintf(stderr, QSL_NAME ": --hold %.1f: the idle timeout (--timeout "
			"%.1f) would close the held connections first\n", hold_s,
			timeout_s);
		return -1;
	}
	if (opt->rapid_reset_rate > 0 && (opt->duration_s == 0 || opt->resume ||
					   get || opt->rebind_every != 0)) {
		fprintf(stderr, QSL_NAME ": --rapid-reset needs -D, and takes neither "
			"--resume, --get nor --rebind-every\n");
		return -1;
	}
	if (opt->insecure && opt->ca != NULL) {
		fprintf(stderr, QSL_NAME ": --insecure and --ca exclude each other\n");
		return -1;
	}
	opt->move = opt->rebind_every == 0 ? QSL_MOVE_NONE
		    : migrate ? QSL_MOVE_MIGRATE : QSL_MOVE_REBIND;
	opt->timeout_ns = (uint64_t)(timeout_s * NGTCP2_SECONDS);
	opt->max_time_ns = (uint64_t)(max_time_s * NGTCP2_SECONDS);
	opt->hold_ns = (uint64_t)(hold_s * NGTCP2_SECONDS);
	opt->rebind_fraction = opt->rebind_every ? (fraction > 0 ? fraction : 1) : 0;
	if (opt->duration_s > 0)
		opt->requests = 0;

	opt->n_uris = (size_t)(argc - optind);
	opt->uris = calloc(opt->n_uris, sizeof(*opt->uris));
	if (opt->uris == NULL)
		return -1;
	for (size_t i = 0; i < opt->n_uris; i++) {
		if (parse_uri(&opt->uris[i], argv[optind + (int)i]) != 0) {
			opt->n_uris = i + 1;	/* what parse_uri allocated is freed */
			return -1;
		}
	}

	opt->single = get || (opt->n_uris == 1 && opt->requests == 1 &&
			      opt->conns == 1 && opt->duration_s == 0 && !opt->json &&
			      !opt->resume);
	if (opt->single) {
		if (opt->n_uris != 1) {
			fprintf(stderr, QSL_NAME ": --get takes exactly one URI\n");
			return -1;
		}
		opt->requests = 1;
		opt->duration_s = 0;
		opt->conns = opt->threads = opt->streams = 1;
		opt->resume = false;
		opt->hold_ns = 0;
	}
	/* a connection without a request to make would only handshake */
	if (opt->requests > 0 && opt->conns > opt->requests)
		opt->conns = (uint32_t)opt->requests;
	if (opt->threads > opt->conns)
		opt->threads = opt->conns;
	if (resolve_remote(opt, connect_to) != 0)
		return -1;
	return local != NULL ? parse_local(opt, local) : 0;
}

/* ---- the run ---- */

static void
on_signal(int sig)
{
	(void)sig;
	qsl_stop = 1;
}

static double
seconds(uint64_t ns)
{
	return (double)ns / NGTCP2_SECONDS;
}

struct run {
	struct qsl_options opt;
	struct qsl_tls tls;
	struct qsl_worker priming;
	bool primed;
	struct qsl_worker *workers;
	uint32_t n_workers;
	uint64_t t_start, t_end;
	struct rusage ru_start;	/* the process's CPU time at t_start */
	double cpu_user_s, cpu_sys_s;	/* ... used from t_start to t_end */
	struct qsl_stats total;
};

/* Spreads requests (n over c slots, h2load's way) and slots over the
 * workers: slot i goes to worker i % threads. */
static int
setup_workers(struct run *r, uint64_t requests)
{
	const struct qsl_options *opt = &r->opt;

	r->n_workers = opt->threads;
	r->workers = calloc(r->n_workers, sizeof(*r->workers));
	if (r->workers == NULL)
		return -1;
	for (uint32_t t = 0; t < r->n_workers; t++) {
		uint32_t n = opt->conns / opt->threads + (t < opt->conns % opt->threads);

		if (qsl_worker_init(&r->workers[t], t, opt, &r->tls, n) != 0)
			return -1;
		if (opt->max_pending != 0) {
			uint32_t p = opt->max_pending / opt->threads +
				     (t < opt->max_pending % opt->threads);

			r->workers[t].max_pending = p ? p : 1;
		}
	}
	for (uint32_t i = 0; i < opt->conns; i++) {
		struct qsl_conn *c = &r->workers[i % opt->threads].conns[i / opt->threads];

		c->index = i;
		c->local_idx = opt->n_local > 0 ? i % opt->n_local : 0;
		/* an even spread: slot i moves when [i*F, (i+1)*F) holds an
		 * integer */
		c->rebinds = opt->rebind_every != 0 &&
			     (uint64_t)((i + 1) * opt->rebind_fraction) >
				     (uint64_t)(i * opt->rebind_fraction);
		c->quota = opt->duration_s > 0 ? UINT64_MAX
			   : requests / opt->conns + (i < requests % opt->conns);
	}
	return 0;
}

static void
progress_line(struct run *r, uint64_t now)
{
	struct qsl_counters sum = {0}, one;

	for (uint32_t t = 0; t < r->n_workers; t++) {
		qsl_counters_load(&one, &r->workers[t].stats.c);
		for (size_t i = 0; i < sizeof(one) / sizeof(uint64_t); i++)
			((uint64_t *)&sum)[i] += ((uint64_t *)&one)[i];
	}
	printf("progress: %.0f s, %llu completed, %llu failed, %llu connections "
	       "(%llu failed)\n",
	       seconds(now - r->t_start), (unsigned long long)sum.req_completed,
	       (unsigned long long)sum.req_failed,
	       (unsigned long long)sum.conn_started,
	       (unsigned long long)sum.conn_failed);
	fflush(stdout);
}

/* --hold: tells whoever waits (a benchmark reading stderr) that every
 * connection is open and idle; true once said. */
static bool
announce_hold(struct run *r, uint32_t started)
{
	unsigned long long held = 0;

	for (uint32_t t = 0; t < started; t++) {
		struct qsl_worker *w = &r->workers[t];

		if (__atomic_load_n(&w->finished, __ATOMIC_ACQUIRE))
			continue;
		if (!__atomic_load_n(&w->holding, __ATOMIC_ACQUIRE))
			return false;
		held += __atomic_load_n(&w->n_holding, __ATOMIC_RELAXED);
	}
	fprintf(stderr, QSL_NAME ": holding %llu connections open and idle for "
		"%.1f s\n", held, seconds(r->opt.hold_ns));
	fflush(stderr);
	return true;
}

static int
run_workers(struct run *r)
{
	bool progress = !r->opt.quiet && !r->opt.single && isatty(STDOUT_FILENO);
	uint64_t next_progress = qsl_now() + PROGRESS_NS;
	uint32_t started = 0;
	bool announced = r->opt.hold_ns == 0;
	int rv = 0;

	for (; started < r->n_workers; started++) {
		if (pthread_create(&r->workers[started].thread, NULL, qsl_worker_run,
				   &r->workers[started]) != 0) {
			fprintf(stderr, QSL_NAME ": cannot start thread %u\n", started);
			qsl_stop = 1;
			rv = -1;
			break;
		}
	}
	for (;;) {
		struct timespec ts = {0, JOIN_POLL_NS};
		uint32_t finished = 0;
		uint64_t now;

		for (uint32_t t = 0; t < started; t++)
			finished += __atomic_load_n(&r->workers[t].finished, __ATOMIC_ACQUIRE);
		if (finished == started)
			break;
		if (!announced)
			announced = announce_hold(r, started);
		nanosleep(&ts, NULL);
		now = qsl_now();
		if (progress && now >= next_progress) {
			progress_line(r, now);
			next_progress += PROGRESS_NS;
		}
	}
	for (uint32_t t = 0; t < started; t++)
		pthread_join(r->workers[t].thread, NULL);
	return rv;
}

/* ---- the report ---- */

static void
fmt_us(char *buf, size_t len, uint64_t us)
{
	if (us >= 1000000)
		snprintf(buf, len, "%.2fs", (double)us / 1e6);
	else if (us >= 1000)
		snprintf(buf, len, "%.2fms", (double)us / 1e3);
	else
		snprintf(buf, len, "%lluus", (unsigned long long)us);
}

static void
text_hist(const char *name, const struct qsl_hist *h)
{
	static const double qs[] = {0, 0.5, 0.9, 0.99, 1};
	char b[16];

	printf("  %-12s", name);
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		fmt_us(b, sizeof(b), qsl_hist_quantile(h, qs[i]));
		printf(" %10s", h->count ? b : "-");
	}
	printf("  (%llu)\n", (unsigned long long)h->count);
}

static double
rate(uint64_t n, double secs)
{
	return secs > 0 ? (double)n / secs : 0;
}

static const char *
move_name(enum qsl_move m)
{
	return m == QSL_MOVE_REBIND ? "rebind" : m == QSL_MOVE_MIGRATE ? "migrate" : "none";
}

static const char *
first_error(const struct run *r, enum qsl_err kind)
{
	if (r->primed && r->priming.errmsg[kind][0] != '\0')
		return r->priming.errmsg[kind];
	for (uint32_t t = 0; t < r->n_workers; t++)
		if (r->workers[t].errmsg[kind][0] != '\0')
			return r->workers[t].errmsg[kind];
	return NULL;
}

static double
timeval_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* The client's own CPU time over the run: it measures the server only
 * while it stays well below one CPU per thread. */
static void
run_cpu_time(struct run *r)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return;
	r->cpu_user_s = timeval_s(&ru.ru_utime) - timeval_s(&r->ru_start.ru_utime);
	r->cpu_sys_s = timeval_s(&ru.ru_stime) - timeval_s(&r->ru_start.ru_stime);
}

static double
cpu_percent(double cpu_s, double secs)
{
	return secs > 0 ? 100 * cpu_s / secs : 0;
}

static double
thread_cpu_percent(const struct run *r, uint32_t t, double secs)
{
	return cpu_percent(seconds(r->workers[t].cpu_ns), secs);
}

/* GSO in use to the end: on at start and no thread's send refused */
static bool
gso_kept(const struct run *r)
{
	if (!r->opt.gso || (r->primed && !r->priming.gso))
		return false;
	for (uint32_t t = 0; t < r->n_workers; t++)
		if (!r->workers[t].gso)
			return false;
	return true;
}

static const char *
gso_state(const struct run *r)
{
	return gso_kept(r) ? "on" : r->opt.gso ? "off after a refused send" : "off";
}

static void
report_text(const struct run *r, double secs)
{
	const struct qsl_counters *c = &r->total.c;
	const struct qsl_options *opt = &r->opt;

	printf("finished in %.2f s, %.2f req/s, %.2f handshakes/s, %.0f body bytes/s\n",
	       secs, rate(c->req_completed, secs), rate(c->handshakes, secs),
	       rate(c->body_bytes, secs));
	printf("requests: %llu started, %llu completed, %llu failed, %llu aborted, "
	       "%llu retried\n",
	       (unsigned long long)c->req_started, (unsigned long long)c->req_completed,
	       (unsigned long long)c->req_failed, (unsigned long long)c->req_aborted,
	       (unsigned long long)c->req_retried);
	printf("status codes: %llu 2xx, %llu 3xx, %llu 4xx, %llu 5xx\n",
	       (unsigned long long)c->status[2], (unsigned long long)c->status[3],
	       (unsigned long long)c->status[4], (unsigned long long)c->status[5]);
	printf("connections: %llu started, %llu succeeded, %llu failed, %llu aborted, "
	       "%llu handshakes, %llu resumed, 0-RTT %llu attempted / %llu accepted, "
	       "%llu told GOAWAY\n",
	       (unsigned long long)c->conn_started, (unsigned long long)c->conn_succeeded,
	       (unsigned long long)c->conn_failed, (unsigned long long)c->conn_aborted,
	       (unsigned long long)c->handshakes,
	       (unsigned long long)c->resumed, (unsigned long long)c->early_attempted,
	       (unsigned long long)c->early_accepted,
	       (unsigned long long)c->conn_goaway);
	if (opt->hold_ns != 0)
		printf("held open: %llu connections for %.1f s\n",
		       (unsigned long long)c->held, seconds(opt->hold_ns));
	if (opt->rapid_reset_rate > 0)
		printf("rapid reset: %llu streams opened and reset at once (%.0f/s "
		       "per connection)\n", (unsigned long long)c->rr_streams,
		       opt->rapid_reset_rate);
	if (c->peer_closed > 0) {
		printf("closed by the peer: %llu connections (",
		       (unsigned long long)c->peer_closed);
		for (uint32_t i = 0; i < r->total.n_closes; i++) {
			const struct qsl_peer_close *pc = &r->total.closes[i];
			const char *name = qsl_close_name(pc->app, pc->code);

			printf("%s%s 0x%llx%s%s: %llu", i ? ", " : "",
			       pc->app ? "application" : "transport",
			       (unsigned long long)pc->code, name ? " " : "",
			       name ? name : "", (unsigned long long)pc->count);
		}
		if (r->total.closes_other > 0)
			printf(", others: %llu", (unsigned long long)r->total.closes_other);
		printf(")\n");
	}
	printf("traffic: %llu body bytes, %llu datagrams sent, %llu received",
	       (unsigned long long)c->body_bytes, (unsigned long long)c->udp_tx,
	       (unsigned long long)c->udp_rx);
	if (c->udp_rx_dropped > 0)
		printf(", %llu lost in the client's full socket buffers",
		       (unsigned long long)c->udp_rx_dropped);
	printf("\n");
	printf("UDP calls: %llu sendmmsg (GSO %s, %llu with several datagrams), "
	       "%llu recvmmsg (GRO %s, %llu buffers with several)\n",
	       (unsigned long long)c->udp_tx_calls, gso_state(r),
	       (unsigned long long)c->gso_sends, (unsigned long long)c->udp_rx_calls,
	       opt->gro ? "on" : "off", (unsigned long long)c->gro_receives);
	printf("client CPU: %.2f s user+sys over %.2f s, %.0f %% of one CPU "
	       "(user %.2f s, sys %.2f s)", r->cpu_user_s + r->cpu_sys_s, secs,
	       cpu_percent(r->cpu_user_s + r->cpu_sys_s, secs), r->cpu_user_s,
	       r->cpu_sys_s);
	if (r->n_workers > 1) {
		printf("; threads:");
		for (uint32_t t = 0; t < r->n_workers; t++)
			printf("%s %.0f %%", t ? "," : "", thread_cpu_percent(r, t, secs));
	}
	printf("\n");
	if (opt->move != QSL_MOVE_NONE)
		printf("migrations (%s every %llu, %.0f %% of the connections): "
		       "%llu done, %llu not started, "
		       "%llu path validations failed; %llu connections moved, "
		       "%llu survived\n",
		       move_name(opt->move), (unsigned long long)opt->rebind_every,
		       opt->rebind_fraction * 100,
		       (unsigned long long)c->moves, (unsigned long long)c->moves_failed,
		       (unsigned long long)c->path_validation_failed,
		       (unsigned long long)c->conns_moved,
		       (unsigned long long)c->conns_moved_survived);
	printf("errors:");
	for (int k = 0; k < QSL_ERR_MAX; k++)
		printf(" %s %llu%s", qsl_err_names[k], (unsigned long long)c->errors[k],
		       k + 1 < QSL_ERR_MAX ? "," : "\n");
	for (int k = 0; k < QSL_ERR_MAX; k++) {
		const char *m = first_error(r, (enum qsl_err)k);

		if (m != NULL)
			printf("  first %s: %s\n", qsl_err_names[k], m);
	}
	printf("latency              min        p50        p90        p99        max\n");
	text_hist("first byte", &r->total.ttfb);
	text_hist("request", &r->total.request);
	text_hist("handshake", &r->total.connect);
}

static void
json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void
json_hist(const char *name, const struct qsl_hist *h, bool last)
{
	printf("\"%s\":{\"count\":%llu,\"min\":%llu,\"p50\":%llu,\"p90\":%llu,"
	       "\"p99\":%llu,\"max\":%llu,\"mean\":%.1f}%s",
	       name, (unsigned long long)h->count,
	       (unsigned long long)qsl_hist_quantile(h, 0),
	       (unsigned long long)qsl_hist_quantile(h, 0.5),
	       (unsigned long long)qsl_hist_quantile(h, 0.9),
	       (unsigned long long)qsl_hist_quantile(h, 0.99),
	       (unsigned long long)qsl_hist_quantile(h, 1),
	       h->count ? (double)h->sum / (double)h->count : 0.0, last ? "" : ",");
}

#define U(x) ((unsigned long long)(x))

static void
report_json(const struct run *r, double secs)
{
	const struct qsl_counters *c = &r->total.c;
	const struct qsl_options *opt = &r->opt;

	printf("{\"elapsed_s\":%.3f,\"requests_per_s\":%.2f,\"handshakes_per_s\":%.2f,"
	       "\"bytes_per_s\":%.0f,",
	       secs, rate(c->req_completed, secs), rate(c->handshakes, secs),
	       rate(c->body_bytes, secs));
	printf("\"options\":{\"clients\":%u,\"requests\":%llu,\"duration_s\":%.3f,"
	       "\"streams\":%u,\"threads\":%u,\"rebind_every\":%llu,\"move\":\"%s\","
	       "\"resume\":%s,\"conn_requests\":%llu,\"rebind_fraction\":%.4f,"
	       "\"max_pending\":%u,\"hold_s\":%.3f},",
	       opt->conns, U(opt->requests), opt->duration_s, opt->streams,
	       opt->threads, U(opt->rebind_every), move_name(opt->move),
	       opt->resume ? "true" : "false", U(opt->conn_requests),
	       opt->rebind_fraction, opt->max_pending, seconds(opt->hold_ns));
	printf("\"requests\":{\"started\":%llu,\"completed\":%llu,\"failed\":%llu,"
	       "\"aborted\":%llu,\"retried\":%llu},",
	       U(c->req_started), U(c->req_completed), U(c->req_failed),
	       U(c->req_aborted), U(c->req_retried));
	printf("\"status\":{\"2xx\":%llu,\"3xx\":%llu,\"4xx\":%llu,\"5xx\":%llu},",
	       U(c->status[2]), U(c->status[3]), U(c->status[4]), U(c->status[5]));
	printf("\"connections\":{\"started\":%llu,\"succeeded\":%llu,\"failed\":%llu,"
	       "\"aborted\":%llu,\"handshakes\":%llu,\"goaway\":%llu},",
	       U(c->conn_started), U(c->conn_succeeded), U(c->conn_failed),
	       U(c->conn_aborted), U(c->handshakes), U(c->conn_goaway));
	printf("\"resumed\":%llu,\"early_data_attempted\":%llu,"
	       "\"early_data_accepted\":%llu,\"held\":%llu,",
	       U(c->resumed), U(c->early_attempted), U(c->early_accepted),
	       U(c->held));
	printf("\"bytes\":{\"body\":%llu,\"udp_sent\":%llu,\"udp_received\":%llu},"
	       "\"datagrams\":{\"sent\":%llu,\"received\":%llu,\"send_blocked\":%llu,"
	       "\"send_calls\":%llu,\"receive_calls\":%llu,\"receive_dropped\":%llu},",
	       U(c->body_bytes), U(c->udp_tx_bytes), U(c->udp_rx_bytes), U(c->udp_tx),
	       U(c->udp_rx), U(c->send_blocked), U(c->udp_tx_calls), U(c->udp_rx_calls),
	       U(c->udp_rx_dropped));
	printf("\"udp_offload\":{\"gso\":%s,\"gro\":%s,\"gso_sends\":%llu,"
	       "\"gro_receives\":%llu},",
	       gso_kept(r) ? "true" : "false", opt->gro ? "true" : "false",
	       U(c->gso_sends), U(c->gro_receives));
	printf("\"client_cpu\":{\"user_s\":%.3f,\"sys_s\":%.3f,\"percent\":%.1f,"
	       "\"threads_percent\":[",
	       r->cpu_user_s, r->cpu_sys_s,
	       cpu_percent(r->cpu_user_s + r->cpu_sys_s, secs));
	for (uint32_t t = 0; t < r->n_workers; t++)
		printf("%s%.1f", t ? "," : "", thread_cpu_percent(r, t, secs));
	printf("]},");
	printf("\"rapid_reset\":{\"rate\":%.1f,\"streams\":%llu},",
	       opt->rapid_reset_rate, U(c->rr_streams));
	printf("\"peer_closes\":{\"count\":%llu,\"other\":%llu,\"codes\":[",
	       U(c->peer_closed), U(r->total.closes_other));
	for (uint32_t i = 0; i < r->total.n_closes; i++) {
		const struct qsl_peer_close *pc = &r->total.closes[i];
		const char *name = qsl_close_name(pc->app, pc->code);

		printf("%s{\"type\":\"%s\",\"code\":%llu,\"name\":\"%s\","
		       "\"count\":%llu}", i ? "," : "",
		       pc->app ? "application" : "transport", U(pc->code),
		       name ? name : "", U(pc->count));
	}
	printf("]},");
	printf("\"migrations\":{\"done\":%llu,\"not_started\":%llu,"
	       "\"path_validation_failed\":%llu,\"connections_moved\":%llu,"
	       "\"connections_survived\":%llu},",
	       U(c->moves), U(c->moves_failed), U(c->path_validation_failed),
	       U(c->conns_moved), U(c->conns_moved_survived));
	printf("\"errors\":{");
	for (int k = 0; k < QSL_ERR_MAX; k++)
		printf("\"%s\":%llu%s", qsl_err_names[k], U(c->errors[k]),
		       k + 1 < QSL_ERR_MAX ? "," : "},");
	printf("\"error_examples\":{");
	for (int k = 0, first = 1; k < QSL_ERR_MAX; k++) {
		const char *m = first_error(r, (enum qsl_err)k);

		if (m == NULL)
			continue;
		printf("%s\"%s\":", first ? "" : ",", qsl_err_names[k]);
		json_string(m);
		first = 0;
	}
	printf("},\"latency_us\":{");
	json_hist("ttfb", &r->total.ttfb, false);
	json_hist("request", &r->total.request, false);
	json_hist("handshake", &r->total.connect, true);
	printf("}}\n");
}

/* curl-like ending: stdout has the body; errors go to stderr */
static int
single_result(const struct run *r)
{
	const struct qsl_counters *c = &r->total.c;
	const char *m;

	fflush(stdout);
	if (c->req_completed == 1)
		return 0;
	for (int k = 0; k < QSL_ERR_MAX; k++) {
		if ((m = first_error(r, (enum qsl_err)k)) != NULL) {
			fprintf(stderr, QSL_NAME ": %s\n", m);
			return 1;
		}
	}
	fprintf(stderr, QSL_NAME ": %s\n", qsl_stop ? "interrupted" : "request failed");
	return 1;
}

static void
run_fini(struct run *r)
{
	if (r->workers != NULL) {
		for (uint32_t t = 0; t < r->n_workers; t++)
			qsl_worker_fini(&r->workers[t]);
		free(r->workers);
	}
	qsl_worker_fini(&r->priming);
	qsl_tls_fini(&r->tls);
	free_uris(&r->opt);
}

/* One socket per connection (two around a move): lift the limit on open
 * files, the hard one too where we may (root), else as far as it allows. */
static void
raise_nofile(const struct qsl_options *opt)
{
	rlim_t need = (rlim_t)opt->conns * (opt->move != QSL_MOVE_NONE ? 2 : 1) + 64;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
		return;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		struct rlimit up = {.rlim_cur = need, .rlim_max = need};

		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			return;
	}
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need
									    : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < need && !opt->quiet)
		fprintf(stderr, QSL_NAME ": warning: %llu open files allowed, %u "
			"connections need about %llu (ulimit -n)\n",
			(unsigned long long)rl.rlim_cur, opt->conns,
			(unsigned long long)need);
}

int
main(int argc, char **argv)
{
	static struct run run;	/* holds the priming worker and its buffers */
	struct run *r = &run;
	struct sigaction sa = {.sa_handler = on_signal};
	uint64_t requests;
	double secs;
	int rv, code;

	rv = parse_options(&r->opt, argc, argv);
	if (rv != 0) {
		free_uris(&r->opt);
		return rv > 0 ? 0 : EXIT_USAGE;
	}
	r->priming.epfd = -1;
	if (qsl_tls_init(&r->tls, &r->opt) != 0) {
		free_uris(&r->opt);
		return EXIT_USAGE;
	}
	raise_nofile(&r->opt);
	qsl_udp_offload_probe(&r->opt);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	r->t_start = qsl_now();
	getrusage(RUSAGE_SELF, &r->ru_start);
	r->opt.run_start_ns = r->t_start;
	requests = r->opt.requests;
	if (r->opt.resume) {
		/* one connection, one request: the ticket every other
		 * connection resumes with */
		if (qsl_worker_init(&r->priming, 0, &r->opt, &r->tls, 1) != 0) {
			fprintf(stderr, QSL_NAME ": out of memory\n");
			run_fini(r);
			return 1;
		}
		r->priming.priming = true;
		r->priming.conns[0].quota = 1;
		qsl_worker_run(&r->priming);
		r->primed = true;
		if (requests > 0)
			requests--;
	}
	if (requests > 0 || r->opt.duration_s > 0) {
		if (requests > 0 && r->opt.conns > requests)
			r->opt.conns = (uint32_t)requests;
		if (r->opt.threads > r->opt.conns)
			r->opt.threads = r->opt.conns;
		if (setup_workers(r, requests) != 0) {
			fprintf(stderr, QSL_NAME ": out of memory\n");
			run_fini(r);
			return 1;
		}
		if (!qsl_stop)
			run_workers(r);
	}
	r->t_end = qsl_now();
	run_cpu_time(r);
	secs = seconds(r->t_end - r->t_start);

	qsl_stats_init(&r->total);
	if (r->primed)
		qsl_stats_merge(&r->total, &r->priming.stats);
	for (uint32_t t = 0; t < r->n_workers; t++)
		qsl_stats_merge(&r->total, &r->workers[t].stats);

	if (r->opt.single) {
		code = single_result(r);
	} else {
		if (r->opt.json)
			report_json(r, secs);
		else if (!r->opt.quiet)
			report_text(r, secs);
		/* -n: every request completed; -D: nothing failed;
		 * --rapid-reset: no connection failed (none was closed) */
		if (r->opt.rapid_reset_rate > 0)
			code = r->total.c.conn_failed == 0 ? 0 : 1;
		else if (r->opt.duration_s > 0)
			code = r->total.c.req_failed == 0 && r->total.c.conn_failed == 0 &&
			       r->total.c.req_completed > 0 ? 0 : 1;
		else
			code = r->total.c.req_completed == r->opt.requests ? 0 : 1;
	}
	fflush(stdout);
	run_fini(r);
	return code;
}
