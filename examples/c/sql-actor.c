// A Tessera actor that is a SQL database: SQLite (the amalgamation that better-sqlite3 ships),
// compiled to a wasm32-wasi reactor. Each message is SQL text; the reply is the result rows, one
// per line, columns separated by '|'. The database image lives in the actor's durable state under
// the key "db" (so it is bounded by the state value limit, 1 MiB): it is loaded before the SQL runs
// and written back after, and a failing statement panics, which leaves the state as it was.
//
// SQLite runs with SQLITE_OS_OTHER: no files at all. The VFS below serves only what an in-memory
// database asks of it — randomness and the time, both deterministic through the guest ABI.
#include "sqlite3.c"
#include "tessera.h"

static const char KEY[] = "db";

static void fail(const char *what, const char *detail) {
  char msg[512];
  int n = snprintf(msg, sizeof msg, "%s: %s", what, detail ? detail : "unknown error");
  tessera_panic(msg, n < (int)sizeof msg ? n : (int)sizeof msg - 1);
}

// ---- the VFS: no files; randomness and time from the batch ----------------------------------

static int vfsOpen(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out) {
  (void)v; (void)name; (void)f; (void)flags; (void)out;
  return SQLITE_CANTOPEN;
}
static int vfsDelete(sqlite3_vfs *v, const char *name, int sync) {
  (void)v; (void)name; (void)sync;
  return SQLITE_IOERR_DELETE;
}
static int vfsAccess(sqlite3_vfs *v, const char *name, int flags, int *out) {
  (void)v; (void)name; (void)flags;
  *out = 0;
  return SQLITE_OK;
}
static int vfsFullPathname(sqlite3_vfs *v, const char *name, int n, char *out) {
  (void)v;
  sqlite3_snprintf(n, out, "%s", name);
  return SQLITE_OK;
}
static int vfsRandomness(sqlite3_vfs *v, int n, char *out) {
  (void)v;
  tessera_random(out, n);
  return n;
}
static int vfsSleep(sqlite3_vfs *v, int us) {
  (void)v;
  return us;
}
static int vfsCurrentTimeInt64(sqlite3_vfs *v, sqlite3_int64 *out) {
  (void)v;
  // Julian day in milliseconds: the Unix epoch is day 2440587.5.
  *out = (sqlite3_int64)210866760000000LL + tessera_block_time();
  return SQLITE_OK;
}
static int vfsCurrentTime(sqlite3_vfs *v, double *out) {
  sqlite3_int64 ms;
  vfsCurrentTimeInt64(v, &ms);
  *out = ms / 86400000.0;
  return SQLITE_OK;
}
static int vfsGetLastError(sqlite3_vfs *v, int n, char *out) {
  (void)v; (void)n; (void)out;
  return 0;
}

static sqlite3_vfs tesseraVfs = {
  2, 0, 512, 0, "tessera", 0,
  vfsOpen, vfsDelete, vfsAccess, vfsFullPathname,
  0, 0, 0, 0,
  vfsRandomness, vfsSleep, vfsCurrentTime, vfsGetLastError, vfsCurrentTimeInt64,
  0, 0, 0,
};

int sqlite3_os_init(void) { return sqlite3_vfs_register(&tesseraVfs, 1); }
int sqlite3_os_end(void) { return SQLITE_OK; }

// ---- the reply buffer ------------------------------------------------------------------------

static char *out;
static int outLen, outCap;

static void append(const char *s, int n) {
  if (outLen + n > outCap) {
    outCap = (outLen + n) * 2 + 256;
    out = sqlite3_realloc(out, outCap);
    if (!out) fail("reply", "out of memory");
  }
  memcpy(out + outLen, s, n);
  outLen += n;
}

static int row(void *ctx, int cols, char **values, char **names) {
  (void)ctx; (void)names;
  for (int i = 0; i < cols; i++) {
    if (i > 0) append("|", 1);
    const char *v = values[i] ? values[i] : "NULL";
    append(v, (int)strlen(v));
  }
  append("\n", 1);
  return 0;
}

// ---- the entry point -------------------------------------------------------------------------

__attribute__((export_name("handle"))) void handle(void) {
  int n = tessera_input_size();
  char *sql = sqlite3_malloc(n + 1);
  if (!sql) fail("input", "out of memory");
  tessera_input_read(sql);
  sql[n] = 0;

  sqlite3 *db;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) fail("open", sqlite3_errmsg(db));
  int size = tessera_state_read(KEY, sizeof KEY - 1, 0, 0);
  if (size > 0) {
    unsigned char *image = sqlite3_malloc(size);
    if (!image) fail("load", "out of memory");
    tessera_state_read(KEY, sizeof KEY - 1, image, size);
    int rc = sqlite3_deserialize(db, "main", image, size, size, SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE);
    if (rc != SQLITE_OK) fail("load", sqlite3_errmsg(db));
  }

  char *err = 0;
  if (sqlite3_exec(db, sql, row, 0, &err) != SQLITE_OK) fail("sql", err);

  sqlite3_int64 imageSize = 0;
  unsigned char *image = sqlite3_serialize(db, "main", &imageSize, 0);
  if (!image) fail("save", "could not serialize the database");
  tessera_state_write(KEY, sizeof KEY - 1, image, (int)imageSize);
  tessera_reply(out ? out : "", outLen);
}
