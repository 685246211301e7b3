/*
 * A minimal SQLite VFS for builds with SQLITE_OS_OTHER: the benchmark uses
 * only in-memory databases (and SQLITE_TEMP_STORE=3), so opening files is
 * refused; time, sleep and randomness are all SQLite needs otherwise. Used
 * for the native and the wasm32-wasi build alike, so both run the same code.
 */
#include <string.h>
#include <time.h>
#include "sqlite3.h"

static int xOpen(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *out) {
    (void)v; (void)name; (void)f; (void)flags; (void)out;
    return SQLITE_CANTOPEN;
}
static int xDelete(sqlite3_vfs *v, const char *name, int sync) { (void)v; (void)name; (void)sync; return SQLITE_OK; }
static int xAccess(sqlite3_vfs *v, const char *name, int flags, int *out) { (void)v; (void)name; (void)flags; *out = 0; return SQLITE_OK; }
static int xFullPathname(sqlite3_vfs *v, const char *name, int n, char *out) {
    (void)v;
    sqlite3_snprintf(n, out, "%s", name);
    return SQLITE_OK;
}
static int xRandomness(sqlite3_vfs *v, int n, char *out) {
    (void)v;
    /* Deterministic on purpose: every engine must print the same checksum. */
    for (int i = 0; i < n; i++) out[i] = (char)(i * 131 + 7);
    return n;
}
static int xSleep(sqlite3_vfs *v, int us) { (void)v; return us; }
static int xCurrentTimeInt64(sqlite3_vfs *v, sqlite3_int64 *t) {
    (void)v;
    *t = (sqlite3_int64)210866760000000LL + (sqlite3_int64)time(NULL) * 1000;
    return SQLITE_OK;
}
static int xCurrentTime(sqlite3_vfs *v, double *t) {
    sqlite3_int64 i;
    xCurrentTimeInt64(v, &i);
    *t = i / 86400000.0;
    return SQLITE_OK;
}
static int xGetLastError(sqlite3_vfs *v, int n, char *out) { (void)v; (void)n; (void)out; return 0; }

static sqlite3_vfs memvfs = {
    2, 0, 512, 0, "memvfs", 0,
    xOpen, xDelete, xAccess, xFullPathname, 0, 0, 0, 0,
    xRandomness, xSleep, xCurrentTime, xGetLastError, xCurrentTimeInt64, 0, 0, 0,
};

int sqlite3_os_init(void) { return sqlite3_vfs_register(&memvfs, 1); }
int sqlite3_os_end(void) { return SQLITE_OK; }
