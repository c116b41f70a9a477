/* The in-process QUIC rig (qs_inproc.h): fixtures, the server wired as
 * lcore_new wires a worker, frames both ways, and the client. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "http/qs_content.h"
#include "net/qs_classify.h"
#include "quic/qs_stateless.h"
#include "quic/qs_timers.h"
#include "quic/qs_tls.h"
#include "qs_frames.h"
#include "qs_inproc.h"

#define CLIENT_SCID_LEN 17
#define CLIENT_DCID_LEN 18

#define TLS_PRIORITY \
	"%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3:" \
	"-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-CCM:" \
	"-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-SECP521R1"
/* an FFDHE-8192 key share (1 KiB) first makes the ClientHello span two
 * Initial packets, as a large post-quantum key share does */
#define TLS_PRIORITY_BIG_HELLO \
	"%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3:" \
	"-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-CCM:" \
	"-GROUP-ALL:+GROUP-FFDHE8192:+GROUP-X25519"

void
qs_inproc_die(const char *what, const char *detail)
{
	fprintf(stderr, "%s: %s%s%s\n", program_invocation_short_name, what,
		detail ? ": " : "", detail ? detail : "");
	exit(2);
}

/* ---- fixtures ---- */

static void
join(char *out, const char *a, const char *b)
{
	if ((size_t)snprintf(out, PATH_MAX, "%s/%s", a, b) >= PATH_MAX)
		qs_inproc_die("path too long", b);
}

static void
put_file(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");

	if (fp == NULL || fwrite(data, 1, len, fp) != len || fclose(fp) != 0)
		qs_inproc_die("cannot write", path);
}

#define GNUTLS_OK(call) \
	do { \
		int rv_ = (call); \
		if (rv_ < 0) \
			qs_inproc_die(#call, gnutls_strerror(rv_)); \
	} while (0)

static void
make_cert(const struct qs_inproc_files *fx, const struct qs_inproc_cert *c)
{
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	gnutls_datum_t pem;
	uint8_t serial[8];
	uint32_t ip = qs_frames_our_v4;

	GNUTLS_OK(gnutls_x509_privkey_init(&key));
	GNUTLS_OK(gnutls_x509_privkey_generate(
		key, c->pk != 0 ? c->pk : GNUTLS_PK_ECDSA,
		c->bits != 0 ? c->bits
			     : GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
		0));
	GNUTLS_OK(gnutls_x509_crt_init(&crt));
	GNUTLS_OK(gnutls_x509_crt_set_version(crt, 3));
	if (c->serial != NULL) {
		memcpy(serial, c->serial, sizeof(serial));
	} else {
		GNUTLS_OK(gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial)));
		serial[0] &= 0x7f;
	}
	GNUTLS_OK(gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)));
	GNUTLS_OK(gnutls_x509_crt_set_activation_time(crt, c->not_before));
	GNUTLS_OK(gnutls_x509_crt_set_expiration_time(crt, c->not_after));
	GNUTLS_OK(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME,
						0, c->cn,
						(unsigned int)strlen(c->cn)));
	GNUTLS_OK(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS,
						      &ip, sizeof(ip),
						      GNUTLS_FSAN_SET));
	GNUTLS_OK(gnutls_x509_crt_set_basic_constraints(crt, 0, -1));
	GNUTLS_OK(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE));
	GNUTLS_OK(gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER,
						      0));
	GNUTLS_OK(gnutls_x509_crt_set_key(crt, key));
	GNUTLS_OK(gnutls_x509_crt_sign2(crt, crt, key,
					c->pk == GNUTLS_PK_EDDSA_ED25519 ?
						GNUTLS_DIG_UNKNOWN :
						GNUTLS_DIG_SHA256,
					0));

	GNUTLS_OK(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &pem));
	put_file(fx->cert, pem.data, pem.size);
	gnutls_free(pem.data);
	/* Ed25519 has no legacy PEM form: PKCS #8 ("PRIVATE KEY") */
	if (c->pk == GNUTLS_PK_EDDSA_ED25519)
		GNUTLS_OK(gnutls_x509_privkey_export2_pkcs8(
			key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &pem));
	else
		GNUTLS_OK(gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM,
						      &pem));
	put_file(fx->key, pem.data, pem.size);
	gnutls_free(pem.data);
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
}

void
qs_inproc_notes(uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = i % 50 == 49 ? '\n' : (uint8_t)('0' + (i / 50 + i) % 75);
}

void
qs_inproc_files_put(const struct qs_inproc_files *fx, const char *rel,
		    const void *data, size_t len)
{
	char path[PATH_MAX], *slash;

	join(path, fx->docroot, rel);
	if (strchr(rel, '/') != NULL) {
		slash = strrchr(path, '/');
		*slash = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			qs_inproc_die("cannot mkdir", strerror(errno));
		*slash = '/';
	}
	put_file(path, data, len);
}

void
qs_inproc_files_make(struct qs_inproc_files *fx, const char *name,
		     const struct qs_inproc_cert *cert, size_t notes_len)
{
	const char *tmp = getenv("TMPDIR");
	uint8_t *notes = malloc(notes_len);

	snprintf(fx->dir, sizeof(fx->dir), "%s/qs-%s-XXXXXX",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp", name);
	if (notes == NULL || mkdtemp(fx->dir) == NULL)
		qs_inproc_die("cannot make a temporary directory", strerror(errno));
	join(fx->cert, fx->dir, "cert.pem");
	join(fx->key, fx->dir, "key.pem");
	join(fx->docroot, fx->dir, "www");
	make_cert(fx, cert);
	if (mkdir(fx->docroot, 0755) != 0)
		qs_inproc_die("cannot mkdir", strerror(errno));
	qs_inproc_files_put(fx, "index.html", QS_INPROC_INDEX_HTML,
			    sizeof(QS_INPROC_INDEX_HTML) - 1);
	qs_inproc_notes(notes, notes_len);
	qs_inproc_files_put(fx, "notes.txt", notes, notes_len);
	free(notes);
}

static int
rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb; (void)type; (void)ftw;
	if (remove(path) != 0)
		fprintf(stderr, "%s: cannot remove '%s': %s\n",
			program_invocation_short_name, path, strerror(errno));
	return 0;
}

void
qs_inproc_files_remove(struct qs_inproc_files *fx)
{
	if (fx->dir[0] != '\0')
		nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	fx->dir[0] = '\0';
}

/* ---- the server ---- */

void
qs_inproc_config(struct qs_inproc *s, const struct qs_inproc_files *fx,
		 unsigned int max_conns)
{
	char err[QS_ERR_LEN], n[16];

	qs_config_defaults(&s->cfg);
	qs_frames_listen(&s->cfg.listen);
	snprintf(n, sizeof(n), "%u", max_conns);
	if (qs_config_set(&s->cfg, "tls", "cert", fx->cert, err, sizeof(err)) != 0 ||
	    qs_config_set(&s->cfg, "tls", "key", fx->key, err, sizeof(err)) != 0 ||
	    qs_config_set(&s->cfg, "http", "docroot", fx->docroot, err,
			  sizeof(err)) != 0 ||
	    qs_config_set(&s->cfg, "quic", "max_conns", n, err, sizeof(err)) != 0)
		qs_inproc_die("configuration", err);
	for (size_t i = 0; i < sizeof(s->cfg.reset_secret); i++)
		s->cfg.reset_secret[i] = (uint8_t)(0x40 + i);
	s->cfg.reset_secret_set = true;
}

static uint16_t
capture_burst(struct qs_tx *tx, uint16_t pi, struct rte_mbuf **pkts, uint16_t n)
{
	struct qs_inproc *s = qs_container_of(tx, struct qs_inproc, tx);

	(void)pi;
	for (uint16_t i = 0; i < n; i++) {
		if (s->n_captured < QS_INPROC_CAPTURE_MAX) {
			s->captured[s->n_captured++] = pkts[i];
		} else {
			s->capture_overflow++;
			rte_pktmbuf_free(pkts[i]);
		}
	}
	return n;
}

void
qs_inproc_init(struct qs_inproc *s, const char *name, unsigned int n_mbufs,
	       uint64_t (*clock)(void))
{
	char err[QS_ERR_LEN];

	if (qs_cid_codec_init(&s->codec, s->cfg.cid_format, 1, err, sizeof(err)) != 0)
		qs_inproc_die("cid codec", err);
	if (qs_stateless_init(&s->cfg) != 0)
		qs_inproc_die("qs_stateless_init", NULL);
	if (qs_tls_init(&s->cfg, err, sizeof(err)) != 0)
		qs_inproc_die("qs_tls_init", err);
	if (qs_tls_enabled() &&
	    (s->tls = qs_tls_creds_load(&s->cfg, 1, err, sizeof(err))) == NULL)
		qs_inproc_die("qs_tls_creds_load", err);
	s->content = qs_content_load(s->cfg.docroot,
				     (uint64_t)s->cfg.docroot_max_mb << 20, 1,
				     err, sizeof(err));
	if (s->content == NULL)
		qs_inproc_die("qs_content_load", err);
	s->h3.content = s->content;
	qs_h3_global_init();
	s->n_mbufs = n_mbufs;
	s->pool = rte_pktmbuf_pool_create(name, n_mbufs, 0, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE,
					  (int)rte_socket_id());
	if (s->pool == NULL)
		qs_inproc_die("mbuf pool", rte_strerror(rte_errno));

	s->ports[0].port_id = 0;
	s->ports[0].nb_queues = 1;
	rte_ether_addr_copy(&qs_frames_our_mac, &s->ports[0].caps.mac);
	qs_ratelimit_init(&s->reset_limit, s->cfg.reset_rate, s->cfg.reset_burst);
	s->tx.ports = s->ports;
	s->tx.port_index = s->port_index;
	s->tx.n_ports = 1;
	s->tx.stats = &s->stats;
	s->tx.burst = capture_burst;
	s->clock = clock;
	s->env = (struct qs_env){
		.cfg = &s->cfg,
		.tls = s->tls,
		.codec = &s->codec,
		.pool = s->pool,
		.worker = 0,
		.app = &qs_h3_app_ops,
		.app_ctx = &s->h3,
		.now = qs_inproc_now(s),
		.alloc = &s->alloc,
		.stats = &s->stats,
		.tx = &s->tx,
		.reset_limit = &s->reset_limit,
	};
	/* the workers' allocator, as small as a few connections need */
	if (qs_alloc_init(&s->alloc, QS_INPROC_ALLOC_REGION) != 0)
		qs_inproc_die("qs_alloc_init", NULL);
}

void
qs_inproc_start(struct qs_inproc *s)
{
	s->env.now = qs_inproc_now(s);
	if (qs_server_init(&s->srv, &s->env, (int)rte_socket_id()) != 0)
		qs_inproc_die("qs_server_init", NULL);
	s->srv_up = true;
}

unsigned int
qs_inproc_fini(struct qs_inproc *s)
{
	unsigned int missing;

	if (s->srv_up)
		qs_server_fini(&s->srv);
	s->srv_up = false;
	qs_tx_discard(&s->tx);
	qs_h3_lcore_fini(&s->h3);
	/* every connection is gone: so is everything its libraries held */
	if (s->alloc.in_use != 0)
		qs_inproc_die("ngtcp2 or nghttp3 objects still allocated after "
			      "the server ended", NULL);
	qs_alloc_fini(&s->alloc);
	/* frames captured and never taken count as lost */
	missing = s->n_mbufs - rte_mempool_avail_count(s->pool);
	for (unsigned int i = 0; i < s->n_captured; i++)
		rte_pktmbuf_free(s->captured[i]);
	s->n_captured = 0;
	rte_mempool_free(s->pool);
	s->pool = NULL;
	/* every connection and response is gone: so is every hold */
	if (s->tls != NULL && qs_holds_total(&s->tls->holds) != 0)
		qs_inproc_die("TLS credentials still held after the server "
			      "ended", NULL);
	if (qs_holds_total(&s->content->holds) != 0)
		qs_inproc_die("content store still held after the server ended",
			      NULL);
	qs_tls_creds_free(s->tls);
	s->tls = NULL;
	qs_content_free(s->content);
	s->content = NULL;
	qs_tls_fini();
	return missing;
}

const char *
qs_inproc_input(struct qs_inproc *s, const struct qs_inproc_addr *src,
		uint8_t ecn, const uint8_t *payload, size_t len)
{
	uint8_t frame[QS_FRAME_MAX];
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	struct qs_pkt_meta meta;
	struct rte_mbuf *m;
	const char *why = NULL;
	size_t flen;

	if (src->ipv6) {
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(eth + 1);

		flen = qs_frame_udp6(frame, src->v6, qs_frames_our_v6, src->port,
				     QS_FRAMES_OUR_PORT, payload, len);
		ip->vtc_flow |= rte_cpu_to_be_32((uint32_t)ecn << 20);
	} else {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);

		flen = qs_frame_udp4(frame, src->v4, qs_frames_our_v4, src->port,
				     QS_FRAMES_OUR_PORT, payload, len);
		ip->type_of_service = ecn;
		qs_frame_ipv4_fix_cksum(frame);
	}
	rte_ether_addr_copy(src->mac, &eth->src_addr);
	m = qs_frames_mbuf(s->pool, frame, flen);
	if (m == NULL)
		return "no mbuf for a client datagram";
	m->port = s->ports[0].port_id;
	if (qs_net_classify(rte_pktmbuf_mtod(m, const uint8_t *),
			    rte_pktmbuf_data_len(m), &s->cfg.listen,
			    &s->ports[0].caps.mac, &meta) != QS_PKT_QUIC) {
		why = "a client datagram does not classify as QUIC";
	} else {
		qs_net_meta_to_mbuf(m, &meta);
		if (!qs_net_ipv4_hdr_ok(m) || !qs_net_udp_cksum_ok(m))
			why = "a client datagram fails the owner's checksums";
	}
	if (why != NULL) {
		rte_pktmbuf_free(m);
		return why;
	}
	s->env.now = qs_inproc_now(s);
	qs_server_input(&s->srv, m);
	return NULL;
}

void
qs_inproc_step(struct qs_inproc *s, bool run)
{
	s->env.now = qs_inproc_now(s);
	if (run)
		qs_server_run(&s->srv);
	qs_tx_flush_all(&s->tx);
}

const char *
qs_inproc_frame_parse(const struct rte_mbuf *m, struct qs_inproc_frame *f)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint16_t len = rte_pktmbuf_data_len(m);
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)p;
	const struct rte_ipv4_hdr *ip4 = (const struct rte_ipv4_hdr *)(eth + 1);
	const struct rte_ipv6_hdr *ip6 = (const struct rte_ipv6_hdr *)(eth + 1);
	const struct rte_udp_hdr *udp;
	size_t l4_len;

	if (m->nb_segs != 1 || rte_pktmbuf_pkt_len(m) != len)
		return "one segment";
	if (len < RTE_ETHER_HDR_LEN + sizeof(*ip4) + sizeof(*udp))
		return "frame length";
	if (!rte_is_same_ether_addr(&eth->src_addr, &qs_frames_our_mac))
		return "source MAC";
	f->dst_mac = &eth->dst_addr;
	if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV4)) {
		l4_len = len - RTE_ETHER_HDR_LEN - sizeof(*ip4);
		if (ip4->version_ihl != RTE_IPV4_VHL_DEF ||
		    ip4->next_proto_id != IPPROTO_UDP ||
		    rte_be_to_cpu_16(ip4->total_length) != len - RTE_ETHER_HDR_LEN)
			return "IPv4 header";
		if (rte_raw_cksum(ip4, sizeof(*ip4)) != 0xffff)
			return "IPv4 header checksum";
		if (ip4->src_addr != qs_frames_our_v4)
			return "IPv4 source";
		udp = (const struct rte_udp_hdr *)(ip4 + 1);
		if (rte_ipv4_udptcp_cksum_verify(ip4, udp) != 0)
			return "UDP checksum";
		f->ipv6 = false;
		f->dst_v4 = ip4->dst_addr;
		f->ecn = ip4->type_of_service & 3;
	} else if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_IPV6)) {
		if (len < RTE_ETHER_HDR_LEN + sizeof(*ip6) + sizeof(*udp))
			return "frame length";
		l4_len = len - RTE_ETHER_HDR_LEN - sizeof(*ip6);
		if (rte_be_to_cpu_32(ip6->vtc_flow) >> 28 != 6 ||
		    ip6->proto != IPPROTO_UDP ||
		    rte_be_to_cpu_16(ip6->payload_len) != l4_len)
			return "IPv6 header";
		if (memcmp(ip6->src_addr, qs_frames_our_v6, 16) != 0)
			return "IPv6 source";
		udp = (const struct rte_udp_hdr *)(ip6 + 1);
		if (rte_ipv6_udptcp_cksum_verify(ip6, udp) != 0)
			return "UDP checksum";
		f->ipv6 = true;
		f->dst_v6 = ip6->dst_addr;
		f->ecn = (rte_be_to_cpu_32(ip6->vtc_flow) >> 20) & 3;
	} else {
		return "EtherType";
	}
	if (rte_be_to_cpu_16(udp->src_port) != QS_FRAMES_OUR_PORT)
		return "UDP source port";
	if (rte_be_to_cpu_16(udp->dgram_len) != l4_len)
		return "UDP length";
	f->dport = rte_be_to_cpu_16(udp->dst_port);
	f->payload = (const uint8_t *)(udp + 1);
	f->len = (uint16_t)(l4_len - sizeof(*udp));
	return NULL;
}

/* ---- the client's callbacks: they only record ---- */

static int
cl_recv_header(nghttp3_conn *h3, int64_t stream_id, int32_t token,
	       nghttp3_rcbuf *name, nghttp3_rcbuf *value, uint8_t flags,
	       void *user_data, void *stream_user_data)
{
	struct qs_inproc_req *r = stream_user_data;
	nghttp3_vec n = nghttp3_rcbuf_get_buf(name);
	nghttp3_vec v = nghttp3_rcbuf_get_buf(value);

	(void)h3; (void)stream_id; (void)flags; (void)user_data;
	if (r == NULL)
		return 0;
	if (token == NGHTTP3_QPACK_TOKEN__STATUS) {
		r->status = 0;
		for (size_t i = 0; i < v.len; i++)
			r->status = r->status * 10 + (unsigned int)(v.base[i] - '0');
	} else if (token == NGHTTP3_QPACK_TOKEN_CONTENT_TYPE) {
		snprintf(r->content_type, sizeof(r->content_type), "%.*s",
			 (int)v.len, (const char *)v.base);
	} else if (token == NGHTTP3_QPACK_TOKEN_CONTENT_LENGTH) {
		r->has_length = true;
		r->content_length = strtoull((const char *)v.base, NULL, 10);
	} else if (n.len == 5 && memcmp(n.base, "allow", 5) == 0) {
		snprintf(r->allow, sizeof(r->allow), "%.*s", (int)v.len,
			 (const char *)v.base);
	}
	return 0;
}

static int
cl_recv_data(nghttp3_conn *h3, int64_t stream_id, const uint8_t *data,
	     size_t datalen, void *user_data, void *stream_user_data)
{
	struct qs_inproc_client *c = user_data;
	struct qs_inproc_req *r = stream_user_data;

	(void)h3;
	qs_quic_consume(c->q.conn, stream_id, datalen);
	if (r == NULL)
		return 0;
	if (r->body_len + datalen > r->body_cap) {
		size_t cap = r->body_cap ? r->body_cap : 4096;
		uint8_t *p;

		while (cap < r->body_len + datalen)
			cap *= 2;
		p = realloc(r->body, cap);
		if (p == NULL)
			return NGHTTP3_ERR_CALLBACK_FAILURE;
		r->body = p;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, data, datalen);
	r->body_len += datalen;
	return 0;
}

static int
cl_end_stream(nghttp3_conn *h3, int64_t stream_id, void *user_data,
	      void *stream_user_data)
{
	struct qs_inproc_req *r = stream_user_data;

	(void)h3; (void)stream_id; (void)user_data;
	if (r != NULL)
		r->ended = true;
	return 0;
}

static int
cl_stream_close(nghttp3_conn *h3, int64_t stream_id, uint64_t app_error_code,
		void *user_data, void *stream_user_data)
{
	struct qs_inproc_req *r = stream_user_data;

	(void)h3; (void)stream_id; (void)user_data;
	if (r != NULL) {
		r->closed = true;
		r->error = app_error_code;
	}
	return 0;
}

static int
cl_shutdown(nghttp3_conn *h3, int64_t id, void *user_data)
{
	struct qs_inproc_client *c = user_data;

	(void)h3;
	c->goaways++;
	c->goaway_id = id;
	return 0;
}

int
qs_inproc_client_h3_start(struct qs_inproc_client *c)
{
	nghttp3_callbacks cb;

	qs_quic_h3_callbacks_init(&cb);
	cb.recv_header = cl_recv_header;
	cb.recv_data = cl_recv_data;
	cb.end_stream = cl_end_stream;
	cb.stream_close = cl_stream_close;
	cb.shutdown = cl_shutdown;
	return qs_quic_h3_start(&c->q, false, &cb, 0);
}

static int
cl_recv_rx_key(ngtcp2_conn *conn, ngtcp2_crypto_level level, void *user_data)
{
	(void)conn;
	if (level != NGTCP2_CRYPTO_LEVEL_APPLICATION)
		return 0;
	/* after 0-RTT the session exists already */
	return qs_inproc_client_h3_start(user_data) == 0
		? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
}

/* ---- the client's life ---- */

static void
sockaddr_of(union qs_inproc_sockaddr *sa, bool ipv6, uint32_t v4,
	    const uint8_t *v6, uint16_t port)
{
	memset(sa, 0, sizeof(*sa));
	if (ipv6) {
		sa->in6.sin6_family = AF_INET6;
		memcpy(&sa->in6.sin6_addr, v6, 16);
		sa->in6.sin6_port = htons(port);
	} else {
		sa->in.sin_family = AF_INET;
		sa->in.sin_addr.s_addr = v4;
		sa->in.sin_port = htons(port);
	}
}

void
qs_inproc_client_addrs(struct qs_inproc_client *c,
		       const struct qs_inproc_addr *src)
{
	c->src = *src;
	sockaddr_of(&c->local, src->ipv6, src->v4, src->v6, src->port);
	sockaddr_of(&c->remote, src->ipv6, qs_frames_our_v4, qs_frames_our_v6,
		    QS_FRAMES_OUR_PORT);
	c->addrlen = src->ipv6 ? sizeof(struct sockaddr_in6)
			       : sizeof(struct sockaddr_in);
}

void
qs_inproc_client_rebind(struct qs_inproc_client *c,
			const struct qs_inproc_addr *src)
{
	ngtcp2_addr addr;

	qs_inproc_client_addrs(c, src);
	ngtcp2_addr_init(&addr, &c->local.sa, c->addrlen);
	ngtcp2_conn_set_local_addr(c->q.conn, &addr);
}

ngtcp2_path
qs_inproc_client_path(struct qs_inproc_client *c)
{
	return (ngtcp2_path){
		.local = {&c->local.sa, c->addrlen},
		.remote = {&c->remote.sa, c->addrlen},
	};
}

/* The TLS session: ALPN h3, and the chain (the certificate itself) and
 * the IP address in it verified when conf->ca names the certificate. */
static int
client_tls(struct qs_inproc_client *c, bool big_hello)
{
	gnutls_datum_t alpn = {.data = (unsigned char *)"h3", .size = 2};
	const struct qs_inproc_client_conf *conf = c->conf;
	unsigned int flags = GNUTLS_CLIENT;
	const char *perr = NULL;
	gnutls_session_t s;

	if (conf->early_data)
		flags |= GNUTLS_ENABLE_EARLY_DATA | GNUTLS_NO_END_OF_EARLY_DATA;
	if (gnutls_certificate_allocate_credentials(&c->cred) != 0 ||
	    (conf->ca != NULL &&
	     gnutls_certificate_set_x509_trust_file(c->cred, conf->ca,
						    GNUTLS_X509_FMT_PEM) != 1) ||
	    gnutls_priority_init(&c->priority,
				 big_hello ? TLS_PRIORITY_BIG_HELLO : TLS_PRIORITY,
				 &perr) != 0 ||
	    gnutls_init(&s, flags) != 0)
		return -1;
	c->q.tls = s;
	if (gnutls_priority_set(s, c->priority) != 0 ||
	    qs_quic_tls_configure(s, false) != 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, c->cred) != 0 ||
	    gnutls_alpn_set_protocols(s, &alpn, 1, GNUTLS_ALPN_MANDATORY) != 0)
		return -1;
	if (conf->ca != NULL)
		gnutls_session_set_verify_cert(s, QS_INPROC_AUTHORITY, 0);
	gnutls_session_set_ptr(s, &c->q.conn_ref);
	ngtcp2_conn_set_tls_native_handle(c->q.conn, s);
	return 0;
}

int
qs_inproc_client_new(struct qs_inproc_client *c, struct qs_inproc *s,
		     const struct qs_inproc_client_conf *conf,
		     const struct qs_inproc_addr *src, bool big_hello,
		     const ngtcp2_vec *token)
{
	ngtcp2_transport_params params;
	ngtcp2_callbacks cb;
	ngtcp2_settings settings;
	ngtcp2_cid scid, dcid;
	ngtcp2_path path;

	qs_inproc_client_free(c);
	qs_quic_conn_init(&c->q);
	c->s = s;
	c->conf = conf;
	c->expiry = UINT64_MAX;
	qs_inproc_client_addrs(c, src);
	scid.datalen = CLIENT_SCID_LEN;
	dcid.datalen = CLIENT_DCID_LEN;
	if (gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen) != 0 ||
	    gnutls_rnd(GNUTLS_RND_RANDOM, dcid.data, dcid.datalen) != 0)
		return -1;

	qs_quic_callbacks_init(&cb, false);
	cb.recv_rx_key = cl_recv_rx_key;
	if (conf->callbacks != NULL)
		conf->callbacks(&cb);

	ngtcp2_settings_default(&settings);
	settings.initial_ts = qs_inproc_now(s);
	settings.max_tx_udp_payload_size = QS_INPROC_UDP_MAX;
	if (token != NULL)
		settings.token = *token;

	ngtcp2_transport_params_default(&params);
	params.initial_max_stream_data_bidi_local = conf->max_stream_data;
	params.initial_max_stream_data_bidi_remote = conf->max_stream_data;
	params.initial_max_stream_data_uni = conf->max_stream_data;
	params.initial_max_data = conf->max_data;
	params.initial_max_streams_bidi = 0;
	params.initial_max_streams_uni = 100;
	params.max_idle_timeout = 30 * NGTCP2_SECONDS;
	params.active_connection_id_limit = 7;

	path = qs_inproc_client_path(c);
	if (ngtcp2_conn_client_new(&c->q.conn, &dcid, &scid, &path,
				   NGTCP2_PROTO_VER_V1, &cb, &settings, &params,
				   NULL, c) != 0) {
		c->q.conn = NULL;
		return -1;
	}
	return client_tls(c, big_hello);
}

void
qs_inproc_client_free(struct qs_inproc_client *c)
{
	if (c->q.h3 != NULL)
		nghttp3_conn_del(c->q.h3);
	if (c->q.conn != NULL)
		ngtcp2_conn_del(c->q.conn);
	if (c->q.tls != NULL)
		gnutls_deinit(c->q.tls);
	if (c->priority != NULL)
		gnutls_priority_deinit(c->priority);
	if (c->cred != NULL)
		gnutls_certificate_free_credentials(c->cred);
	for (size_t i = 0; i < c->n_reqs; i++)
		free(c->reqs[i].body);
	memset(c, 0, sizeof(*c));
}

unsigned int
qs_inproc_client_write(struct qs_inproc_client *c,
		       uint8_t (*bufs)[QS_INPROC_UDP_MAX], size_t *lens,
		       uint8_t *ecn, unsigned int max, int *err)
{
	unsigned int n;

	for (n = 0; n < max; n++) {
		ngtcp2_path_storage ps;
		ngtcp2_pkt_info pi;
		struct qs_quic_err qerr;
		ngtcp2_ssize nw;

		ngtcp2_path_storage_zero(&ps);
		nw = qs_quic_write_pkt(&c->q, bufs[n], QS_INPROC_UDP_MAX, &ps.path,
				       &pi, qs_inproc_now(c->s), &qerr);
		if (nw < 0 && err != NULL)
			*err = qerr.code;
		if (nw <= 0)
			break;
		lens[n] = (size_t)nw;
		if (ecn != NULL)
			ecn[n] = pi.ecn;
	}
	return n;
}

unsigned int
qs_inproc_client_flush(struct qs_inproc_client *c)
{
	static uint8_t bufs[QS_INPROC_BURST][QS_INPROC_UDP_MAX];
	size_t lens[QS_INPROC_BURST];
	uint8_t ecn[QS_INPROC_BURST];
	unsigned int n;

	if (!qs_inproc_client_live(c))
		return 0;
	n = qs_inproc_client_write(c, bufs, lens, ecn, QS_INPROC_BURST, &c->err);
	/* the server runs after the last, as a worker after a received burst */
	for (unsigned int i = 0; i < n; i++)
		c->conf->send(c, bufs[i], lens[i], ecn[i], i + 1 == n);
	c->expiry = ngtcp2_conn_get_expiry(c->q.conn);
	return n;
}

void
qs_inproc_client_read(struct qs_inproc_client *c, const uint8_t *payload,
		      size_t len, uint8_t ecn)
{
	ngtcp2_pkt_info pi = {.ecn = ecn};
	ngtcp2_path path = qs_inproc_client_path(c);
	int rv = qs_quic_read_pkt(&c->q, &path, &pi, payload, len,
				  qs_inproc_now(c->s));

	if (rv != 0 && c->err == 0)
		c->err = rv;
	c->expiry = ngtcp2_conn_get_expiry(c->q.conn);
}

bool
qs_inproc_requests_done(const struct qs_inproc_client *c)
{
	for (size_t i = 0; i < c->n_reqs; i++)
		if (!c->reqs[i].closed)
			return false;
	return true;
}

void
qs_inproc_client_timers(struct qs_inproc_client *c)
{
	int rv;

	if (!qs_inproc_client_live(c) || c->expiry > qs_inproc_now(c->s))
		return;
	rv = ngtcp2_conn_handle_expiry(c->q.conn, qs_inproc_now(c->s));
	if (rv != 0)
		c->err = rv;
	c->expiry = ngtcp2_conn_get_expiry(c->q.conn);
}

bool
qs_inproc_client_close(struct qs_inproc_client *c)
{
	uint8_t buf[QS_INPROC_UDP_MAX];
	ngtcp2_path_storage ps;
	ngtcp2_pkt_info pi;
	ngtcp2_ssize n;

	ngtcp2_connection_close_error_set_application_error(
		&c->q.last_error, NGHTTP3_H3_NO_ERROR, NULL, 0);
	ngtcp2_path_storage_zero(&ps);
	n = ngtcp2_conn_write_connection_close(c->q.conn, &ps.path, &pi, buf,
					       sizeof(buf), &c->q.last_error,
					       qs_inproc_now(c->s));
	if (n <= 0)
		return false;
	c->closed = true;
	c->conf->send(c, buf, (size_t)n, pi.ecn, true);
	return true;
}

uint64_t
qs_inproc_next_expiry(const struct qs_inproc *s,
		      const struct qs_inproc_client *c)
{
	uint64_t next = qs_inproc_client_live(c) ? c->expiry : UINT64_MAX;
	struct qs_timer *t = qs_timers_first(&s->srv.set.timers);

	return t != NULL && t->expiry < next ? t->expiry : next;
}

struct qs_inproc_req *
qs_inproc_request_nv(struct qs_inproc_client *c, const nghttp3_nv *nva,
		     size_t n, const nghttp3_data_reader *body)
{
	struct qs_inproc_req *r;
	int64_t sid;

	if (c->n_reqs == QS_INPROC_REQS || c->q.h3 == NULL)
		return NULL;
	r = &c->reqs[c->n_reqs];
	memset(r, 0, sizeof(*r));
	if (ngtcp2_conn_open_bidi_stream(c->q.conn, &sid, NULL) != 0 ||
	    nghttp3_conn_submit_request(c->q.h3, sid, nva, n, body, r) != 0)
		return NULL;
	r->id = sid;
	c->n_reqs++;
	return r;
}

static void
nv_set(nghttp3_nv *nv, const char *name, const char *value)
{
	*nv = (nghttp3_nv){(uint8_t *)name, (uint8_t *)value, strlen(name),
			   strlen(value), NGHTTP3_NV_FLAG_NO_COPY_NAME |
			   NGHTTP3_NV_FLAG_NO_COPY_VALUE};
}

struct qs_inproc_req *
qs_inproc_request(struct qs_inproc_client *c, const char *method,
		  const char *path, const char *extra_name,
		  const char *extra_value)
{
	nghttp3_nv nva[6] = {
		QS_INPROC_NV(":method", method),
		QS_INPROC_NV(":scheme", "https"),
		QS_INPROC_NV(":authority", QS_INPROC_AUTHORITY),
		QS_INPROC_NV(":path", path),
	};
	size_t n_nv = 4;

	if (c->q.h3 == NULL)
		return NULL;
	nv_set(&nva[n_nv++], "user-agent", c->conf->user_agent);
	if (extra_name != NULL)
		nv_set(&nva[n_nv++], extra_name, extra_value);
	return qs_inproc_request_nv(c, nva, n_nv, NULL);
}
