/* The floor for a process scan: read /proc/[pid]/stat of every process, nothing else.
 * Usage: stat_floor N  -> prints CPU ms per pass over N passes. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

static double cpu_ms(void) {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e3 + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e3;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 20;
    char path[64], buf[4096];
    long procs = 0;
    double t0 = cpu_ms();
    for (int i = 0; i < n; i++) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        procs = 0;
        while ((e = readdir(d))) {
            if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
            snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
            int fd = open(path, O_RDONLY);
            if (fd < 0) continue;
            if (read(fd, buf, sizeof buf) > 0) procs++;
            close(fd);
        }
        closedir(d);
    }
    printf("processes=%ld passes=%d cpu_ms_per_scan=%.2f\n", procs, n, (cpu_ms() - t0) / n);
    return 0;
}
