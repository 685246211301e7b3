// Tries to reach outside the directory given as argv[1]. Every attempt
// must fail; prints one line per attempt with the result.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <wasi/api.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures = 0;

static void attempt(const char *what, int ok) {
    if (ok) {
        printf("%s: ESCAPED\n", what);
        failures++;
    } else {
        printf("%s: refused (errno %d)\n", what, errno);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    char path[512];
    int fd;

    snprintf(path, sizeof path, "%s/../outside.txt", argv[1]);
    fd = open(path, O_RDONLY);
    attempt("read ../outside.txt", fd >= 0);

    snprintf(path, sizeof path, "%s/../created.txt", argv[1]);
    fd = open(path, O_WRONLY | O_CREAT, 0644);
    attempt("create ../created.txt", fd >= 0);

    snprintf(path, sizeof path, "%s/a/../../outside.txt", argv[1]);
    fd = open(path, O_RDONLY);
    attempt("read a/../../outside.txt", fd >= 0);

    fd = open("/etc/passwd", O_RDONLY);
    attempt("read /etc/passwd", fd >= 0);

    snprintf(path, sizeof path, "%s/link-out", argv[1]);
    fd = open(path, O_RDONLY);
    attempt("read through symlink to outside", fd >= 0);

    snprintf(path, sizeof path, "%s/link-out", argv[1]);
    fd = open(path, O_WRONLY | O_TRUNC);
    attempt("truncate through symlink to outside", fd >= 0);

    snprintf(path, sizeof path, "%s/abs-link", argv[1]);
    fd = open(path, O_RDONLY);
    attempt("read through absolute symlink", fd >= 0);

    snprintf(path, sizeof path, "%s/../escaped-dir", argv[1]);
    attempt("mkdir ../escaped-dir", mkdir(path, 0755) == 0);

    char from[512], to[512];
    snprintf(from, sizeof from, "%s/inside.txt", argv[1]);
    snprintf(to, sizeof to, "%s/../moved-out.txt", argv[1]);
    attempt("rename inside.txt to ../moved-out.txt", rename(from, to) == 0);

    snprintf(path, sizeof path, "%s/../outside.txt", argv[1]);
    attempt("unlink ../outside.txt", unlink(path) == 0);

    snprintf(path, sizeof path, "%s/new-link", argv[1]);
    if (symlink("../outside.txt", path) == 0) {
        fd = open(path, O_RDONLY);
        attempt("read through a symlink the guest made", fd >= 0);
    } else {
        attempt("read through a symlink the guest made", 0);
    }

    struct stat st;
    snprintf(path, sizeof path, "%s/../outside.txt", argv[1]);
    attempt("stat ../outside.txt", stat(path, &st) == 0);

    snprintf(path, sizeof path, "%s/link-out/", argv[1]);
    fd = open(path, O_RDONLY);
    attempt("read through symlink to outside, trailing slash", fd >= 0);

    snprintf(path, sizeof path, "%s/loop", argv[1]);
    symlink("loop", path);
    fd = open(path, O_RDONLY);
    attempt("open a symlink loop", fd >= 0);

    // Renumber a subdirectory onto the preopen's descriptor: paths through
    // that number now stay inside the subdirectory.
    snprintf(path, sizeof path, "%s/sub", argv[1]);
    int sub = open(path, O_RDONLY | O_DIRECTORY);
    if (sub >= 0 && __wasi_fd_renumber(sub, 3) == 0) {
        snprintf(path, sizeof path, "%s/../outside.txt", argv[1]);
        fd = open(path, O_RDONLY);
        attempt("read ../outside.txt through a renumbered fd", fd >= 0);
    } else {
        attempt("read ../outside.txt through a renumbered fd", 0);
    }

    printf("escapes: %d\n", failures);
    return failures;
}
