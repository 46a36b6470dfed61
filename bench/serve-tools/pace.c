/*
 * pace: an open-loop HTTP/1.1 load generator for bench/serve's "latency at a fixed load".
 *
 *     pace HOST PORT PATH BODY_FILE CONTENT_TYPE RATE CONNECTIONS WARMUP_S DURATION_S
 *
 * Why not wrk: wrk is closed-loop (each connection sends its next request when the last answer
 * arrives), so it cannot hold a rate, and a slow answer delays the requests behind it without
 * counting them as late ("coordinated omission"). wrk2 fixes both but is not in Debian, and
 * bench/serve may only install from Debian and PyPI. This program does what wrk2 does, small:
 * request k is due at start + k / RATE (a timerfd at the exact due time); it goes out on an idle
 * keep-alive connection, or waits for one; its latency is measured from its DUE time, not from
 * when it was sent, so any queueing (in the server or here) counts. Requests due in the first
 * WARMUP_S seconds are sent but not recorded. One thread, epoll, one request in flight per
 * connection; the response must carry Content-Length (chunked answers are refused as errors).
 *
 * Prints one line: rate=… sent=… completed=… errors=… achieved=… p50=… p90=… p99=… p999=… max=…
 * (latencies in milliseconds). Exit 0, or 1 on a usage or connection error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int fd;
    int busy;            /* a request is in flight */
    int64_t due;         /* its due time, ns */
    size_t sent;         /* bytes of the request written */
    char *in;            /* response bytes read so far */
    size_t in_len, in_cap;
} Conn;

static char *request;
static size_t request_len;
static struct sockaddr_in address;
static int epfd;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "pace: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void open_conn(Conn *c, int index) {
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0) die("socket");
    if (connect(c->fd, (struct sockaddr *)&address, sizeof address) != 0) die("connect");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(c->fd, F_SETFL, O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)index};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) die("epoll_ctl");
    c->busy = 0;
    c->in_len = 0;
}

static void set_writable_interest(Conn *c, int index, int on) {
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.u32 = (uint32_t)index};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes what it can of the request; returns 0, or -1 when the connection broke. */
static int push(Conn *c, int index) {
    while (c->sent < request_len) {
        ssize_t n = write(c->fd, request + c->sent, request_len - c->sent);
        if (n < 0) {
            if (errno == EAGAIN) { set_writable_interest(c, index, 1); return 0; }
            return -1;
        }
        c->sent += (size_t)n;
    }
    set_writable_interest(c, index, 0);
    return 0;
}

/* A full response in c->in? Returns its length and sets *status, 0 if incomplete, -1 if unusable. */
static long complete_response(Conn *c, int *status) {
    char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!end) return 0;
    size_t head = (size_t)(end - c->in) + 4;
    if (c->in_len < 12 || memcmp(c->in, "HTTP/1.", 7) != 0) return -1;
    *status = atoi(c->in + 9);
    long length = -1;
    for (char *line = memchr(c->in, '\n', head); line && line < end; line = memchr(line + 1, '\n', (size_t)(end - line))) {
        if (strncasecmp(line + 1, "content-length:", 15) == 0) length = atol(line + 16);
    }
    if (length < 0) return -1;
    return c->in_len >= head + (size_t)length ? (long)(head + (size_t)length) : 0;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(const double *sorted, size_t n, double p) {
    if (n == 0) return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

int main(int argc, char **argv) {
    if (argc != 10) {
        fprintf(stderr, "usage: pace HOST PORT PATH BODY_FILE CONTENT_TYPE RATE CONNECTIONS WARMUP_S DURATION_S\n");
        return 1;
    }
    const char *host = argv[1], *path = argv[3], *content_type = argv[5];
    int port = atoi(argv[2]), connections = atoi(argv[7]);
    double rate = atof(argv[6]), warmup = atof(argv[8]), duration = atof(argv[9]);
    if (rate <= 0 || connections <= 0 || duration <= 0 || warmup < 0) {
        fprintf(stderr, "pace: RATE, CONNECTIONS and DURATION_S must be positive\n");
        return 1;
    }
    FILE *f = fopen(argv[4], "rb");
    if (!f) die(argv[4]);
    struct stat st;
    fstat(fileno(f), &st);
    char header[1024];
    int header_len = snprintf(header, sizeof header,
        "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: %s\r\nContent-Length: %lld\r\n\r\n",
        path, host, port, content_type, (long long)st.st_size);
    request_len = (size_t)header_len + (size_t)st.st_size;
    request = malloc(request_len);
    memcpy(request, header, (size_t)header_len);
    if (fread(request + header_len, 1, (size_t)st.st_size, f) != (size_t)st.st_size) die("read body");
    fclose(f);

    address.sin_family = AF_INET;
    address.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &address.sin_addr) != 1) { fprintf(stderr, "pace: HOST must be an IPv4 address\n"); return 1; }

    prctl(PR_SET_TIMERSLACK, 1UL);  /* wake at the due time, not up to 50 µs later */
    epfd = epoll_create1(0);
    Conn *conns = calloc((size_t)connections, sizeof(Conn));
    for (int i = 0; i < connections; i++) open_conn(&conns[i], i);
    int timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct epoll_event tev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
    epoll_ctl(epfd, EPOLL_CTL_ADD, timer, &tev);

    const int64_t interval = (int64_t)(1e9 / rate);
    const int64_t start = now_ns() + 10000000;  /* 10 ms from now */
    const int64_t record_from = start + (int64_t)(warmup * 1e9);
    const int64_t stop = record_from + (int64_t)(duration * 1e9);
    size_t capacity = (size_t)(rate * duration * 1.1) + 16, recorded = 0;
    double *latency = malloc(capacity * sizeof(double));
    uint64_t next = 0, sent = 0, completed = 0, errors = 0;
    int64_t drain_until = stop + 2000000000;  /* answers still in flight at the end: 2 s grace */

    for (;;) {
        int64_t now = now_ns();
        /* Send every due request that has an idle connection (oldest due first). */
        for (int i = 0; i < connections; i++) {
            int64_t due = start + (int64_t)next * interval;
            if (due > now || due >= stop) break;
            Conn *c = &conns[i];
            if (c->busy) continue;
            c->busy = 1;
            c->due = due;
            c->sent = 0;
            c->in_len = 0;
            next++;
            sent++;
            if (push(c, i) != 0) { errors++; close(c->fd); open_conn(c, i); }
        }
        int64_t due = start + (int64_t)next * interval;
        int in_flight = 0;
        for (int i = 0; i < connections; i++) in_flight += conns[i].busy;
        if (due >= stop && in_flight == 0) break;
        if (now > drain_until) break;
        if (due < stop && due > now) {
            struct itimerspec spec = {.it_value = {.tv_sec = due / 1000000000, .tv_nsec = due % 1000000000}};
            timerfd_settime(timer, TFD_TIMER_ABSTIME, &spec, NULL);
        }
        struct epoll_event events[256];
        int n = epoll_wait(epfd, events, 256, due >= stop ? 100 : (due > now ? 1000 : 0));
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int e = 0; e < n; e++) {
            if (events[e].data.u32 == UINT32_MAX) { uint64_t x; (void)!read(timer, &x, sizeof x); continue; }
            int i = (int)events[e].data.u32;
            Conn *c = &conns[i];
            if (events[e].events & EPOLLOUT) { if (push(c, i) != 0) goto broken; }
            if (!(events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
            for (;;) {
                if (c->in_cap - c->in_len < 65536) {
                    c->in_cap = c->in_cap * 2 + 65536;
                    c->in = realloc(c->in, c->in_cap);
                }
                ssize_t r = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
                if (r < 0 && errno == EAGAIN) break;
                if (r <= 0) goto broken;
                c->in_len += (size_t)r;
            }
            if (c->busy) {
                int status = 0;
                long length = complete_response(c, &status);
                if (length < 0) goto broken;
                if (length > 0) {
                    int64_t done = now_ns();
                    completed++;
                    if (status != 200) errors++;
                    if (c->due >= record_from && recorded < capacity) latency[recorded++] = (double)(done - c->due) / 1e6;
                    c->busy = 0;
                    c->in_len = 0;
                }
            }
            continue;
        broken:
            if (c->busy) errors++;
            close(c->fd);
            open_conn(c, i);
        }
    }
    qsort(latency, recorded, sizeof(double), compare);
    printf("rate=%.0f sent=%llu completed=%llu errors=%llu achieved=%.0f p50=%.3f p90=%.3f p99=%.3f p999=%.3f max=%.3f\n",
        rate, (unsigned long long)sent, (unsigned long long)completed, (unsigned long long)errors,
        (double)recorded / duration, percentile(latency, recorded, 0.50), percentile(latency, recorded, 0.90),
        percentile(latency, recorded, 0.99), percentile(latency, recorded, 0.999),
        recorded ? latency[recorded - 1] : 0.0);
    return 0;
}
