/* StatsD load over loopback UDP for bench/statsd.sh: LINES lines per datagram, counter names
 * cycling over bench.c0 .. bench.c<NAMES-1> (`bench.cK:1|c`, plus SUFFIX if given, e.g.
 * `|#env:bench,zone:a` for DogStatsD tags), paced to RATE lines/s in 1 ms slices for SECONDS
 * seconds, sent with sendmmsg on a connected socket (up to 64 datagrams per call).
 * Sends whole datagrams only: RATE * SECONDS rounded down to a multiple of LINES.
 *
 *   statsd_load PORT RATE SECONDS [LINES=20] [NAMES=100] [SUFFIX=""]
 *
 * Prints one line: sent_lines=N datagrams=N seconds=S lines_per_s=R */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s PORT RATE SECONDS [LINES] [NAMES] [SUFFIX]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    double rate = atof(argv[2]), secs = atof(argv[3]);
    int lines = argc > 4 ? atoi(argv[4]) : 20;
    int names = argc > 5 ? atoi(argv[5]) : 100;
    const char *suffix = argc > 6 ? argv[6] : "";
    if (port <= 0 || rate <= 0 || secs <= 0 || lines <= 0 || names <= 0) {
        fprintf(stderr, "statsd_load: bad arguments\n");
        return 2;
    }

    /* names / gcd(names, lines) distinct datagrams cover every name equally; build that many */
    int g = names, b = lines;
    while (b) { int t = g % b; g = b; b = t; }
    int kinds = names / g;
    char **dg = calloc(kinds, sizeof *dg);
    size_t *len = calloc(kinds, sizeof *len);
    for (int k = 0; k < kinds; k++) {
        size_t cap = (size_t)lines * (32 + strlen(suffix));
        dg[k] = malloc(cap);
        size_t n = 0;
        for (int i = 0; i < lines; i++) {
            int id = (k * lines + i) % names;
            n += snprintf(dg[k] + n, cap - n, "%sbench.c%d:1|c%s", i ? "\n" : "", id, suffix);
        }
        len[k] = n;
    }

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int sndbuf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0) {
        perror("statsd_load: connect");
        return 1;
    }

    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    long long total = (long long)(rate * secs) / lines, sent = 0;
    double start = now(), elapsed = 0;
    while (sent < total) {
        elapsed = now() - start;
        if (elapsed >= secs + 1.0) break; /* cannot keep up: stop one second late at most */
        long long due = (long long)(rate * elapsed) / lines;
        if (due > total) due = total;
        if (due <= sent) {
            struct timespec slice = {0, 1000000};
            nanosleep(&slice, NULL);
            continue;
        }
        while (sent < due) {
            int n = due - sent < BATCH ? (int)(due - sent) : BATCH;
            for (int i = 0; i < n; i++) {
                int k = (int)((sent + i) % kinds);
                iov[i].iov_base = dg[k];
                iov[i].iov_len = len[k];
                memset(&msgs[i], 0, sizeof msgs[i]);
                msgs[i].msg_hdr.msg_iov = &iov[i];
                msgs[i].msg_hdr.msg_iovlen = 1;
            }
            int r = sendmmsg(fd, msgs, n, 0);
            if (r < 0) {
                /* loopback refuses nothing but ECONNREFUSED (no listener yet) or ENOBUFS */
                perror("statsd_load: sendmmsg");
                struct timespec pause = {0, 1000000};
                nanosleep(&pause, NULL);
                continue;
            }
            sent += r;
        }
    }
    elapsed = now() - start;
    printf("sent_lines=%lld datagrams=%lld seconds=%.3f lines_per_s=%.0f\n", sent * lines, sent,
           elapsed, sent * lines / elapsed);
    return 0;
}
