/* The CID table of one lcore: every server CID it issued, and the first
 * DCID of each client still in its handshake, to the connection (an
 * rte_hash, touched only by its lcore). */
#ifndef QS_CIDTAB_H
#define QS_CIDTAB_H

#include <stddef.h>
#include <stdint.h>

struct rte_hash;

struct qs_cidtab {
	struct rte_hash *hash;
};

/* Room for entries CIDs; name must be unique in the process. */
int qs_cidtab_init(struct qs_cidtab *t, const char *name, uint32_t entries,
		   int socket);
void qs_cidtab_fini(struct qs_cidtab *t);

/* Adds cid -> value; -1 when the CID is there already (never stolen from
 * its owner) or the table is full. */
int qs_cidtab_add(struct qs_cidtab *t, const uint8_t *cid, size_t len,
		  void *value);
void qs_cidtab_del(struct qs_cidtab *t, const uint8_t *cid, size_t len);
/* The value for cid, or NULL (also for a CID longer than QUIC allows). */
void *qs_cidtab_find(const struct qs_cidtab *t, const uint8_t *cid,
		     size_t len);

#endif
