// File operations inside the directory given as argv[1]: create, write,
// read, seek, stat, rename, readdir, mkdir/rmdir, unlink. Leaves
// "kept.txt" behind for the caller to check.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(cond, what) do { if (!(cond)) { printf("FAILED: %s (errno %d: %s)\n", what, errno, strerror(errno)); return 1; } } while (0)

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    if (argc < 2) { printf("usage: files DIR\n"); return 2; }
    CHECK(chdir(argv[1]) == 0, "chdir");

    FILE *f = fopen("data.txt", "w");
    CHECK(f != NULL, "create data.txt");
    for (int i = 0; i < 100; i++) fprintf(f, "line %03d\n", i);
    CHECK(fclose(f) == 0, "close data.txt");

    struct stat st;
    CHECK(stat("data.txt", &st) == 0, "stat data.txt");
    printf("size=%lld regular=%d\n", (long long)st.st_size, S_ISREG(st.st_mode));

    int fd = open("data.txt", O_RDWR);
    CHECK(fd >= 0, "open data.txt");
    CHECK(lseek(fd, 9 * 42, SEEK_SET) == 9 * 42, "lseek");
    char buf[10] = {0};
    CHECK(read(fd, buf, 9) == 9, "read");
    printf("at 42: %s", buf);
    CHECK(pwrite(fd, "LINE", 4, 0) == 4, "pwrite");
    CHECK(pread(fd, buf, 8, 0) == 8, "pread");
    buf[8] = 0;
    printf("first: %s\n", buf);
    CHECK(lseek(fd, 0, SEEK_END) == 900, "lseek end");
    CHECK(ftruncate(fd, 450) == 0, "ftruncate");
    CHECK(fstat(fd, &st) == 0 && st.st_size == 450, "fstat after truncate");
    CHECK(close(fd) == 0, "close");

    FILE *a = fopen("data.txt", "a");
    CHECK(a != NULL, "append open");
    fputs("appended\n", a);
    fclose(a);
    CHECK(stat("data.txt", &st) == 0 && st.st_size == 459, "size after append");

    CHECK(mkdir("sub", 0755) == 0, "mkdir sub");
    CHECK(rename("data.txt", "sub/moved.txt") == 0, "rename");
    CHECK(access("data.txt", F_OK) != 0 && errno == ENOENT, "old name gone");
    FILE *k = fopen("kept.txt", "w");
    CHECK(k != NULL, "create kept.txt");
    fputs("kept\n", k);
    fclose(k);

    DIR *d = opendir("sub");
    CHECK(d != NULL, "opendir");
    char *names[16];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 16) names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof(char *), cmp);
    printf("sub:");
    for (int i = 0; i < n; i++) { printf(" %s", names[i]); free(names[i]); }
    printf("\n");

    CHECK(rmdir("sub") != 0 && errno == ENOTEMPTY, "rmdir non-empty fails");
    CHECK(unlink("sub/moved.txt") == 0, "unlink");
    CHECK(rmdir("sub") == 0, "rmdir");
    CHECK(open("missing.txt", O_RDONLY) < 0 && errno == ENOENT, "missing file");
    CHECK(open("kept.txt", O_WRONLY | O_CREAT | O_EXCL, 0644) < 0 && errno == EEXIST, "O_EXCL");
    printf("ok\n");
    return 0;
}
