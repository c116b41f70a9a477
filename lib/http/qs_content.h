/* The content store: every regular file under the document root, read into
 * memory at start and again on each reload, shared read-only by all lcores.
 * Lookups are exact matches on the request path, so nothing outside the
 * root is reachable. A response whose body points into a store holds it
 * (base/qs_holds.h) until its stream is gone, so a reload frees the old
 * store only after the last response of it. */
#ifndef QS_CONTENT_H
#define QS_CONTENT_H

#include <stddef.h>
#include <stdint.h>

#include "base/qs_holds.h"

struct qs_content_file {
	char *path;                 /* "/dir/name.ext" */
	const uint8_t *data;
	uint64_t len;
	const char *content_type;
};

struct qs_content {
	struct qs_holds holds;      /* responses reading it, per worker */
	struct qs_content_file *files;   /* sorted by path */
	size_t n_files;
	uint64_t total_bytes;
};

/* Loads docroot (max_bytes in all; "" is an empty store) with holds for
 * n_workers. NULL with err saying which file or limit failed. Not
 * thread-safe: the control plane loads one store at a time. */
struct qs_content *qs_content_load(const char *docroot, uint64_t max_bytes,
				   uint16_t n_workers, char *err,
				   size_t errlen);
/* NULL is harmless. */
void qs_content_free(struct qs_content *store);

/* The file for a request path (query already stripped): "/" and "/dir/"
 * serve their index.html. NULL when there is none, or no store. */
const struct qs_content_file *qs_content_find(const struct qs_content *store,
					      const char *path, size_t len);

size_t qs_content_count(const struct qs_content *store);
uint64_t qs_content_bytes(const struct qs_content *store);

/* Content-Type for a file name, by extension. */
const char *qs_content_type(const char *path);

#endif
