/* The I/O floor of a build: read every referral file of a project and write as many files of
 * the same sizes into an output folder, with plain C and nothing else, so that a build's time
 * can be set against the least any tool needs to move the same bytes.
 *
 * Usage: floor REFERRALS_DIR OUT_DIR   (OUT_DIR must exist and be empty)
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

static void copy(const char *path, const char *out) {
    int in = open(path, O_RDONLY);
    if (in < 0) { perror(path); exit(1); }
    ssize_t n = read(in, buffer, sizeof buffer);
    close(in);
    if (n < 0) { perror(path); exit(1); }
    char name[4096];
    snprintf(name, sizeof name, "%s/%ld.txt", out, files++);
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, buffer, (size_t)n) != n) { perror(name); exit(1); }
    close(fd);
}

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
        if (S_ISDIR(st.st_mode)) walk(path, out);
        else copy(path, out);
    }
    closedir(d);
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: floor REFERRALS_DIR OUT_DIR\n"); return 2; }
    walk(argv[1], argv[2]);
    printf("%ld files\n", files);
    return 0;
}
