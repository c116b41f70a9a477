#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/qs_content.h"

#define INDEX_NAME "index.html"
#define NFTW_FDS 32

static const struct {
	const char *ext;
	const char *type;
} types[] = {
	{"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
	{"txt", "text/plain; charset=utf-8"}, {"css", "text/css"},
	{"js", "text/javascript"},            {"json", "application/json"},
	{"xml", "application/xml"},           {"svg", "image/svg+xml"},
	{"png", "image/png"},                 {"jpg", "image/jpeg"},
	{"jpeg", "image/jpeg"},               {"gif", "image/gif"},
	{"webp", "image/webp"},               {"ico", "image/x-icon"},
	{"wasm", "application/wasm"},         {"pdf", "application/pdf"},
	{"mp4", "video/mp4"},                 {"woff2", "font/woff2"},
};
#define DEFAULT_TYPE "application/octet-stream"

/* the store being loaded, and the loader's state (nftw has no user
 * pointer) */
static struct qs_content *loading;
static size_t cap_files;
static const char *root;
static size_t root_len;
static uint64_t limit;
static char *load_err;
static size_t load_errlen;
static const uint8_t empty_file[1];

const char *
qs_content_type(const char *path)
{
	const char *dot = strrchr(path, '.');
	const char *slash = strrchr(path, '/');

	if (dot == NULL || (slash != NULL && dot < slash))
		return DEFAULT_TYPE;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(dot + 1, types[i].ext) == 0)
			return types[i].type;
	return DEFAULT_TYPE;
}

static int
read_file(const char *fpath, uint64_t size, uint8_t **out)
{
	int fd = open(fpath, O_RDONLY | O_CLOEXEC);
	uint8_t *buf;
	uint64_t got = 0;

	if (fd < 0)
		return -1;
	buf = malloc(size);
	if (buf == NULL) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);

		if (n <= 0) {
			if (n == 0)
				errno = EIO; /* the file shrank under us */
			free(buf);
			close(fd);
			return -1;
		}
		got += (uint64_t)n;
	}
	close(fd);
	*out = buf;
	return 0;
}

static int
add_file(const char *fpath, const struct stat *sb, int type, struct FTW *ftw)
{
	struct qs_content_file *f;
	uint8_t *data = NULL;

	(void)ftw;
	if (type == FTW_DNR || type == FTW_NS) {
		snprintf(load_err, load_errlen, "[http] docroot: cannot read '%s'",
			 fpath);
		return -1;
	}
	if (type != FTW_F || !S_ISREG(sb->st_mode))
		return 0;
	if (loading->total_bytes + (uint64_t)sb->st_size > limit) {
		snprintf(load_err, load_errlen,
			 "[http] docroot '%s' holds more than docroot_max_mb "
			 "(%llu MiB); raise it or serve fewer files", root,
			 (unsigned long long)(limit >> 20));
		return -1;
	}
	if (loading->n_files == cap_files) {
		size_t cap = cap_files ? 2 * cap_files : 64;
		void *p = realloc(loading->files, cap * sizeof(*loading->files));

		if (p == NULL)
			goto nomem;
		loading->files = p;
		cap_files = cap;
	}
	if (sb->st_size > 0 &&
	    read_file(fpath, (uint64_t)sb->st_size, &data) != 0) {
		snprintf(load_err, load_errlen, "[http] docroot: '%s': %s", fpath,
			 strerror(errno));
		return -1;
	}
	f = &loading->files[loading->n_files];
	f->path = strdup(fpath + root_len);  /* keeps the leading '/' */
	if (f->path == NULL) {
		free(data);
		goto nomem;
	}
	f->data = data != NULL ? data : empty_file;
	f->len = (uint64_t)sb->st_size;
	f->content_type = qs_content_type(f->path);
	loading->n_files++;
	loading->total_bytes += f->len;
	return 0;
nomem:
	snprintf(load_err, load_errlen, "[http] docroot: out of memory");
	return -1;
}

static int
cmp_path(const void *a, const void *b)
{
	return strcmp(((const struct qs_content_file *)a)->path,
		      ((const struct qs_content_file *)b)->path);
}

struct qs_content *
qs_content_load(const char *docroot, uint64_t max_bytes, uint16_t n_workers,
		char *err, size_t errlen)
{
	struct qs_content *store = calloc(1, sizeof(*store));
	struct stat st;
	char *real;

	if (store == NULL || qs_holds_init(&store->holds, n_workers) != 0) {
		snprintf(err, errlen, "[http] docroot: out of memory");
		free(store);
		return NULL;
	}
	if (docroot[0] == '\0')
		return store;
	real = realpath(docroot, NULL);
	if (real == NULL || stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "[http] docroot '%s': %s", docroot,
			 real == NULL ? strerror(errno) : "not a directory");
		free(real);
		qs_content_free(store);
		return NULL;
	}
	loading = store;
	cap_files = 0;
	root = real;
	root_len = strlen(real);
	limit = max_bytes;
	load_err = err;
	load_errlen = errlen;
	if (nftw(real, add_file, NFTW_FDS, FTW_PHYS) != 0) {
		qs_content_free(store);
		store = NULL;
	} else if (store->n_files > 0) {  /* qsort(NULL, 0, ...) is undefined */
		qsort(store->files, store->n_files, sizeof(*store->files),
		      cmp_path);
	}
	free(real);
	root = NULL;
	loading = NULL;
	return store;
}

void
qs_content_free(struct qs_content *store)
{
	if (store == NULL)
		return;
	for (size_t i = 0; i < store->n_files; i++) {
		free(store->files[i].path);
		if (store->files[i].data != empty_file)
			free((void *)store->files[i].data);
	}
	free(store->files);
	qs_holds_fini(&store->holds);
	free(store);
}

static const struct qs_content_file *
find_exact(const struct qs_content *store, const char *path)
{
	struct qs_content_file key = {.path = (char *)path};

	if (store->n_files == 0)
		return NULL;
	return bsearch(&key, store->files, store->n_files,
		       sizeof(*store->files), cmp_path);
}

const struct qs_content_file *
qs_content_find(const struct qs_content *store, const char *path, size_t len)
{
	char buf[1024];
	const struct qs_content_file *f;

	if (store == NULL || len == 0 || path[0] != '/' ||
	    len + sizeof(INDEX_NAME) + 1 > sizeof(buf))
		return NULL;
	memcpy(buf, path, len);
	buf[len] = '\0';
	if (buf[len - 1] != '/' && (f = find_exact(store, buf)) != NULL)
		return f;
	/* a directory: its index */
	if (buf[len - 1] != '/')
		buf[len++] = '/';
	memcpy(buf + len, INDEX_NAME, sizeof(INDEX_NAME));
	return find_exact(store, buf);
}

size_t
qs_content_count(const struct qs_content *store)
{
	return store != NULL ? store->n_files : 0;
}

uint64_t
qs_content_bytes(const struct qs_content *store)
{
	return store != NULL ? store->total_bytes : 0;
}
