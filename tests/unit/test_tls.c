/* The server's TLS credentials (quic/qs_tls.c), as a client sees them:
 * - an ECDSA key on P-256, P-384 or P-521 signs through OpenSSL (an
 *   external GnuTLS key), an Ed25519 or RSA key through GnuTLS, and an
 *   ECDSA key too with [tls] signer = gnutls;
 * - with each, a full TLS 1.3 handshake against a GnuTLS client that
 *   trusts the certificate completes, the certificate verifies, and the
 *   signature scheme is the one the key's curve or type calls for; twenty
 *   handshakes in a row on the same credentials (no state left behind);
 * - a key that does not match the certificate, and a missing key file,
 *   are refused with a message naming the files. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "base/qs_config.h"
#include "quic/qs_tls.h"
#include "qs_inproc.h"
#include "qs_test.h"

#define HANDSHAKES 20
#define ROUNDS_MAX 50

/* one direction of the in-memory transport */
struct pipe {
	uint8_t buf[64 << 10];
	size_t len;
};

struct end {
	gnutls_session_t s;
	struct pipe *in, *out;
};

static ssize_t
push(gnutls_transport_ptr_t p, const void *data, size_t len)
{
	struct end *e = p;

	if (len > sizeof(e->out->buf) - e->out->len) {
		gnutls_transport_set_errno(e->s, ENOBUFS);
		return -1;
	}
	memcpy(e->out->buf + e->out->len, data, len);
	e->out->len += len;
	return (ssize_t)len;
}

static ssize_t
pull(gnutls_transport_ptr_t p, void *data, size_t len)
{
	struct end *e = p;

	if (e->in->len == 0) {
		gnutls_transport_set_errno(e->s, EAGAIN);
		return -1;
	}
	if (len > e->in->len)
		len = e->in->len;
	memcpy(data, e->in->buf, len);
	memmove(e->in->buf, e->in->buf + len, e->in->len - len);
	e->in->len -= len;
	return (ssize_t)len;
}

static void
end_init(struct end *e, gnutls_session_t s, struct pipe *in, struct pipe *out)
{
	e->s = s;
	e->in = in;
	e->out = out;
	gnutls_transport_set_ptr(s, e);
	gnutls_transport_set_push_function(s, push);
	gnutls_transport_set_pull_function(s, pull);
}

/* One TLS 1.3 handshake between a server on creds and a client trusting
 * cert; the scheme the server signed with, or GNUTLS_SIGN_UNKNOWN when
 * it failed. */
static gnutls_sign_algorithm_t
handshake(const struct qs_tls_creds *creds, const char *cert)
{
	static struct pipe to_server, to_client;
	gnutls_certificate_credentials_t trust;
	gnutls_session_t sv, cl;
	struct end esv, ecl;
	gnutls_sign_algorithm_t scheme = GNUTLS_SIGN_UNKNOWN;
	int rs = GNUTLS_E_AGAIN, rc = GNUTLS_E_AGAIN;
	unsigned int status = 1;

	to_server.len = to_client.len = 0;
	if (gnutls_certificate_allocate_credentials(&trust) != 0)
		return scheme;
	if (gnutls_certificate_set_x509_trust_file(trust, cert,
						   GNUTLS_X509_FMT_PEM) != 1 ||
	    gnutls_init(&sv, GNUTLS_SERVER) != 0) {
		gnutls_certificate_free_credentials(trust);
		return scheme;
	}
	if (gnutls_init(&cl, GNUTLS_CLIENT) != 0) {
		gnutls_deinit(sv);
		gnutls_certificate_free_credentials(trust);
		return scheme;
	}
	gnutls_priority_set_direct(sv, "NORMAL:-VERS-ALL:+VERS-TLS1.3", NULL);
	gnutls_priority_set_direct(cl, "NORMAL:-VERS-ALL:+VERS-TLS1.3", NULL);
	gnutls_credentials_set(sv, GNUTLS_CRD_CERTIFICATE, creds->cert);
	gnutls_credentials_set(cl, GNUTLS_CRD_CERTIFICATE, trust);
	gnutls_session_set_verify_cert(cl, NULL, 0);
	end_init(&esv, sv, &to_server, &to_client);
	end_init(&ecl, cl, &to_client, &to_server);
	for (int i = 0; i < ROUNDS_MAX && (rs != 0 || rc != 0); i++) {
		if (rc != 0)
			rc = gnutls_handshake(cl);
		if (rs != 0)
			rs = gnutls_handshake(sv);
		if ((rc < 0 && gnutls_error_is_fatal(rc)) ||
		    (rs < 0 && gnutls_error_is_fatal(rs)))
			break;
	}
	if (rs == 0 && rc == 0 &&
	    gnutls_certificate_verify_peers2(cl, &status) == 0 && status == 0)
		scheme = gnutls_sign_algorithm_get(cl);
	else
		test_fail(__FILE__, __LINE__, "handshake: server %s, client %s, "
			  "verify status %u", gnutls_strerror(rs),
			  gnutls_strerror(rc), status);
	gnutls_deinit(cl);
	gnutls_deinit(sv);
	gnutls_certificate_free_credentials(trust);
	return scheme;
}

/* signer: the [tls] signer word, NULL for the default */
static struct qs_tls_creds *
load_with(const char *cert, const char *key, const char *signer, char *err,
	  size_t errlen)
{
	struct qs_config cfg;

	qs_config_defaults(&cfg);
	if (qs_config_set(&cfg, "tls", "cert", cert, err, errlen) != 0 ||
	    qs_config_set(&cfg, "tls", "key", key, err, errlen) != 0 ||
	    (signer != NULL &&
	     qs_config_set(&cfg, "tls", "signer", signer, err, errlen) != 0))
		return NULL;
	return qs_tls_creds_load(&cfg, 2, err, errlen);
}

static struct qs_tls_creds *
load(const char *cert, const char *key, char *err, size_t errlen)
{
	return load_with(cert, key, NULL, err, errlen);
}

static void
test_key(const char *name, const char *config_signer, gnutls_pk_algorithm_t pk,
	 unsigned int bits, const char *signer, gnutls_sign_algorithm_t scheme)
{
	struct qs_inproc_cert c = {.cn = "quicsteer test", .not_before = 0,
				   .not_after = 0, .pk = pk, .bits = bits};
	struct qs_inproc_files fx;
	struct qs_tls_creds *creds;
	unsigned int ok = 0;
	char err[512] = "";

	c.not_before = time(NULL) - 3600;
	c.not_after = time(NULL) + 86400;
	qs_inproc_files_make(&fx, "tls", &c, 0);
	TEST_CONTEXT("%s key, signer %s", name,
		     config_signer ? config_signer : "(default)");
	creds = load_with(fx.cert, fx.key, config_signer, err, sizeof(err));
	CHECK(creds != NULL);
	if (creds != NULL) {
		CHECK_CONTAINS(creds->signer, signer);
		/* the credentials sign with the key OpenSSL holds */
		CHECK_EQ(creds->key != NULL, strcmp(signer, "OpenSSL") == 0);
		if (creds->key != NULL)
			CHECK_EQ(gnutls_privkey_get_type(creds->key),
				 GNUTLS_PRIVKEY_EXT);
		for (int i = 0; i < HANDSHAKES; i++)
			ok += handshake(creds, fx.cert) == scheme;
		CHECK_EQ(ok, HANDSHAKES);
		qs_tls_creds_free(creds);
	} else {
		test_fail(__FILE__, __LINE__, "%s", err);
	}
	TEST_CONTEXT_CLEAR();
	qs_inproc_files_remove(&fx);
}

static void
test_refusals(void)
{
	struct qs_inproc_cert c = {.cn = "quicsteer test"};
	struct qs_inproc_files a, b;
	char err[512] = "", missing[PATH_MAX + 16];

	c.not_before = time(NULL) - 3600;
	c.not_after = time(NULL) + 86400;
	qs_inproc_files_make(&a, "tls-a", &c, 0);
	qs_inproc_files_make(&b, "tls-b", &c, 0);
	/* a's certificate with b's key: both ECDSA P-256, not a pair */
	CHECK(load(a.cert, b.key, err, sizeof(err)) == NULL);
	CHECK_CONTAINS(err, "does not match");
	CHECK(strstr(err, b.key) != NULL && strstr(err, a.cert) != NULL);
	snprintf(missing, sizeof(missing), "%s.missing", a.key);
	err[0] = '\0';
	CHECK(load(a.cert, missing, err, sizeof(err)) == NULL);
	CHECK(strstr(err, missing) != NULL);
	qs_inproc_files_remove(&a);
	qs_inproc_files_remove(&b);
}

int
main(void)
{
	test_key("ECDSA P-256", NULL, GNUTLS_PK_ECDSA,
		 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), "OpenSSL",
		 GNUTLS_SIGN_ECDSA_SECP256R1_SHA256);
	test_key("ECDSA P-256", "gnutls", GNUTLS_PK_ECDSA,
		 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), "GnuTLS",
		 GNUTLS_SIGN_ECDSA_SECP256R1_SHA256);
	test_key("ECDSA P-384", "openssl", GNUTLS_PK_ECDSA,
		 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP384R1), "OpenSSL",
		 GNUTLS_SIGN_ECDSA_SECP384R1_SHA384);
	test_key("ECDSA P-521", NULL, GNUTLS_PK_ECDSA,
		 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP521R1), "OpenSSL",
		 GNUTLS_SIGN_ECDSA_SECP521R1_SHA512);
	test_key("Ed25519", NULL, GNUTLS_PK_EDDSA_ED25519, 256, "GnuTLS",
		 GNUTLS_SIGN_EDDSA_ED25519);
	test_key("RSA", NULL, GNUTLS_PK_RSA, 2048, "GnuTLS", GNUTLS_SIGN_RSA_PSS_RSAE_SHA256);
	test_refusals();
	return test_done("test_tls");
}
