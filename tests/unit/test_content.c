/* The content store, on a docroot built in a temporary directory: every
 * regular file is served with exactly its bytes and the Content-Type of its
 * extension (dotted names, dot files, an empty file, binary data); "/",
 * "/dir/" and "/dir" serve their index.html; lookups are exact, so "..",
 * "//", "/./", a trailing slash or a symlink (to a file or directory, in or
 * outside the root) reach nothing, and FIFOs are skipped; the request
 * length is honoured and overlong paths are refused; max_bytes is
 * inclusive and a bigger tree fails with an error naming the docroot and
 * limit and leaves nothing loaded; "" disables content, an absent path or
 * a file as docroot fails naming it, an empty directory loads nothing, a
 * trailing slash or symlinked docroot loads the same tree; an unreadable
 * file or directory fails the load naming it (checked when not root; as
 * root the load must simply succeed). Needs no EAL (plain malloc). The
 * temporary tree is removed at the end. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/qs_content.h"
#include "qs_test.h"

#define BIN_LEN 4096
#define BIG_LEN ((1u << 20) + 1) /* one byte over 1 MiB */
#define TEXT_TYPE "text/plain; charset=utf-8"
#define HTML_TYPE "text/html; charset=utf-8"
#define OCTET_TYPE "application/octet-stream"

struct tfile {
	const char *path;          /* request path, relative to the docroot */
	const char *text;          /* contents, or NULL: bin */
	const char *type;
};

static uint8_t bin[BIN_LEN];
static uint8_t *big;

static const struct tfile tree[] = {
	{"/index.html", "<!doctype html><h1>root</h1>\n", HTML_TYPE},
	{"/a.txt", "hello, quicsteer\n", TEXT_TYPE},
	{"/bin.dat", NULL, OCTET_TYPE},
	{"/empty.txt", "", TEXT_TYPE},
	{"/archive.tar.gz", "\x1f\x8b\x08\x00 not really", OCTET_TYPE},
	{"/.hidden", "a dot file\n", OCTET_TYPE},
	{"/README", "no extension\n", OCTET_TYPE},
	{"/UPPER.PNG", "\x89PNG\r\n\x1a\n", "image/png"},
	{"/style.min.css", "body{margin:0}", "text/css"},
	{"/dir/index.html", "<h1>dir</h1>\n", HTML_TYPE},
	{"/dir/page.js", "let x = 1;\n", "text/javascript"},
	{"/dir/sub/deep.json", "{\"deep\":true}\n", "application/json"},
	{"/v1.2/notes", "a dot in the directory only\n", OCTET_TYPE},
	{"/noindex/x.svg", "<svg/>\n", "image/svg+xml"},
	{"/etc/passwd", "the docroot's own, not /etc's\n", OCTET_TYPE},
};
#define N_TREE (sizeof(tree) / sizeof(tree[0]))

static char base[PATH_MAX];    /* the temporary directory */
static char www[PATH_MAX];     /* base/www: the main docroot */
static uint64_t www_bytes;

static const uint8_t *
tfile_data(const struct tfile *f)
{
	return f->text != NULL ? (const uint8_t *)f->text : bin;
}

static size_t
tfile_len(const struct tfile *f)
{
	if (f->text == NULL)
		return BIN_LEN;
	/* "\x1f\x8b\x08\x00 ..." holds a NUL: measure the rest after it */
	if (strcmp(f->path, "/archive.tar.gz") == 0)
		return 4 + strlen(f->text + 4);
	return strlen(f->text);
}

/* base/rel; exits on failure (the tree is the test's fixture) */
static const char *
at(const char *rel)
{
	static char p[4][PATH_MAX];
	static int next;
	char *out = p[next++ % 4];

	if ((size_t)snprintf(out, PATH_MAX, "%s/%s", base, rel) >= PATH_MAX) {
		fprintf(stderr, "test_content: path too long\n");
		exit(2);
	}
	return out;
}

static void
die(const char *what, const char *path)
{
	fprintf(stderr, "test_content: %s '%s': %s\n", what, path,
		strerror(errno));
	exit(2);
}

static void
put_file(const char *path, const uint8_t *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		die("cannot create", path);
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n <= 0)
			die("cannot write", path);
		data += n;
		len -= (size_t)n;
	}
	close(fd);
}

static void
put_dir(const char *path)
{
	if (mkdir(path, 0755) != 0)
		die("cannot mkdir", path);
}

static void
put_link(const char *target, const char *path)
{
	if (symlink(target, path) != 0)
		die("cannot symlink", path);
}

static void
make_tree(void)
{
	const char *tmp = getenv("TMPDIR");
	uint64_t x = 0x243f6a8885a308d3ull;

	snprintf(base, sizeof(base), "%s/qs-test-content-XXXXXX",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(base) == NULL)
		die("cannot make", base);
	/* realpath: the loader reports the resolved docroot */
	if (realpath(base, www) == NULL)
		die("cannot resolve", base);
	snprintf(base, sizeof(base), "%s", www);
	snprintf(www, sizeof(www), "%s", at("www"));

	for (size_t i = 0; i < BIN_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		bin[i] = i % 7 == 0 ? 0 : (uint8_t)x; /* with NULs */
	}

	put_dir(www);
	put_dir(at("www/dir"));
	put_dir(at("www/dir/sub"));
	put_dir(at("www/v1.2"));
	put_dir(at("www/noindex"));
	put_dir(at("www/etc"));
	put_dir(at("www/emptydir"));
	for (size_t i = 0; i < N_TREE; i++) {
		char rel[PATH_MAX];

		snprintf(rel, sizeof(rel), "www%s", tree[i].path);
		put_file(at(rel), tfile_data(&tree[i]), tfile_len(&tree[i]));
		www_bytes += tfile_len(&tree[i]);
	}

	/* outside the docroot, reachable only through symlinks */
	put_dir(at("outside"));
	put_file(at("outside/secret.txt"), (const uint8_t *)"secret\n", 7);
	put_link(at("outside/secret.txt"), at("www/link-out.txt"));
	put_link("a.txt", at("www/link-in.txt"));
	put_link(at("outside"), at("www/linkdir"));
	put_link("../outside/secret.txt", at("www/dir/up.txt"));
	put_link("nowhere.txt", at("www/dangling.txt"));
	if (mkfifo(at("www/fifo.txt"), 0644) != 0)
		die("cannot mkfifo", at("www/fifo.txt"));

	/* other docroots */
	put_file(at("notdir.txt"), (const uint8_t *)"x", 1);
	put_dir(at("emptyroot"));
	put_link(www, at("www-link"));
	put_dir(at("bigroot"));
	big = malloc(BIG_LEN);
	if (big == NULL)
		die("no memory for", "bigroot/huge.bin");
	for (size_t i = 0; i < BIG_LEN; i++)
		big[i] = (uint8_t)(i * 31 + (i >> 12));
	put_file(at("bigroot/huge.bin"), big, BIG_LEN);
}

static int
rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	if (remove(path) != 0)
		fprintf(stderr, "test_content: cannot remove '%s': %s\n", path,
			strerror(errno));
	return 0;
}

static void
remove_tree(void)
{
	if (base[0] != '\0')
		nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(big);
}

/* the store the checks look at: the last load's, NULL when it failed */
static struct qs_content *store;

static void
drop_store(void)
{
	qs_content_free(store);
	store = NULL;
}

static int
load(const char *docroot, uint64_t max_bytes, char *err, size_t errlen)
{
	err[0] = '\0';
	drop_store();
	store = qs_content_load(docroot, max_bytes, 1, err, errlen);
	return store != NULL ? 0 : -1;
}

static void
check_nothing_loaded(void)
{
	CHECK_EQ(qs_content_count(store), 0);
	CHECK_EQ(qs_content_bytes(store), 0);
	CHECK(qs_content_find(store, "/", 1) == NULL);
	CHECK(qs_content_find(store, "/a.txt", 6) == NULL);
}

/* Every file of the tree, exactly, with its type. */
static void
check_tree_served(void)
{
	CHECK_EQ(qs_content_count(store), N_TREE);
	CHECK_EQ(qs_content_bytes(store), www_bytes);
	for (size_t i = 0; i < N_TREE; i++) {
		const struct qs_content_file *f;

		TEST_CONTEXT("%s", tree[i].path);
		f = qs_content_find(store, tree[i].path, strlen(tree[i].path));
		CHECK(f != NULL);
		if (f == NULL)
			continue;
		CHECK(strcmp(f->path, tree[i].path) == 0);
		CHECK_EQ(f->len, tfile_len(&tree[i]));
		CHECK(f->data != NULL);
		if (f->len == tfile_len(&tree[i]))
			CHECK_MEM_EQ(f->data, tfile_data(&tree[i]), f->len);
		CHECK(f->content_type != NULL &&
		      strcmp(f->content_type, tree[i].type) == 0);
	}
	TEST_CONTEXT_CLEAR();
}

static const struct qs_content_file *
find(const char *path)
{
	return qs_content_find(store, path, strlen(path));
}

static void
test_content_type(void)
{
	static const struct {
		const char *name, *type;
	} cases[] = {
		{"/a.html", HTML_TYPE},       {"/a.htm", HTML_TYPE},
		{"/A.HTML", HTML_TYPE},       {"/a.txt", TEXT_TYPE},
		{"/a.css", "text/css"},       {"/a.js", "text/javascript"},
		{"/a.json", "application/json"}, {"/a.xml", "application/xml"},
		{"/a.svg", "image/svg+xml"},  {"/a.png", "image/png"},
		{"/a.jpg", "image/jpeg"},     {"/a.JPEG", "image/jpeg"},
		{"/a.gif", "image/gif"},      {"/a.webp", "image/webp"},
		{"/a.ico", "image/x-icon"},   {"/a.wasm", "application/wasm"},
		{"/a.pdf", "application/pdf"}, {"/a.mp4", "video/mp4"},
		{"/a.woff2", "font/woff2"},   {"/a.woff", OCTET_TYPE},
		{"/a.tar.gz", OCTET_TYPE},    {"/a.gz.html", HTML_TYPE},
		{"/README", OCTET_TYPE},      {"/.hidden", OCTET_TYPE},
		{"/.html", HTML_TYPE},        {"/a.", OCTET_TYPE},
		{"/v1.2/notes", OCTET_TYPE},  {"/v1.2/x.css", "text/css"},
		{"/a.html/", OCTET_TYPE},     {"", OCTET_TYPE},
		{"index.html", HTML_TYPE},    {"/a.htmlx", OCTET_TYPE},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *t = qs_content_type(cases[i].name);

		TEST_CONTEXT("type of '%s'", cases[i].name);
		CHECK(t != NULL && strcmp(t, cases[i].type) == 0);
	}
	TEST_CONTEXT_CLEAR();
}

static void
test_lookups(void)
{
	static const char *const missing[] = {
		"index.html", "a.txt", "//", "//index.html", "//a.txt",
		"/./a.txt", "/./", "/dir/../a.txt", "/dir/./page.js",
		"/dir//page.js", "/../etc/passwd", "/../../etc/passwd",
		"/..", "/../", "/%2e%2e/etc/passwd", "/dir/../../outside/secret.txt",
		"/a.txt/", "/A.TXT", "/a.tx", "/a.txt.", "/a.txt?x=1", "/index.htm",
		"/dir/sub", "/dir/sub/", "/noindex", "/noindex/", "/emptydir",
		"/emptydir/", "/missing.html", "/link-out.txt", "/link-in.txt",
		"/linkdir", "/linkdir/", "/linkdir/secret.txt", "/dir/up.txt",
		"/dangling.txt", "/fifo.txt", "/outside/secret.txt", "/secret.txt",
		"/www/a.txt", "/dir/index.html/",
	};
	static const size_t long_lens[] = {1011, 1012, 1013, 1024, 1100, 2048};
	char err[512], longpath[2048];
	const struct qs_content_file *root_index, *dir_index;

	CHECK_EQ(load(www, UINT64_MAX, err, sizeof(err)), 0);
	CHECK_EQ(err[0], '\0');
	check_tree_served();

	/* directories serve their index.html, with or without the slash */
	root_index = find("/index.html");
	dir_index = find("/dir/index.html");
	CHECK(root_index != NULL && dir_index != NULL);
	CHECK(find("/") == root_index);
	CHECK(find("/dir/") == dir_index);
	CHECK(find("/dir") == dir_index);

	/* the docroot's own etc/passwd is a file like any other */
	CHECK(find("/etc/passwd") != NULL &&
	      strcmp(find("/etc/passwd")->path, "/etc/passwd") == 0);

	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		TEST_CONTEXT("'%s'", missing[i]);
		CHECK(find(missing[i]) == NULL);
	}
	TEST_CONTEXT_CLEAR();
	CHECK(qs_content_find(store, "", 0) == NULL);

	/* the length is what counts, not a terminator */
	CHECK(qs_content_find(store, "/a.txtGARBAGE", 6) == find("/a.txt"));
	CHECK(qs_content_find(store, "/a.txt", 5) == NULL);
	CHECK(qs_content_find(store, "/dir/xyz", 4) == dir_index);
	CHECK(qs_content_find(store, "/dir/xyz", 5) == dir_index);
	CHECK(qs_content_find(store, "/x", 1) == root_index);

	/* overlong paths: nothing, and no overflow */
	longpath[0] = '/';
	memset(longpath + 1, 'a', sizeof(longpath) - 1);
	for (size_t i = 0; i < sizeof(long_lens) / sizeof(long_lens[0]); i++) {
		TEST_CONTEXT("path of %zu bytes", long_lens[i]);
		CHECK(qs_content_find(store, longpath, long_lens[i]) == NULL);
	}
	memset(longpath + 1, '/', sizeof(longpath) - 1);
	CHECK(qs_content_find(store, longpath, sizeof(longpath)) == NULL);
	TEST_CONTEXT_CLEAR();
}

/* Other spellings of the same docroot load the same tree, with the same
 * request paths. */
static void
test_docroot_spellings(void)
{
	char err[512], path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/", www);
	TEST_CONTEXT("trailing slash");
	CHECK_EQ(load(path, UINT64_MAX, err, sizeof(err)), 0);
	check_tree_served();
	snprintf(path, sizeof(path), "%s/dir/..//", www);
	TEST_CONTEXT("dir/..//");
	CHECK_EQ(load(path, UINT64_MAX, err, sizeof(err)), 0);
	check_tree_served();
	TEST_CONTEXT("symlinked docroot");
	CHECK_EQ(load(at("www-link"), UINT64_MAX, err, sizeof(err)), 0);
	check_tree_served();
	TEST_CONTEXT_CLEAR();
}

static void
test_limits(void)
{
	char err[512], small[32];

	/* max_bytes is inclusive */
	TEST_CONTEXT("limit = tree size");
	CHECK_EQ(load(www, www_bytes, err, sizeof(err)), 0);
	check_tree_served();

	/* one byte short: the load fails, names the limit, keeps nothing */
	TEST_CONTEXT("limit = tree size - 1");
	CHECK_EQ(load(www, www_bytes - 1, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "docroot_max_mb");
	CHECK_CONTAINS(err, www);
	CHECK_CONTAINS(err, "(0 MiB)");
	check_nothing_loaded();

	/* a single file over the limit */
	TEST_CONTEXT("1 MiB + 1 byte file, 1 MiB limit");
	CHECK_EQ(load(at("bigroot"), 1u << 20, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, "docroot_max_mb (1 MiB)");
	CHECK_CONTAINS(err, at("bigroot"));
	check_nothing_loaded();
	TEST_CONTEXT("1 MiB + 1 byte file, limit one byte more");
	CHECK_EQ(load(at("bigroot"), BIG_LEN, err, sizeof(err)), 0);
	CHECK_EQ(qs_content_count(store), 1);
	CHECK_EQ(qs_content_bytes(store), BIG_LEN);
	CHECK(find("/huge.bin") != NULL);
	if (find("/huge.bin") != NULL) {
		CHECK_EQ(find("/huge.bin")->len, BIG_LEN);
		CHECK_MEM_EQ(find("/huge.bin")->data, big, BIG_LEN);
	}
	/* the next load replaces it */
	CHECK_EQ(load(www, UINT64_MAX, err, sizeof(err)), 0);
	CHECK(find("/huge.bin") == NULL);
	check_tree_served();

	/* a short error buffer is cut, never overrun */
	TEST_CONTEXT("short error buffer");
	memset(small, '#', sizeof(small));
	drop_store();
	store = qs_content_load(www, 1, 1, small, 16);
	CHECK(store == NULL);
	CHECK_EQ(strlen(small), 15);
	for (size_t i = 16; i < sizeof(small); i++)
		CHECK_EQ(small[i], '#');
	check_nothing_loaded();
	TEST_CONTEXT_CLEAR();
}

static void
test_odd_docroots(void)
{
	char err[512], path[PATH_MAX];

	/* "" means no content at all, and drops what was loaded */
	CHECK_EQ(load(www, UINT64_MAX, err, sizeof(err)), 0);
	CHECK_EQ(qs_content_count(store), N_TREE);
	TEST_CONTEXT("empty docroot string");
	CHECK_EQ(load("", UINT64_MAX, err, sizeof(err)), 0);
	check_nothing_loaded();

	TEST_CONTEXT("absent docroot");
	snprintf(path, sizeof(path), "%s", at("no-such-dir"));
	CHECK_EQ(load(path, UINT64_MAX, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, path);
	CHECK_CONTAINS(err, strerror(ENOENT));
	check_nothing_loaded();

	TEST_CONTEXT("file as docroot");
	snprintf(path, sizeof(path), "%s", at("notdir.txt"));
	CHECK_EQ(load(path, UINT64_MAX, err, sizeof(err)), -1);
	CHECK_CONTAINS(err, path);
	CHECK_CONTAINS(err, "not a directory");
	check_nothing_loaded();

	TEST_CONTEXT("empty directory");
	CHECK_EQ(load(at("emptyroot"), UINT64_MAX, err, sizeof(err)), 0);
	check_nothing_loaded();

	TEST_CONTEXT("free twice");
	CHECK_EQ(load(www, UINT64_MAX, err, sizeof(err)), 0);
	drop_store();
	check_nothing_loaded();
	qs_content_free(NULL);
	check_nothing_loaded();
	TEST_CONTEXT_CLEAR();
}

/* An unreadable file or directory fails the load, naming it. Root (or
 * CAP_DAC_*) reads them anyway: then the load must succeed. */
static void
test_unreadable(void)
{
	char err[512], path[PATH_MAX];

	put_dir(at("noread"));
	put_file(at("noread/ok.txt"), (const uint8_t *)"ok\n", 3);
	snprintf(path, sizeof(path), "%s", at("noread/secret.txt"));
	put_file(path, (const uint8_t *)"s\n", 2);
	if (chmod(path, 0) != 0)
		die("cannot chmod", path);
	TEST_CONTEXT("unreadable file (%s)",
		     access(path, R_OK) != 0 ? "enforced" : "readable anyway");
	if (access(path, R_OK) != 0) {
		CHECK_EQ(load(at("noread"), UINT64_MAX, err, sizeof(err)), -1);
		CHECK_CONTAINS(err, path);
		CHECK_CONTAINS(err, strerror(EACCES));
		check_nothing_loaded();
	} else {
		CHECK_EQ(load(at("noread"), UINT64_MAX, err, sizeof(err)), 0);
		CHECK_EQ(qs_content_count(store), 2);
	}
	chmod(path, 0644);

	put_dir(at("nolist"));
	put_file(at("nolist/ok.txt"), (const uint8_t *)"ok\n", 3);
	snprintf(path, sizeof(path), "%s", at("nolist/locked"));
	put_dir(path);
	put_file(at("nolist/locked/f.txt"), (const uint8_t *)"f\n", 2);
	if (chmod(path, 0) != 0)
		die("cannot chmod", path);
	TEST_CONTEXT("unreadable directory (%s)",
		     access(path, R_OK | X_OK) != 0 ? "enforced" : "readable anyway");
	if (access(path, R_OK | X_OK) != 0) {
		CHECK_EQ(load(at("nolist"), UINT64_MAX, err, sizeof(err)), -1);
		CHECK_CONTAINS(err, "cannot read");
		CHECK_CONTAINS(err, path);
		check_nothing_loaded();
	} else {
		CHECK_EQ(load(at("nolist"), UINT64_MAX, err, sizeof(err)), 0);
		CHECK_EQ(qs_content_count(store), 2);
		CHECK(find("/locked/f.txt") != NULL);
	}
	chmod(path, 0755);

	/* readable again: the same docroots load */
	TEST_CONTEXT("permissions restored");
	CHECK_EQ(load(at("noread"), UINT64_MAX, err, sizeof(err)), 0);
	CHECK_EQ(qs_content_count(store), 2);
	CHECK_EQ(load(at("nolist"), UINT64_MAX, err, sizeof(err)), 0);
	CHECK_EQ(qs_content_count(store), 2);
	TEST_CONTEXT_CLEAR();
}

/* A reload loads the next store beside the running one: a load that
 * fails gives NULL and leaves the running store whole, and a new store
 * starts with no holds. */
static void
test_failed_load_keeps_store(void)
{
	char err[512];
	struct qs_content *running, *next;

	CHECK_EQ(load(www, UINT64_MAX, err, sizeof(err)), 0);
	running = store;
	CHECK_EQ(qs_holds_total(&running->holds), 0);
	next = qs_content_load(at("no-such-dir"), UINT64_MAX, 4, err,
			       sizeof(err));
	CHECK(next == NULL);
	CHECK_CONTAINS(err, "no-such-dir");
	next = qs_content_load(www, www_bytes - 1, 4, err, sizeof(err));
	CHECK(next == NULL);
	CHECK_CONTAINS(err, "docroot_max_mb");
	check_tree_served();
	next = qs_content_load(at("bigroot"), BIG_LEN, 4, err, sizeof(err));
	CHECK(next != NULL);
	if (next != NULL) {
		CHECK_EQ(qs_content_count(next), 1);
		CHECK_EQ(next->holds.n_workers, 4);
		qs_holds_take(&next->holds, 3);
		qs_holds_take(&next->holds, 0);
		qs_holds_take(&next->holds, 3);
		CHECK_EQ(qs_holds_total(&next->holds), 3);
		qs_holds_drop(&next->holds, 3);
		qs_holds_drop(&next->holds, 0);
		qs_holds_drop(&next->holds, 3);
		CHECK_EQ(qs_holds_total(&next->holds), 0);
	}
	check_tree_served();
	qs_content_free(next);
}

int
main(void)
{
	make_tree();
	test_content_type();
	test_lookups();
	test_docroot_spellings();
	test_limits();
	test_odd_docroots();
	test_unreadable();
	test_failed_load_keeps_store();
	drop_store();
	remove_tree();
	return test_done("test_content");
}
