/* LD_PRELOAD shim for bench/statsd.sh: gives every UDP socket a program binds the receive
 * buffer in $BENCH_RCVBUF (bytes, plain SO_RCVBUF, so the kernel caps it at
 * net.core.rmem_max exactly as it does for lookout's `receive_buffer`). Used for the peers
 * that have no setting for it (Etsy statsd, collectd's statsd plugin), so that all three
 * daemons get the same kernel buffer. Build: cc -O2 -shared -fPIC -o udp_rcvbuf.so udp_rcvbuf.c -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/socket.h>

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
    static int (*real_bind)(int, const struct sockaddr *, socklen_t);
    if (!real_bind) real_bind = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
    int type = 0;
    socklen_t tl = sizeof type;
    const char *want = getenv("BENCH_RCVBUF");
    if (want && addr && (addr->sa_family == AF_INET || addr->sa_family == AF_INET6) &&
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_DGRAM) {
        int size = atoi(want);
        if (size > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
    return real_bind(fd, addr, len);
}
