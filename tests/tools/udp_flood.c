/* udp_flood: sends short-header QUIC-like datagrams naming one worker as
 * fast as the kernel takes them, from many source ports, with sendmmsg.
 * Used by the integration tests inside a client network namespace.
 *
 *   udp_flood --dst ADDR --port N --worker K [--count N] [--sockets N]
 *             [--length N] [--batch N]
 *
 * Prints one JSON object: {"sent", "send_errors", "seconds"}. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOCKETS 1024
#define MAX_BATCH 256
#define MAX_LENGTH 1200
#define DCID_LEN 8
#define SHORT_HEADER_FIXED_BIT 0x40

struct opts {
	const char *dst;
	unsigned int port, worker, sockets, length, batch;
	unsigned long count;
};

static void
usage(const char *prg)
{
	fprintf(stderr,
		"usage: %s --dst ADDR --port N --worker K [--count N (100000)]\n"
		"       [--sockets N (64)] [--length N (64)] [--batch N (64)]\n",
		prg);
	exit(2);
}

static unsigned long
number(const char *prg, const char *s, unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < min || v > max)
		usage(prg);
	return v;
}

static void
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"dst", required_argument, NULL, 'd'},
		{"port", required_argument, NULL, 'p'},
		{"worker", required_argument, NULL, 'w'},
		{"count", required_argument, NULL, 'c'},
		{"sockets", required_argument, NULL, 's'},
		{"length", required_argument, NULL, 'l'},
		{"batch", required_argument, NULL, 'b'},
		{NULL, 0, NULL, 0},
	};
	int opt;

	*o = (struct opts){.port = 0, .worker = 16, .sockets = 64, .length = 64,
			   .batch = 64, .count = 100000};
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd': o->dst = optarg; break;
		case 'p': o->port = number(argv[0], optarg, 1, 65535); break;
		case 'w': o->worker = number(argv[0], optarg, 0, 15); break;
		case 'c': o->count = number(argv[0], optarg, 1, 100000000); break;
		case 's': o->sockets = number(argv[0], optarg, 1, MAX_SOCKETS); break;
		case 'l': o->length = number(argv[0], optarg, 1 + DCID_LEN, MAX_LENGTH); break;
		case 'b': o->batch = number(argv[0], optarg, 1, MAX_BATCH); break;
		default: usage(argv[0]);
		}
	}
	if (o->dst == NULL || o->port == 0 || o->worker > 15)
		usage(argv[0]);
}

/* Short header: 0b01xxxxxx, then the DCID whose high nibble names worker. */
static void
make_datagram(unsigned char *p, unsigned int len, unsigned int worker)
{
	if (getrandom(p, len, 0) != (ssize_t)len) {
		perror("getrandom");
		exit(1);
	}
	p[0] = SHORT_HEADER_FIXED_BIT | (p[0] & 0x3f);
	p[1] = (unsigned char)(worker << 4) | (p[1] & 0x0f);
}

int
main(int argc, char **argv)
{
	static unsigned char bufs[MAX_BATCH][MAX_LENGTH];
	static struct mmsghdr msgs[MAX_BATCH];
	static struct iovec iovs[MAX_BATCH];
	static int fds[MAX_SOCKETS];
	struct sockaddr_storage dst;
	socklen_t dst_len;
	struct timespec t0, t1;
	unsigned long sent = 0, errors = 0;
	struct opts o;
	int family;

	parse_opts(argc, argv, &o);
	memset(&dst, 0, sizeof(dst));
	if (inet_pton(AF_INET, o.dst, &((struct sockaddr_in *)&dst)->sin_addr) == 1) {
		family = AF_INET;
		((struct sockaddr_in *)&dst)->sin_family = AF_INET;
		((struct sockaddr_in *)&dst)->sin_port = htons((uint16_t)o.port);
		dst_len = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, o.dst,
			     &((struct sockaddr_in6 *)&dst)->sin6_addr) == 1) {
		family = AF_INET6;
		((struct sockaddr_in6 *)&dst)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&dst)->sin6_port = htons((uint16_t)o.port);
		dst_len = sizeof(struct sockaddr_in6);
	} else {
		fprintf(stderr, "udp_flood: '%s' is not an address\n", o.dst);
		return 2;
	}

	/* connected sockets: each keeps its own source port */
	for (unsigned int i = 0; i < o.sockets; i++) {
		fds[i] = socket(family, SOCK_DGRAM, 0);
		if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&dst, dst_len) != 0) {
			perror("udp_flood: socket");
			return 1;
		}
	}
	for (unsigned int i = 0; i < o.batch; i++) {
		make_datagram(bufs[i], o.length, o.worker);
		iovs[i] = (struct iovec){.iov_base = bufs[i], .iov_len = o.length};
		msgs[i].msg_hdr = (struct msghdr){.msg_iov = &iovs[i], .msg_iovlen = 1};
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned long round = 0; sent + errors < o.count; round++) {
		unsigned int n = o.batch;
		int rc;

		if (o.count - sent - errors < n)
			n = (unsigned int)(o.count - sent - errors);
		/* a fresh DCID tail per round, the owner nibble unchanged */
		for (unsigned int i = 0; i < n; i++)
			bufs[i][2 + round % (DCID_LEN - 1)] ^= (unsigned char)(round + i);
		rc = sendmmsg(fds[round % o.sockets], msgs, n, 0);
		if (rc < 0) {
			if (errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED) {
				perror("udp_flood: sendmmsg");
				return 1;
			}
			errors += n;    /* the kernel refused the batch */
			continue;
		}
		sent += (unsigned int)rc;
		errors += n - (unsigned int)rc;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	printf("{\"sent\": %lu, \"send_errors\": %lu, \"seconds\": %.3f}\n", sent,
	       errors, (double)(t1.tv_sec - t0.tv_sec) +
			       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	for (unsigned int i = 0; i < o.sockets; i++)
		close(fds[i]);
	return 0;
}
