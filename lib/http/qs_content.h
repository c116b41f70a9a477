/* The content store: every regular file under the document root, read into
 * memory at start, shared read-only by all lcores. Lookups are exact
 * matches on the request path, so nothing outside the root is reachable. */
#ifndef QS_CONTENT_H
#define QS_CONTENT_H

#include <stddef.h>
#include <stdint.h>

struct qs_content_file {
	char *path;                 /* "/dir/name.ext" */
	const uint8_t *data;
	uint64_t len;
	const char *content_type;
};

/* Loads docroot (max_bytes in all); err says which file or limit failed. */
int qs_content_load(const char *docroot, uint64_t max_bytes, char *err,
		    size_t errlen);
void qs_content_free(void);

/* The file for a request path (query already stripped): "/" and "/dir/"
 * serve their index.html. NULL when there is none. */
const struct qs_content_file *qs_content_find(const char *path, size_t len);

size_t qs_content_count(void);
uint64_t qs_content_bytes(void);

/* Content-Type for a file name, by extension. */
const char *qs_content_type(const char *path);

#endif
