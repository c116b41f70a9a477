#include <string.h>

#include <ngtcp2/ngtcp2.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>

#include "quic/qs_cidtab.h"

/* fixed size, zero padded: one key compare, no length field to trust */
struct cid_key {
	uint8_t len;
	uint8_t data[NGTCP2_MAX_CIDLEN];
	uint8_t pad[3];
};

static void
make_key(struct cid_key *k, const uint8_t *cid, size_t len)
{
	memset(k, 0, sizeof(*k));
	k->len = (uint8_t)len;
	memcpy(k->data, cid, len);
}

int
qs_cidtab_init(struct qs_cidtab *t, const char *name, uint32_t entries,
	       int socket)
{
	struct rte_hash_parameters p = {
		.name = name,
		.entries = entries,
		.key_len = sizeof(struct cid_key),
		.hash_func = rte_hash_crc,
		.socket_id = socket,
		/* without it cuckoo hashing refuses keys short of entries */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};

	t->hash = rte_hash_create(&p);
	return t->hash != NULL ? 0 : -1;
}

void
qs_cidtab_fini(struct qs_cidtab *t)
{
	rte_hash_free(t->hash);
	t->hash = NULL;
}

int
qs_cidtab_add(struct qs_cidtab *t, const uint8_t *cid, size_t len, void *value)
{
	struct cid_key k;

	if (len > NGTCP2_MAX_CIDLEN)
		return -1;
	make_key(&k, cid, len);
	if (rte_hash_lookup(t->hash, &k) >= 0)
		return -1;
	return rte_hash_add_key_data(t->hash, &k, value) == 0 ? 0 : -1;
}

void
qs_cidtab_del(struct qs_cidtab *t, const uint8_t *cid, size_t len)
{
	struct cid_key k;

	if (len > NGTCP2_MAX_CIDLEN)
		return;
	make_key(&k, cid, len);
	rte_hash_del_key(t->hash, &k);
}

void *
qs_cidtab_find(const struct qs_cidtab *t, const uint8_t *cid, size_t len)
{
	struct cid_key k;
	void *value;

	if (len > NGTCP2_MAX_CIDLEN)
		return NULL;
	make_key(&k, cid, len);
	return rte_hash_lookup_data(t->hash, &k, &value) >= 0 ? value : NULL;
}
