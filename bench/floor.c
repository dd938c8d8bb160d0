/* The I/O floor of a build: read every referral file of a project and write files into an
 * output folder, with plain C and nothing else, so that a build's time can be set against
 * the least any tool needs to move the same bytes.
 *
 * Usage: floor REFERRALS_DIR OUT_DIR [SHAPE]   (OUT_DIR must exist and be empty)
 *
 * Without SHAPE it writes one file per referral file, of the same size. With SHAPE, a file
 * of `SIZE PATH` lines (SIZE -1 for a folder, folders listed before their files), it writes
 * exactly those folders and files: the shape of a real build's output, so that the floor
 * writes as many bytes as the build does.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char buffer[1 << 20];
static long files;

static void write_file(const char *name, const char *bytes, size_t n) {
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { perror(name); exit(1); }
    while (n > 0) {
        ssize_t done = write(fd, bytes, n);
        if (done <= 0) { perror(name); exit(1); }
        n -= (size_t)done;
    }
    close(fd);
}

static ssize_t read_file(const char *path) {
    int in = open(path, O_RDONLY);
    if (in < 0) { perror(path); exit(1); }
    ssize_t n = read(in, buffer, sizeof buffer);
    close(in);
    if (n < 0) { perror(path); exit(1); }
    return n;
}

/* Reads every file under `dir`; without a shape, writes a copy of each into `out`. */
static void walk(const char *dir, const char *out) {
    DIR *d = opendir(dir);
    if (!d) { perror(dir); exit(1); }
    struct dirent *entry;
    while ((entry = readdir(d))) {
        if (entry->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        struct stat st;
        if (stat(path, &st) != 0) { perror(path); exit(1); }
        if (S_ISDIR(st.st_mode)) { walk(path, out); continue; }
        ssize_t n = read_file(path);
        if (out) {
            char name[4096];
            snprintf(name, sizeof name, "%s/%ld.txt", out, files);
            write_file(name, buffer, (size_t)n);
        }
        files++;
    }
    closedir(d);
}

/* Writes the folders and files a shape file lists, under `out`. */
static void write_shape(const char *shape, const char *out) {
    FILE *list = fopen(shape, "r");
    if (!list) { perror(shape); exit(1); }
    long size, largest = 0;
    char relative[4096];
    while (fscanf(list, "%ld %4095s", &size, relative) == 2) if (size > largest) largest = size;
    char *filler = malloc((size_t)largest + 1);
    if (!filler) { perror("malloc"); exit(1); }
    memset(filler, 'x', (size_t)largest + 1);
    rewind(list);
    files = 0;
    while (fscanf(list, "%ld %4095s", &size, relative) == 2) {
        char name[8192];
        snprintf(name, sizeof name, "%s/%s", out, relative);
        if (size < 0) {
            if (mkdir(name, 0755) != 0) { perror(name); exit(1); }
            continue;
        }
        write_file(name, filler, (size_t)size);
        files++;
    }
    fclose(list);
    free(filler);
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: floor REFERRALS_DIR OUT_DIR [SHAPE]\n");
        return 2;
    }
    walk(argv[1], argc == 4 ? NULL : argv[2]);
    if (argc == 4) write_shape(argv[3], argv[2]);
    printf("%ld files written\n", files);
    return 0;
}
