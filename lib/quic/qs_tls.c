#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <rte_common.h>

#include "base/qs_log.h"
#include "quic/qs_quic_glue.h"
#include "quic/qs_tls.h"

/* TLS 1.3 only; the compat mode's fake change_cipher_spec has no place in
 * QUIC (RFC 9001 8.4). */
#define QS_TLS_PRIORITY \
	"%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3:" \
	"-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-CCM:" \
	"-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-SECP521R1"

static const char h3_alpn[] = "h3";

/* read-only after qs_tls_init */
static gnutls_priority_t priority;
static gnutls_datum_t ticket_key;

bool
qs_tls_enabled(void)
{
	return priority != NULL;
}

int
qs_tls_init(const struct qs_config *cfg, char *err, size_t errlen)
{
	const char *perr = NULL;
	int rv;

	if (cfg->cert[0] == '\0')
		return 0;
	rv = gnutls_priority_init(&priority, QS_TLS_PRIORITY, &perr);
	if (rv != 0) {
		snprintf(err, errlen, "TLS priority at '%s': %s", perr ? perr : "",
			 gnutls_strerror(rv));
		priority = NULL;
		return -1;
	}
	if (cfg->ticket_key_set) {
		ticket_key.data = gnutls_malloc(QS_TICKET_KEY_LEN);
		if (ticket_key.data == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		memcpy(ticket_key.data, cfg->ticket_key, QS_TICKET_KEY_LEN);
		ticket_key.size = QS_TICKET_KEY_LEN;
	} else {
		rv = gnutls_session_ticket_key_generate(&ticket_key);
		if (rv != 0) {
			snprintf(err, errlen, "session ticket key: %s",
				 gnutls_strerror(rv));
			goto fail;
		}
		RTE_LOG(INFO, QS_EP,
			"[tls] ticket_key is random; set it so resumption and "
			"0-RTT survive restarts and work across nodes\n");
	}
	return 0;
fail:
	qs_tls_fini();
	return -1;
}

void
qs_tls_fini(void)
{
	if (ticket_key.data != NULL) {
		gnutls_memset(ticket_key.data, 0, ticket_key.size);
		gnutls_free(ticket_key.data);
		ticket_key.data = NULL;
	}
	if (priority != NULL)
		gnutls_priority_deinit(priority);
	priority = NULL;
}

/* ---- handshake signatures by OpenSSL ---- */

/* An ECDSA key OpenSSL signs with, for GnuTLS's external-key hooks. */
struct ossl_signer {
	EVP_PKEY *pkey;
	gnutls_sign_algorithm_t tls13;   /* the TLS 1.3 scheme of its curve */
	unsigned int bits;
};

static const struct {
	const char *group;               /* OpenSSL's name of the curve */
	gnutls_sign_algorithm_t tls13;
} ossl_curves[] = {
	{"prime256v1", GNUTLS_SIGN_ECDSA_SECP256R1_SHA256},
	{"secp384r1", GNUTLS_SIGN_ECDSA_SECP384R1_SHA384},
	{"secp521r1", GNUTLS_SIGN_ECDSA_SECP521R1_SHA512},
};

/* An encrypted key is not for this path: no prompt, GnuTLS says why. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf; (void)size; (void)rwflag; (void)u;
	return -1;
}

static void
ossl_signer_free(struct ossl_signer *sg)
{
	if (sg != NULL)
		EVP_PKEY_free(sg->pkey);
	free(sg);
}

/* The key at path when OpenSSL reads it and it is ECDSA on a curve of
 * ossl_curves; else NULL. */
static struct ossl_signer *
ossl_signer_new(const char *path)
{
	struct ossl_signer *sg;
	char group[64];
	BIO *bio;

	sg = calloc(1, sizeof(*sg));
	bio = BIO_new_file(path, "r");
	if (sg == NULL || bio == NULL)
		goto fail;
	sg->pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	if (sg->pkey == NULL || EVP_PKEY_get_base_id(sg->pkey) != EVP_PKEY_EC ||
	    EVP_PKEY_get_utf8_string_param(sg->pkey, OSSL_PKEY_PARAM_GROUP_NAME,
					   group, sizeof(group), NULL) != 1)
		goto fail;
	for (size_t i = 0; i < RTE_DIM(ossl_curves); i++)
		if (strcmp(group, ossl_curves[i].group) == 0)
			sg->tls13 = ossl_curves[i].tls13;
	if (sg->tls13 == GNUTLS_SIGN_UNKNOWN)
		goto fail;
	sg->bits = (unsigned int)EVP_PKEY_get_bits(sg->pkey);
	BIO_free(bio);
	return sg;
fail:
	BIO_free(bio);
	ossl_signer_free(sg);
	return NULL;
}

/* GnuTLS hands ECDSA the hash of what it signs; the signature is DER, as
 * TLS carries it. */
static int
ossl_sign_hash(gnutls_privkey_t key, gnutls_sign_algorithm_t algo,
	       void *userdata, unsigned int flags, const gnutls_datum_t *hash,
	       gnutls_datum_t *signature)
{
	struct ossl_signer *sg = userdata;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(sg->pkey, NULL);
	size_t len = 0;
	int rv = GNUTLS_E_PK_SIGN_FAILED;

	(void)key; (void)algo; (void)flags;
	signature->data = NULL;
	if (ctx == NULL || EVP_PKEY_sign_init(ctx) != 1 ||
	    EVP_PKEY_sign(ctx, NULL, &len, hash->data, hash->size) != 1)
		goto out;
	signature->data = gnutls_malloc(len);
	if (signature->data == NULL) {
		rv = GNUTLS_E_MEMORY_ERROR;
		goto out;
	}
	if (EVP_PKEY_sign(ctx, signature->data, &len, hash->data,
			  hash->size) != 1) {
		gnutls_free(signature->data);
		signature->data = NULL;
		goto out;
	}
	signature->size = (unsigned int)len;
	rv = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	return rv;
}

static int
ossl_info(gnutls_privkey_t key, unsigned int flags, void *userdata)
{
	const struct ossl_signer *sg = userdata;
	gnutls_sign_algorithm_t algo;

	(void)key;
	if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO) {
		algo = GNUTLS_FLAGS_TO_SIGN_ALGO(flags);
		/* the scheme of our curve, or a curve-free ECDSA one (GnuTLS's
		 * key check); a hash goes with each, OpenSSL signs any */
		return algo == sg->tls13 ||
		       (gnutls_sign_get_pk_algorithm(algo) == GNUTLS_PK_ECDSA &&
			algo != GNUTLS_SIGN_ECDSA_SECP256R1_SHA256 &&
			algo != GNUTLS_SIGN_ECDSA_SECP384R1_SHA384 &&
			algo != GNUTLS_SIGN_ECDSA_SECP521R1_SHA512);
	}
	if (flags == GNUTLS_PRIVKEY_INFO_PK_ALGO)
		return GNUTLS_PK_ECDSA;
	if (flags == GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS)
		return (int)sg->bits;
	return -1;
}

static void
ossl_deinit(gnutls_privkey_t key, void *userdata)
{
	(void)key;
	ossl_signer_free(userdata);
}

/* Whether key signs what cert's public key verifies, in the TLS 1.3
 * scheme it will be asked for. */
static bool
signer_works(gnutls_privkey_t key, const gnutls_pcert_st *cert,
	     gnutls_sign_algorithm_t scheme)
{
	static const uint8_t text[] = "quicsteer signer check";
	gnutls_datum_t data = {(uint8_t *)text, sizeof(text) - 1}, sig;
	bool ok;

	if (gnutls_privkey_sign_data2(key, scheme, 0, &data, &sig) != 0)
		return false;
	ok = gnutls_pubkey_verify_data2(cert->pubkey, scheme, 0, &data,
					&sig) >= 0;
	gnutls_free(sig.data);
	return ok;
}

/* Credentials with native's chain and cfg's key signing through OpenSSL;
 * NULL (native stays) when the key is not for it or anything fails. */
static gnutls_certificate_credentials_t
ossl_creds(const struct qs_config *cfg, gnutls_certificate_credentials_t native,
	   gnutls_privkey_t *keyp)
{
	gnutls_certificate_credentials_t out = NULL;
	gnutls_x509_crt_t *crts = NULL;
	gnutls_pcert_st *pcerts = NULL;
	gnutls_privkey_t key = NULL;
	struct ossl_signer *sg;
	gnutls_sign_algorithm_t scheme;
	unsigned int n = 0, made = 0;

	sg = ossl_signer_new(cfg->key);
	if (sg == NULL)
		return NULL;
	scheme = sg->tls13;
	if (gnutls_privkey_init(&key) != 0) {
		ossl_signer_free(sg);
		return NULL;
	}
	if (gnutls_privkey_import_ext4(key, sg, NULL, ossl_sign_hash, NULL,
				       ossl_deinit, ossl_info, 0) != 0) {
		ossl_signer_free(sg);
		goto fail;
	}
	if (gnutls_certificate_get_x509_crt(native, 0, &crts, &n) != 0 ||
	    (pcerts = gnutls_calloc(n, sizeof(*pcerts))) == NULL)
		goto fail;
	for (; made < n; made++)
		if (gnutls_pcert_import_x509(&pcerts[made], crts[made], 0) != 0)
			goto fail;
	if (!signer_works(key, &pcerts[0], scheme) ||
	    gnutls_certificate_allocate_credentials(&out) != 0) {
		out = NULL;
		goto fail;
	}
	/* the credentials own the key and the certificates from here */
	if (gnutls_certificate_set_key(out, NULL, 0, pcerts, (int)n, key) != 0)
		goto fail;
	*keyp = key;
	gnutls_free(pcerts);
	for (unsigned int i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	return out;
fail:
	if (out != NULL)
		gnutls_certificate_free_credentials(out);
	for (unsigned int i = 0; i < made; i++)
		gnutls_pcert_deinit(&pcerts[i]);
	gnutls_free(pcerts);
	for (unsigned int i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	gnutls_privkey_deinit(key);
	return NULL;
}

struct qs_tls_creds *
qs_tls_creds_load(const struct qs_config *cfg, uint16_t n_workers, char *err,
		  size_t errlen)
{
	struct qs_tls_creds *creds = calloc(1, sizeof(*creds));
	gnutls_certificate_credentials_t fast;
	int rv;

	if (creds == NULL || qs_holds_init(&creds->holds, n_workers) != 0) {
		free(creds);
		snprintf(err, errlen, "TLS credentials: out of memory");
		return NULL;
	}
	if ((rv = gnutls_certificate_allocate_credentials(&creds->cert)) != 0) {
		snprintf(err, errlen, "TLS credentials: %s", gnutls_strerror(rv));
		creds->cert = NULL;
		goto fail;
	}
	/* GnuTLS reads and checks the chain and the key in any case: its
	 * errors are the ones the operator sees */
	rv = gnutls_certificate_set_x509_key_file(creds->cert, cfg->cert,
						  cfg->key, GNUTLS_X509_FMT_PEM);
	if (rv < 0) {
		if (rv == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
			snprintf(err, errlen,
				 "[tls] key '%s' does not match cert '%s'",
				 cfg->key, cfg->cert);
		else
			snprintf(err, errlen,
				 "[tls] cert '%s' / key '%s': %s", cfg->cert,
				 cfg->key, gnutls_strerror(rv));
		goto fail;
	}
	creds->signer = "GnuTLS";
	fast = cfg->signer == QS_SIGNER_OPENSSL
		       ? ossl_creds(cfg, creds->cert, &creds->key)
		       : NULL;
	if (fast != NULL) {
		gnutls_certificate_free_credentials(creds->cert);
		creds->cert = fast;
		creds->signer = "OpenSSL";
	}
	RTE_LOG(INFO, QS_EP, "[tls] key '%s': handshake signatures by %s\n",
		cfg->key, creds->signer);
	return creds;
fail:
	qs_tls_creds_free(creds);
	return NULL;
}

void
qs_tls_creds_free(struct qs_tls_creds *creds)
{
	if (creds == NULL)
		return;
	if (creds->cert != NULL)
		gnutls_certificate_free_credentials(creds->cert);
	qs_holds_fini(&creds->holds);
	free(creds);
}

/* Accepts every 0-RTT ClientHello inside GnuTLS's time window: quicsteer
 * serves only GET and HEAD, which are safe to replay (RFC 8470). */
static int
anti_replay_add(void *db, time_t exp, const gnutls_datum_t *key,
		const gnutls_datum_t *data)
{
	(void)db; (void)exp; (void)key; (void)data;
	return 0;
}

int
qs_tls_anti_replay_new(gnutls_anti_replay_t *ar)
{
	if (gnutls_anti_replay_init(ar) != 0)
		return -1;
	gnutls_anti_replay_set_add_function(*ar, anti_replay_add);
	gnutls_anti_replay_set_ptr(*ar, NULL);
	return 0;
}

/* Refuses a ClientHello that did not select h3. */
static int
client_hello_cb(gnutls_session_t session, unsigned int htype, unsigned when,
		unsigned int incoming, const gnutls_datum_t *msg)
{
	gnutls_datum_t alpn;

	(void)htype; (void)when; (void)incoming; (void)msg;
	if (gnutls_alpn_get_selected_protocol(session, &alpn) != 0)
		return -1;
	if (alpn.size != strlen(h3_alpn) ||
	    memcmp(alpn.data, h3_alpn, alpn.size) != 0)
		return -1;
	return 0;
}

int
qs_tls_session_new(gnutls_session_t *session, ngtcp2_crypto_conn_ref *ref,
		   gnutls_anti_replay_t ar, const struct qs_tls_creds *creds)
{
	gnutls_datum_t alpn = {.data = (unsigned char *)h3_alpn,
			       .size = sizeof(h3_alpn) - 1};
	gnutls_session_t s;

	if (gnutls_init(&s, GNUTLS_SERVER | GNUTLS_ENABLE_EARLY_DATA |
				    GNUTLS_NO_AUTO_SEND_TICKET |
				    GNUTLS_NO_END_OF_EARLY_DATA) != 0)
		return -1;
	if (gnutls_priority_set(s, priority) != 0 ||
	    gnutls_session_ticket_enable_server(s, &ticket_key) != 0 ||
	    qs_quic_tls_configure(s, true) != 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, creds->cert) != 0 ||
	    gnutls_alpn_set_protocols(s, &alpn, 1,
				      GNUTLS_ALPN_MANDATORY |
					      GNUTLS_ALPN_SERVER_PRECEDENCE) != 0) {
		gnutls_deinit(s);
		return -1;
	}
	gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_CLIENT_HELLO,
					   GNUTLS_HOOK_POST, client_hello_cb);
	gnutls_anti_replay_enable(s, ar);
	gnutls_record_set_max_early_data_size(s, 0xffffffffu);
	gnutls_session_set_ptr(s, ref);
	*session = s;
	return 0;
}

void
qs_tls_send_ticket(gnutls_session_t session)
{
	int rv = gnutls_session_ticket_send(session, 1, 0);

	if (rv != 0)
		RTE_LOG(DEBUG, QS_EP, "session ticket not sent: %s\n",
			gnutls_strerror(rv));
}
