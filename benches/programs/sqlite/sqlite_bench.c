// A fixed SQL workload on an in-memory SQLite database: inserts, an index,
// joins, aggregates and updates. Prints a checksum of the query results.
#include <stdio.h>
#include <stdlib.h>
#include "sqlite3.h"

static unsigned long long checksum = 1469598103934665603ULL;

static int collect(void *unused, int n, char **vals, char **names) {
    (void)unused; (void)names;
    for (int i = 0; i < n; i++) {
        const char *v = vals[i] ? vals[i] : "NULL";
        for (; *v; v++) checksum = (checksum ^ (unsigned char)*v) * 1099511628211ULL;
    }
    return 0;
}

static void exec(sqlite3 *db, const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(db, sql, collect, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "sql error: %s\n", err);
        exit(1);
    }
}

// An optional argument scales the work, in percent (default 100).
int main(int argc, char **argv) {
    int percent = argc > 1 ? atoi(argv[1]) : 100;
    if (percent < 1) percent = 1;
    sqlite3 *db;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) return 1;
    exec(db, "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, city INTEGER)");
    exec(db, "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer INTEGER, amount REAL, item TEXT)");
    exec(db, "BEGIN");
    sqlite3_stmt *c, *o;
    sqlite3_prepare_v2(db, "INSERT INTO customers VALUES(?, ?, ?)", -1, &c, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO orders VALUES(?, ?, ?, ?)", -1, &o, NULL);
    unsigned x = 2463534242u;
    char buf[64];
    for (int i = 0; i < 20000 * percent / 100; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        snprintf(buf, sizeof buf, "customer-%u", x % 100000);
        sqlite3_bind_int(c, 1, i);
        sqlite3_bind_text(c, 2, buf, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(c, 3, x % 97);
        sqlite3_step(c);
        sqlite3_reset(c);
    }
    for (int i = 0; i < 300000 * percent / 100; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        snprintf(buf, sizeof buf, "item-%u", x % 5000);
        sqlite3_bind_int(o, 1, i);
        sqlite3_bind_int(o, 2, x % 20000);
        sqlite3_bind_double(o, 3, (x % 100000) / 100.0);
        sqlite3_bind_text(o, 4, buf, -1, SQLITE_TRANSIENT);
        sqlite3_step(o);
        sqlite3_reset(o);
    }
    sqlite3_finalize(c);
    sqlite3_finalize(o);
    exec(db, "COMMIT");
    exec(db, "CREATE INDEX orders_by_customer ON orders(customer)");
    exec(db, "SELECT city, count(*), printf('%.2f', sum(amount)) FROM orders JOIN customers ON customers.id = orders.customer GROUP BY city ORDER BY city");
    exec(db, "SELECT item, count(*) AS n FROM orders GROUP BY item ORDER BY n DESC, item LIMIT 20");
    exec(db, "UPDATE orders SET amount = amount * 1.1 WHERE item LIKE 'item-1%'");
    exec(db, "SELECT printf('%.2f', avg(amount)), max(amount), min(amount) FROM orders");
    exec(db, "DELETE FROM orders WHERE amount < 100");
    exec(db, "SELECT count(*), sum(customer) FROM orders");
    sqlite3_close(db);
    printf("%016llx\n", checksum);
    return 0;
}
