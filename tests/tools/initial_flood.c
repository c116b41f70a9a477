/* initial_flood: a flood of real QUIC v1 Initials from spoofed IPv4
 * source addresses, for the attack tests (tests/attack/).
 *
 *   initial_flood --dst 198.18.0.1 --port 4433 --src-net 198.19.0.0 \
 *                 --rate 3000 --seconds 10
 *
 * Each Initial is the first datagram of a fresh ngtcp2 client connection
 * (GnuTLS crypto helper, ALPN h3, a ClientHello with a new X25519 key
 * share and random CIDs), written with the glue quicsteer-load uses
 * (lib/quic/qs_quic_glue.h) and sent over a raw IPv4 socket (IP_HDRINCL)
 * from the next address of the spoofed /16, so every spoofed address sends
 * exactly one Initial: the i-th from src-net + 1 + i, source port
 * 20000 + i % 40000. Nothing ever reads an answer (the addresses are not
 * ours). The send rate is paced to --rate per second, for --seconds at
 * most and --count datagrams at most (and never more than the /16 holds);
 * the actual rate is what one CPU can generate if lower.
 *
 * stdout, at the end: one JSON object
 *   {"sent", "send_errors", "build_errors", "seconds", "rate",
 *    "first_src", "last_src", "datagram_len"}
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include "quic/qs_quic_glue.h"

#define NAME "initial_flood"
#define MAX_SOURCES 65534u	/* hosts of a /16 but .0.0 and .255.255 */
#define PORT_BASE 20000
#define PORT_SPAN 40000
#define BATCH_NS (1000 * 1000ull)	/* pacing granularity: 1 ms */
#define DCID_LEN 16
#define SCID_LEN 8

#define PRIORITY \
	"%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3:" \
	"-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:" \
	"-GROUP-ALL:+GROUP-X25519"

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint16_t
csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t
csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)(p[0] << 8);
	return sum;
}

/* IPv4 + UDP headers in front of the payload at buf + 28; checksums
 * computed (the UDP one over the pseudo-header: quicsteer verifies it). */
static size_t
frame_ipv4(uint8_t *buf, const struct sockaddr_in *src,
	   const struct sockaddr_in *dst, size_t payload_len, uint16_t ip_id)
{
	struct iphdr *ip = (struct iphdr *)buf;
	struct udphdr *udp = (struct udphdr *)(buf + sizeof(*ip));
	size_t udp_len = sizeof(*udp) + payload_len;
	uint32_t sum = 0;
	uint16_t c;
	uint8_t pseudo[12];

	memset(ip, 0, sizeof(*ip));
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons((uint16_t)(sizeof(*ip) + udp_len));
	ip->id = htons(ip_id);
	ip->frag_off = htons(IP_DF);
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->saddr = src->sin_addr.s_addr;
	ip->daddr = dst->sin_addr.s_addr;
	ip->check = htons(csum_fold(csum_add(0, ip, sizeof(*ip))));

	udp->source = src->sin_port;
	udp->dest = dst->sin_port;
	udp->len = htons((uint16_t)udp_len);
	udp->check = 0;
	memcpy(pseudo, &ip->saddr, 4);
	memcpy(pseudo + 4, &ip->daddr, 4);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_UDP;
	pseudo[10] = (uint8_t)(udp_len >> 8);
	pseudo[11] = (uint8_t)udp_len;
	sum = csum_add(sum, pseudo, sizeof(pseudo));
	sum = csum_add(sum, udp, udp_len);
	c = csum_fold(sum);
	udp->check = htons(c == 0 ? 0xffff : c);
	return sizeof(*ip) + udp_len;
}

struct flood {
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t priority;
	struct sockaddr_in dst;
};

/* The first datagram of a new client connection from src into out: its
 * length, or -1. */
static ngtcp2_ssize
first_datagram(const struct flood *f, const struct sockaddr_in *src,
	       uint8_t *out, size_t cap)
{
	static const uint8_t alpn_h3[] = "h3";
	gnutls_datum_t alpn = {.data = (unsigned char *)alpn_h3, .size = 2};
	struct qs_quic_conn q = {0};
	ngtcp2_transport_params params;
	ngtcp2_callbacks cb;
	ngtcp2_settings settings;
	ngtcp2_path_storage ps;
	ngtcp2_cid dcid, scid;
	ngtcp2_pkt_info pi;
	struct qs_quic_err err;
	ngtcp2_path path = {
		.local = {(ngtcp2_sockaddr *)src, sizeof(*src)},
		.remote = {(ngtcp2_sockaddr *)&f->dst, sizeof(f->dst)},
	};
	ngtcp2_ssize n = -1;
	uint64_t ts = now_ns();

	qs_quic_conn_init(&q);
	dcid.datalen = DCID_LEN;
	scid.datalen = SCID_LEN;
	if (gnutls_rnd(GNUTLS_RND_NONCE, dcid.data, dcid.datalen) != 0 ||
	    gnutls_rnd(GNUTLS_RND_NONCE, scid.data, scid.datalen) != 0)
		return -1;
	qs_quic_callbacks_init(&cb, false);
	ngtcp2_settings_default(&settings);
	settings.initial_ts = ts;
	ngtcp2_transport_params_default(&params);
	params.initial_max_streams_uni = 3;
	params.initial_max_stream_data_uni = 65536;
	params.initial_max_data = 1 << 20;
	if (ngtcp2_conn_client_new(&q.conn, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1,
				   &cb, &settings, &params, NULL, &q) != 0)
		return -1;
	if (gnutls_init(&q.tls, GNUTLS_CLIENT) != 0) {
		q.tls = NULL;
		goto out;
	}
	if (gnutls_priority_set(q.tls, f->priority) != 0 ||
	    qs_quic_tls_configure(q.tls, false) != 0 ||
	    gnutls_credentials_set(q.tls, GNUTLS_CRD_CERTIFICATE, f->cred) != 0 ||
	    gnutls_alpn_set_protocols(q.tls, &alpn, 1, GNUTLS_ALPN_MANDATORY) != 0)
		goto out;
	gnutls_session_set_ptr(q.tls, &q.conn_ref);
	ngtcp2_conn_set_tls_native_handle(q.conn, q.tls);
	ngtcp2_path_storage_zero(&ps);
	n = qs_quic_write_pkt(&q, out, cap, &ps.path, &pi, ts, &err);
out:
	ngtcp2_conn_del(q.conn);
	if (q.tls != NULL)
		gnutls_deinit(q.tls);
	return n > 0 ? n : -1;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: " NAME " --dst IPV4 --port N --src-net A.B.0.0 "
		   "--rate PER_S --seconds S [--count N]\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"dst", required_argument, NULL, 'd'},
		{"port", required_argument, NULL, 'p'},
		{"src-net", required_argument, NULL, 's'},
		{"rate", required_argument, NULL, 'r'},
		{"seconds", required_argument, NULL, 't'},
		{"count", required_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	struct flood f = {0};
	struct in_addr net = {0};
	const char *perr = NULL;
	double rate = 0, seconds = 0;
	unsigned long count = MAX_SOURCES, sent = 0, send_errors = 0,
		      build_errors = 0;
	long port = 0;
	uint8_t pkt[2048];
	size_t dgram_len = 0;
	uint64_t start, deadline, next;
	struct sigaction sa = {.sa_handler = on_signal};
	char first[INET_ADDRSTRLEN] = "", last[INET_ADDRSTRLEN] = "";
	int opt, fd, one = 1;

	f.dst.sin_family = AF_INET;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			if (inet_pton(AF_INET, optarg, &f.dst.sin_addr) != 1)
				goto bad;
			break;
		case 'p':
			port = strtol(optarg, NULL, 10);
			break;
		case 's':
			if (inet_pton(AF_INET, optarg, &net) != 1)
				goto bad;
			break;
		case 'r':
			rate = strtod(optarg, NULL);
			break;
		case 't':
			seconds = strtod(optarg, NULL);
			break;
		case 'n':
			count = strtoul(optarg, NULL, 10);
			break;
		default:
			goto bad;
		}
	}
	if (port <= 0 || port > 65535 || !(rate > 0) || !(seconds > 0) ||
	    seconds > 120 || f.dst.sin_addr.s_addr == 0 || net.s_addr == 0 ||
	    (ntohl(net.s_addr) & 0xffff) != 0)
		goto bad;
	if (count > MAX_SOURCES)
		count = MAX_SOURCES;
	f.dst.sin_port = htons((uint16_t)port);

	if (gnutls_certificate_allocate_credentials(&f.cred) != 0 ||
	    gnutls_priority_init(&f.priority, PRIORITY, &perr) != 0) {
		fprintf(stderr, NAME ": GnuTLS setup failed at '%s'\n", perr ? perr : "");
		return 1;
	}
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) != 0) {
		fprintf(stderr, NAME ": raw socket: %s (needs root)\n", strerror(errno));
		return 1;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	start = now_ns();
	deadline = start + (uint64_t)(seconds * 1e9);
	next = start;
	while (!stop && sent + build_errors < count) {
		uint64_t now = now_ns();
		/* how many should be out by now at the rate */
		unsigned long due = (unsigned long)((double)(now - start) * rate / 1e9) + 1;

		if (now >= deadline)
			break;
		if (sent + build_errors >= due) {
			struct timespec ts;

			next = start + (uint64_t)((double)(sent + build_errors) * 1e9 / rate);
			if (next > now + BATCH_NS)
				next = now + BATCH_NS;
			ts.tv_sec = (time_t)(next / 1000000000ull);
			ts.tv_nsec = (long)(next % 1000000000ull);
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			continue;
		}
		{
			unsigned long i = sent + build_errors;
			struct sockaddr_in src = {.sin_family = AF_INET};
			ngtcp2_ssize n;
			size_t len;

			src.sin_addr.s_addr = htonl(ntohl(net.s_addr) + 1 + (uint32_t)i);
			src.sin_port = htons((uint16_t)(PORT_BASE + i % PORT_SPAN));
			n = first_datagram(&f, &src, pkt + 28, sizeof(pkt) - 28);
			if (n < 0) {
				build_errors++;
				continue;
			}
			len = frame_ipv4(pkt, &src, &f.dst, (size_t)n, (uint16_t)i);
			dgram_len = (size_t)n;
			if (sendto(fd, pkt, len, 0, (const struct sockaddr *)&f.dst,
				   sizeof(f.dst)) != (ssize_t)len) {
				send_errors++;
				/* the address is used up either way */
				build_errors++;
				continue;
			}
			if (sent == 0)
				inet_ntop(AF_INET, &src.sin_addr, first, sizeof(first));
			inet_ntop(AF_INET, &src.sin_addr, last, sizeof(last));
			sent++;
		}
	}
	{
		double secs = (double)(now_ns() - start) / 1e9;

		printf("{\"sent\":%lu,\"send_errors\":%lu,\"build_errors\":%lu,"
		       "\"seconds\":%.3f,\"rate\":%.1f,\"first_src\":\"%s\","
		       "\"last_src\":\"%s\",\"datagram_len\":%zu}\n",
		       sent, send_errors, build_errors - send_errors, secs,
		       secs > 0 ? (double)sent / secs : 0.0, first, last, dgram_len);
	}
	close(fd);
	gnutls_priority_deinit(f.priority);
	gnutls_certificate_free_credentials(f.cred);
	return sent > 0 ? 0 : 1;
bad:
	usage(stderr);
	return 2;
}
