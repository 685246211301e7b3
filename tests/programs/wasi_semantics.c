// WASI preview1 semantics as the specification and Wasmtime define them,
// checked call by call with the raw API: rights per descriptor, path_open's
// flags, trailing slashes, symlinks, `..` and absolute paths, fdflags,
// append mode with pwrite, sockets. Run with one preopened, empty,
// writable directory; prints one line per check and "N failed" at the end.
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

static int failures = 0;

static void check(const char *what, __wasi_errno_t got, __wasi_errno_t want) {
    if (got == want) {
        printf("ok   %s\n", what);
    } else {
        printf("FAIL %s: errno %d, expected %d\n", what, got, want);
        failures++;
    }
}

static void check_true(const char *what, int cond) {
    printf("%s %s\n", cond ? "ok  " : "FAIL", what);
    if (!cond) failures++;
}

static __wasi_fd_t dirfd;

// path_open with an explicit path length (the libc wrapper uses strlen).
__attribute__((import_module("wasi_snapshot_preview1"), import_name("path_open")))
int32_t raw_path_open_import(int32_t fd, int32_t dirflags, int32_t path, int32_t path_len,
                             int32_t oflags, int64_t base, int64_t inheriting, int32_t fdflags,
                             int32_t result);

static __wasi_errno_t raw_path_open(__wasi_fd_t dir, __wasi_lookupflags_t lookup, const char *path,
                                    size_t len, __wasi_oflags_t oflags, __wasi_rights_t base,
                                    __wasi_rights_t inheriting, __wasi_fdflags_t fdflags,
                                    __wasi_fd_t *out) {
    return (__wasi_errno_t)raw_path_open_import((int32_t)dir, (int32_t)lookup, (int32_t)path,
                                                (int32_t)len, oflags, (int64_t)base,
                                                (int64_t)inheriting, fdflags, (int32_t)out);
}

static __wasi_errno_t open_at(__wasi_fd_t dir, __wasi_lookupflags_t lookup, const char *path,
                              __wasi_oflags_t oflags, __wasi_rights_t base,
                              __wasi_rights_t inheriting, __wasi_fdflags_t fdflags,
                              __wasi_fd_t *out) {
    return __wasi_path_open(dir, lookup, path, oflags, base, inheriting, fdflags, out);
}

static __wasi_errno_t create(const char *path) {
    __wasi_fd_t fd;
    __wasi_errno_t e = open_at(dirfd, 0, path, __WASI_OFLAGS_CREAT, 0, 0, 0, &fd);
    if (e == 0) __wasi_fd_close(fd);
    return e;
}

static __wasi_errno_t write_str(__wasi_fd_t fd, const char *s, __wasi_size_t *n) {
    __wasi_ciovec_t iov = {(const uint8_t *)s, strlen(s)};
    return __wasi_fd_write(fd, &iov, 1, n);
}

static __wasi_errno_t read_n(__wasi_fd_t fd, char *buf, size_t len, __wasi_size_t *n) {
    __wasi_iovec_t iov = {(uint8_t *)buf, len};
    return __wasi_fd_read(fd, &iov, 1, n);
}

int main(void) {
    // The first preopen is the scratch directory.
    __wasi_prestat_t pre;
    for (dirfd = 3; __wasi_fd_prestat_get(dirfd, &pre) != 0; dirfd++) {
        if (dirfd > 64) {
            printf("no preopen\n");
            return 2;
        }
    }
    __wasi_fdstat_t st;
    __wasi_fd_t fd, fd2;
    __wasi_size_t n;
    char buf[16];

    // The preopen's rights: directory operations, no FD_WRITE / FD_SEEK in
    // its base; files opened inside may get read and write.
    check("preopen fdstat", __wasi_fd_fdstat_get(dirfd, &st), 0);
    check_true("preopen base has PATH_OPEN and PATH_CREATE_FILE",
               (st.fs_rights_base & (__WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_PATH_CREATE_FILE)) ==
                   (__WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_PATH_CREATE_FILE));
    check_true("preopen base lacks FD_WRITE and FD_SEEK",
               (st.fs_rights_base & (__WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK)) == 0);
    check_true("preopen inheriting has FD_READ and FD_WRITE",
               (st.fs_rights_inheriting & (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE)) ==
                   (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE));
    check("open . DIRECTORY rights 0", open_at(dirfd, 0, ".", __WASI_OFLAGS_DIRECTORY, 0, 0, 0, &fd), 0);
    __wasi_fd_close(fd);
    check("open . DIRECTORY with FD_WRITE is EISDIR",
          open_at(dirfd, 0, ".", __WASI_OFLAGS_DIRECTORY,
                  __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE, 0, 0, &fd),
          __WASI_ERRNO_ISDIR);

    // Creating with no rights at all, and exclusively.
    check("create with rights 0", create("file"), 0);
    check("CREAT|EXCL on an existing file is EEXIST",
          open_at(dirfd, 0, "file", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, 0, 0, 0, &fd),
          __WASI_ERRNO_EXIST);
    // DIRECTORY with FD_WRITE looks the path up first, as
    // open(O_DIRECTORY | O_WRONLY) does: only a directory is EISDIR.
    check("open missing DIRECTORY with FD_WRITE is ENOENT",
          open_at(dirfd, 0, "missing", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_WRITE, 0, 0, &fd),
          __WASI_ERRNO_NOENT);
    check("open file DIRECTORY with FD_WRITE is ENOTDIR",
          open_at(dirfd, 0, "file", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_WRITE, 0, 0, &fd),
          __WASI_ERRNO_NOTDIR);

    // Rights decide what a descriptor may do.
    check("open for write only", open_at(dirfd, 0, "file", 0, __WASI_RIGHTS_FD_WRITE, 0, 0, &fd), 0);
    __wasi_fd_fdstat_get(fd, &st);
    check_true("write-only fd has FD_WRITE, not FD_READ",
               (st.fs_rights_base & __WASI_RIGHTS_FD_WRITE) && !(st.fs_rights_base & __WASI_RIGHTS_FD_READ));
    check_true("a file's rights hold no PATH_ rights", (st.fs_rights_base & __WASI_RIGHTS_PATH_OPEN) == 0);
    check("write on a write-only fd", write_str(fd, "hello", &n), 0);
    check("read on a write-only fd is EBADF", read_n(fd, buf, sizeof buf, &n), __WASI_ERRNO_BADF);
    __wasi_fd_close(fd);
    check("open for read only", open_at(dirfd, 0, "file", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd), 0);
    check("write on a read-only fd is EBADF", write_str(fd, "x", &n), __WASI_ERRNO_BADF);
    check("read on a read-only fd", read_n(fd, buf, sizeof buf, &n), 0);
    check_true("read what was written", n == 5 && memcmp(buf, "hello", 5) == 0);
    __wasi_fd_close(fd);

    // fd_fdstat_set_rights drops rights, never adds them back.
    open_at(dirfd, 0, "file", 0,
            __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL,
            0, 0, &fd);
    __wasi_fd_fdstat_get(fd, &st);
    check("drop FD_READ|FD_WRITE",
          __wasi_fd_fdstat_set_rights(fd, st.fs_rights_base & ~(__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE),
                                      st.fs_rights_inheriting),
          0);
    __wasi_fdstat_t st2;
    __wasi_fd_fdstat_get(fd, &st2);
    check_true("dropped rights are gone, FD_SEEK stays",
               !(st2.fs_rights_base & (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE)) &&
                   (st2.fs_rights_base & __WASI_RIGHTS_FD_SEEK));
    check("read after dropping FD_READ is EBADF", read_n(fd, buf, sizeof buf, &n), __WASI_ERRNO_BADF);
    check("write after dropping FD_WRITE is EBADF", write_str(fd, "x", &n), __WASI_ERRNO_BADF);
    check("adding a right back is ENOTCAPABLE",
          __wasi_fd_fdstat_set_rights(fd, st.fs_rights_base, st.fs_rights_inheriting),
          __WASI_ERRNO_NOTCAPABLE);
    __wasi_fd_close(fd);

    // Truncation needs PATH_FILESTAT_SET_SIZE on the directory, not FD_WRITE.
    check("open a directory to drop its rights", open_at(dirfd, 0, ".", __WASI_OFLAGS_DIRECTORY,
          __WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_PATH_FILESTAT_SET_SIZE, __WASI_RIGHTS_FD_READ, 0, &fd2), 0);
    check("TRUNC with no file rights", open_at(fd2, 0, "file", __WASI_OFLAGS_TRUNC, 0, 0, 0, &fd), 0);
    __wasi_filestat_t fs;
    __wasi_fd_filestat_get(fd, &fs);
    check_true("the file was truncated", fs.size == 0);
    __wasi_fd_close(fd);
    __wasi_fd_fdstat_set_rights(fd2, __WASI_RIGHTS_PATH_OPEN, __WASI_RIGHTS_FD_READ);
    check("TRUNC without PATH_FILESTAT_SET_SIZE is EPERM",
          open_at(fd2, 0, "file", __WASI_OFLAGS_TRUNC, 0, 0, 0, &fd), __WASI_ERRNO_PERM);
    __wasi_fd_close(fd2);

    // A file descriptor is not a directory.
    open_at(dirfd, 0, "file", 0, 0, 0, 0, &fd);
    check("path_open relative to a file is ENOTDIR",
          open_at(fd, 0, "x", __WASI_OFLAGS_CREAT, 0, 0, 0, &fd2), __WASI_ERRNO_NOTDIR);
    // isatty: a file is no character device.
    __wasi_fd_fdstat_get(fd, &st);
    check_true("a file's filetype is REGULAR_FILE", st.fs_filetype == __WASI_FILETYPE_REGULAR_FILE);
    __wasi_fd_close(fd);

    // fdflags are kept and reported.
    check("open with APPEND|SYNC",
          open_at(dirfd, 0, "flags", __WASI_OFLAGS_CREAT, __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK |
                  __WASI_RIGHTS_FD_TELL | __WASI_RIGHTS_FD_FDSTAT_SET_FLAGS, 0,
                  __WASI_FDFLAGS_APPEND | __WASI_FDFLAGS_SYNC, &fd), 0);
    __wasi_fd_fdstat_get(fd, &st);
    check_true("fdstat reports APPEND and SYNC",
               (st.fs_flags & (__WASI_FDFLAGS_APPEND | __WASI_FDFLAGS_SYNC)) ==
                   (__WASI_FDFLAGS_APPEND | __WASI_FDFLAGS_SYNC));
    // Append mode: writes go to the end, pwrite to its offset.
    write_str(fd, "ab", &n);
    __wasi_filesize_t pos;
    __wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos);
    write_str(fd, "cd", &n);
    __wasi_fd_seek(fd, 0, __WASI_WHENCE_CUR, &pos);
    check_true("append writes at the end", pos == 4);
    __wasi_ciovec_t iov = {(const uint8_t *)"XYZ", 3};
    check("pwrite in append mode", __wasi_fd_pwrite(fd, &iov, 1, 0, &n), 0);
    check_true("pwrite wrote 3 bytes", n == 3);
    __wasi_fd_seek(fd, 0, __WASI_WHENCE_CUR, &pos);
    check_true("pwrite leaves the position", pos == 4);
    // fd_fdstat_set_flags changes what fdstat reports.
    check("set_flags NONBLOCK", __wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_NONBLOCK), 0);
    __wasi_fd_fdstat_get(fd, &st);
    check_true("fdstat reports NONBLOCK, not APPEND, once set",
               (st.fs_flags & (__WASI_FDFLAGS_APPEND | __WASI_FDFLAGS_NONBLOCK)) == __WASI_FDFLAGS_NONBLOCK);
    check("set_flags 0", __wasi_fd_fdstat_set_flags(fd, 0), 0);
    __wasi_fd_fdstat_get(fd, &st);
    check_true("fdstat no longer reports NONBLOCK once cleared", (st.fs_flags & __WASI_FDFLAGS_NONBLOCK) == 0);
    __wasi_fd_close(fd);

    // Trailing slashes.
    check("mkdir dir", __wasi_path_create_directory(dirfd, "dir"), 0);
    check("open file/ is ENOTDIR", open_at(dirfd, 0, "file/", 0, 0, 0, 0, &fd), __WASI_ERRNO_NOTDIR);
    check("open dir/ works", open_at(dirfd, 0, "dir/", 0, 0, 0, 0, &fd), 0);
    __wasi_fd_close(fd);
    check("unlink dir is EISDIR", __wasi_path_unlink_file(dirfd, "dir"), __WASI_ERRNO_ISDIR);
    check("unlink dir/ is EISDIR", __wasi_path_unlink_file(dirfd, "dir/"), __WASI_ERRNO_ISDIR);
    check("unlink file/ is ENOTDIR", __wasi_path_unlink_file(dirfd, "file/"), __WASI_ERRNO_NOTDIR);
    check("rmdir file is ENOTDIR", __wasi_path_remove_directory(dirfd, "file"), __WASI_ERRNO_NOTDIR);
    check("rmdir file/ is ENOTDIR", __wasi_path_remove_directory(dirfd, "file/"), __WASI_ERRNO_NOTDIR);
    check("rmdir dir/", __wasi_path_remove_directory(dirfd, "dir/"), 0);
    check("symlink to missing x/ is ENOENT", __wasi_path_symlink("source", dirfd, "x/"), __WASI_ERRNO_NOENT);
    check("symlink over file/ is ENOTDIR", __wasi_path_symlink("source", dirfd, "file/"), __WASI_ERRNO_NOTDIR);
    check("symlink over file is EEXIST", __wasi_path_symlink("source", dirfd, "file"), __WASI_ERRNO_EXIST);
    check("link to missing x/ is ENOENT", __wasi_path_link(dirfd, 0, "file", dirfd, "x/"), __WASI_ERRNO_NOENT);
    check("link with SYMLINK_FOLLOW is EINVAL (as in Wasmtime and the WASI testsuite)",
          __wasi_path_link(dirfd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "file", dirfd, "linked"),
          __WASI_ERRNO_INVAL);
    // rename: a trailing slash on either name needs a directory (a file is
    // neither moved nor does it replace the target).
    check("create file2", create("file2"), 0);
    check("rename file/ is ENOTDIR", __wasi_path_rename(dirfd, "file/", dirfd, "moved"), __WASI_ERRNO_NOTDIR);
    check("rename onto file2/ is ENOTDIR", __wasi_path_rename(dirfd, "file", dirfd, "file2/"), __WASI_ERRNO_NOTDIR);
    check("rename onto missing x/ is ENOTDIR", __wasi_path_rename(dirfd, "file", dirfd, "x/"), __WASI_ERRNO_NOTDIR);
    check("mkdir d2", __wasi_path_create_directory(dirfd, "d2"), 0);
    check("rename d2/ to d3/", __wasi_path_rename(dirfd, "d2/", dirfd, "d3/"), 0);
    check("rmdir d3", __wasi_path_remove_directory(dirfd, "d3"), 0);
    check("unlink file2", __wasi_path_unlink_file(dirfd, "file2"), 0);
    // fd_allocate needs a descriptor open for writing, as posix_fallocate.
    check("open file read-only",
          open_at(dirfd, 0, "file", 0, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_ALLOCATE, 0, 0, &fd), 0);
    check("fd_allocate read-only is EBADF", __wasi_fd_allocate(fd, 0, 100), __WASI_ERRNO_BADF);
    __wasi_fd_close(fd);

    // Symlinks and lookupflags.
    check("mkdir sub", __wasi_path_create_directory(dirfd, "sub"), 0);
    check("symlink to a directory", __wasi_path_symlink("sub", dirfd, "link"), 0);
    check("DIRECTORY through a symlink, no follow, is ENOTDIR",
          open_at(dirfd, 0, "link", __WASI_OFLAGS_DIRECTORY, 0, 0, 0, &fd), __WASI_ERRNO_NOTDIR);
    check("DIRECTORY through a symlink, follow",
          open_at(dirfd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "link", __WASI_OFLAGS_DIRECTORY, 0, 0, 0, &fd), 0);
    __wasi_fd_close(fd);
    check("symlink to a file", __wasi_path_symlink("file", dirfd, "flink"), 0);
    check("open a symlink, no follow, is ELOOP", open_at(dirfd, 0, "flink", 0, 0, 0, 0, &fd), __WASI_ERRNO_LOOP);
    check("DIRECTORY through a symlink to a file, follow, is ENOTDIR",
          open_at(dirfd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "flink", __WASI_OFLAGS_DIRECTORY, 0, 0, 0, &fd),
          __WASI_ERRNO_NOTDIR);
    check("an absolute symlink target is refused (EPERM)",
          __wasi_path_symlink("/", dirfd, "abs"), __WASI_ERRNO_PERM);
    char target[8] = "........";
    __wasi_size_t used;
    check("readlink into a small buffer", __wasi_path_readlink(dirfd, "flink", (uint8_t *)target, 2, &used), 0);
    check_true("readlink truncates", used == 2 && memcmp(target, "fi..", 4) == 0);

    // Escapes: absolute paths and `..` out of the directory descriptor.
    check("absolute path is EPERM", open_at(dirfd, 0, "/file", 0, 0, 0, 0, &fd), __WASI_ERRNO_PERM);
    open_at(dirfd, 0, "sub", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_PATH_OPEN, __WASI_RIGHTS_FD_READ, 0, &fd2);
    check("`..` out of a directory fd is EPERM", open_at(fd2, 0, "../file", 0, 0, 0, 0, &fd), __WASI_ERRNO_PERM);
    check("mkdir sub/inner", __wasi_path_create_directory(dirfd, "sub/inner"), 0);
    check("`..` that stays inside the directory fd",
          open_at(fd2, 0, "inner/.././/inner/", __WASI_OFLAGS_DIRECTORY, 0, 0, 0, &fd), 0);
    __wasi_fd_close(fd);
    __wasi_fd_close(fd2);
    check("a path with a NUL is EINVAL", raw_path_open(dirfd, 0, "fi\0le", 5, 0, 0, 0, 0, &fd),
          __WASI_ERRNO_INVAL);

    // fstflags: SET and SET_NOW together are invalid.
    open_at(dirfd, 0, "file", 0, __WASI_RIGHTS_FD_FILESTAT_SET_TIMES, 0, 0, &fd);
    check("MTIM|MTIM_NOW is EINVAL",
          __wasi_fd_filestat_set_times(fd, 100, 200, __WASI_FSTFLAGS_MTIM | __WASI_FSTFLAGS_MTIM_NOW),
          __WASI_ERRNO_INVAL);
    __wasi_fd_close(fd);

    // fd_renumber closes the source; sockets do not exist.
    open_at(dirfd, 0, "file", 0, 0, 0, 0, &fd);
    open_at(dirfd, 0, "flags", 0, 0, 0, 0, &fd2);
    check("renumber", __wasi_fd_renumber(fd2, fd), 0);
    check("the renumbered source is closed", __wasi_fd_fdstat_get(fd2, &st), __WASI_ERRNO_BADF);
    check("sock_shutdown on a closed fd is EBADF", __wasi_sock_shutdown(fd2, __WASI_SDFLAGS_RD), __WASI_ERRNO_BADF);
    check("sock_shutdown on a file is ENOTSOCK", __wasi_sock_shutdown(fd, __WASI_SDFLAGS_RD), __WASI_ERRNO_NOTSOCK);
    check("sock_shutdown on stdout is ENOTSOCK", __wasi_sock_shutdown(1, __WASI_SDFLAGS_RD), __WASI_ERRNO_NOTSOCK);
    __wasi_fd_close(fd);

    printf("%d failed\n", failures);
    return failures != 0;
}
