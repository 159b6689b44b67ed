/* A plain C host (SIGPIPE at its default action) against servers that misbehave on purpose:
 * the library must never kill the host with a signal, never hang it past its timeouts, and
 * report each failure with a clear code.
 *
 * Every server here is a thread of this program on 127.0.0.1; no other server is needed.
 *
 *   silent          accepts, reads the request, never answers
 *   tls-to-plain    an https:// endpoint that answers in plain HTTP and resets
 *   reset-mid-body  reads part of a large request body, then resets (direct and as a proxy)
 *   redirect        answers every request with 302
 *   slow-upgrade    answers a WebSocket upgrade after 3 s (longer than the connect timeout)
 *   storage-500     a storage proxy that always answers 500 (or 503)
 *   drop-after      closes each kept-alive connection right after its answer
 */
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- a tiny server framework */

typedef void (*behaviour_fn)(int fd, void *arg);

struct server {
    int listen_fd;
    int port;
    behaviour_fn fn;
    void *arg;
    pthread_t thread;
    int stop;
    /* Signalled when the behaviour reached its waiting point (for ordering without sleeps). */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int reached;
    int conns;
};

static void server_signal_reached(struct server *s)
{
    pthread_mutex_lock(&s->mu);
    s->reached++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void server_wait_reached(struct server *s, int n)
{
    pthread_mutex_lock(&s->mu);
    while (s->reached < n) pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

struct conn_arg {
    struct server *s;
    int fd;
};

static void *conn_main(void *p)
{
    struct conn_arg *c = p;
    c->s->fn(c->fd, c->s);
    close(c->fd);
    free(c);
    return NULL;
}

static void *accept_main(void *p)
{
    struct server *s = p;
    for (;;) {
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0) {
            if (s->stop) return NULL;
            continue;
        }
        if (s->stop) {
            close(fd);
            return NULL;
        }
        s->conns++;
        struct conn_arg *c = malloc(sizeof *c);
        c->s = s;
        c->fd = fd;
        pthread_t t;
        pthread_create(&t, NULL, conn_main, c);
        pthread_detach(t);
    }
}

static void server_start(struct server *s, behaviour_fn fn)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->fn = fn;
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->listen_fd, 64) != 0) {
        perror("bind/listen");
        exit(2);
    }
    socklen_t len = sizeof a;
    getsockname(s->listen_fd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->thread, NULL, accept_main, s);
}

static void server_stop(struct server *s)
{
    s->stop = 1;
    shutdown(s->listen_fd, SHUT_RDWR);
    close(s->listen_fd);
    pthread_join(s->thread, NULL);
}

/* Reads up to the end of the request head; returns its length (the head is in buf). */
static int read_head(int fd, char *buf, int cap)
{
    int n = 0;
    while (n < cap - 1) {
        ssize_t r = read(fd, buf + n, 1);
        if (r <= 0) return -1;
        n++;
        buf[n] = '\0';
        if (n >= 4 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0) return n;
    }
    return -1;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        p += w;
        n -= (size_t)w;
    }
}

static void answer(int fd, const char *status, const char *extra, const char *body)
{
    char head[1024];
    snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n", status,
             strlen(body), extra ? extra : "");
    write_all(fd, head, strlen(head));
    write_all(fd, body, strlen(body));
}

static void reset(int fd)
{
    struct linger l = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

static const char *VERSIONS = "{\"version\": \"v7.20230615\", \"manager\": \"23.09.10\"}";

/* Whether the request head has a header of this name (any case). */
static int has_header(const char *head, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
        const char *h = p + 2;
        size_t i = 0;
        while (i < n && h[i] != '\0' && (h[i] | 0x20) == (name[i] | 0x20)) i++;
        if (i == n && h[i] == ':') return 1;
    }
    return 0;
}

/* The version probe of bai_session_new() gets a normal answer; returns 1 if it was that. */
static int probe(int fd, const char *head)
{
    /* "GET / HTTP/1.1", or the absolute form a proxy gets: "GET http://host:port/ HTTP/1.1". */
    const char *target = head + 4, *end = strchr(target, ' ');
    int root = strncmp(head, "GET ", 4) == 0 && end != NULL && end > target && end[-1] == '/' &&
               (end - target == 1 || (strncmp(target, "http://", 7) == 0 && memchr(target + 7, '/', (size_t)(end - target - 7)) == end - 1));
    if (root && !has_header(head, "authorization")) {
        answer(fd, "200 OK", NULL, VERSIONS);
        return 1;
    }
    return 0;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static bai_session_t *open_session(const char *endpoint, void (*tune)(bai_config_t *))
{
    bai_config_t *cfg = NULL;
    bai_session_t *s = NULL;
    CHECK_CODE(bai_config_new(&cfg), BAI_OK);
    CHECK_CODE(bai_config_set_endpoint(cfg, endpoint), BAI_OK);
    CHECK_CODE(bai_config_set_keypair(cfg, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), BAI_OK);
    CHECK_CODE(bai_config_set_connect_timeout_ms(cfg, 2000), BAI_OK);
    if (tune) tune(cfg);
    bai_code_t c = bai_session_new(cfg, &s);
    if (c != BAI_OK) fprintf(stderr, "bai_session_new: %s: %s\n", bai_code_name(c), bai_last_error_message());
    CHECK(c == BAI_OK);
    bai_config_free(cfg);
    return s;
}

static char endpoint_buf[128];
static const char *endpoint(const char *scheme, int port)
{
    snprintf(endpoint_buf, sizeof endpoint_buf, "%s://127.0.0.1:%d", scheme, port);
    return endpoint_buf;
}

/* ---------------------------------------------------------------- silent */

static void silent(int fd, void *arg)
{
    struct server *s = arg;
    char head[8192];
    while (read_head(fd, head, sizeof head) > 0) {
        if (probe(fd, head)) continue;
        server_signal_reached(s);
        /* Hold the connection without answering until the client goes away. */
        char b[256];
        while (read(fd, b, sizeof b) > 0) {}
        return;
    }
}

static void tune_request_timeout(bai_config_t *c) { CHECK_CODE(bai_config_set_request_timeout_ms(c, 1500), BAI_OK); }
static void tune_read_timeout(bai_config_t *c) { CHECK_CODE(bai_config_set_read_timeout_ms(c, 1000), BAI_OK); }
static void tune_no_timeouts(bai_config_t *c) { CHECK_CODE(bai_config_set_read_timeout_ms(c, 0), BAI_OK); }

struct cancel_arg {
    bai_session_t *s;
    bai_code_t code;
};

static void *versions_thread(void *p)
{
    struct cancel_arg *a = p;
    bai_buf_t b = {NULL, 0};
    a->code = bai_system_get_versions(a->s, &b);
    bai_buf_dispose(&b);
    return NULL;
}

static void test_silent(void)
{
    struct server srv;
    server_start(&srv, silent);
    bai_buf_t b = {NULL, 0};

    /* The request timeout bounds a call to a server that never answers. */
    bai_session_t *s = open_session(endpoint("http", srv.port), tune_request_timeout);
    double t0 = now_s();
    CHECK_CODE(bai_system_get_versions(s, &b), BAI_E_TIMEOUT);
    double took = now_s() - t0;
    CHECK(took >= 1.4 && took < 5.0);
    bai_session_free(s);

    /* So does the read timeout alone. */
    s = open_session(endpoint("http", srv.port), tune_read_timeout);
    t0 = now_s();
    CHECK_CODE(bai_system_get_versions(s, &b), BAI_E_TIMEOUT);
    took = now_s() - t0;
    CHECK(took >= 0.9 && took < 5.0);
    bai_session_free(s);

    /* Without any timeout, bai_session_cancel() from another thread ends the call. */
    s = open_session(endpoint("http", srv.port), tune_no_timeouts);
    int before = srv.reached;
    struct cancel_arg a = {s, BAI_OK};
    pthread_t t;
    pthread_create(&t, NULL, versions_thread, &a);
    server_wait_reached(&srv, before + 1); /* the request is at the server, unanswered */
    CHECK_CODE(bai_session_cancel(s), BAI_OK);
    pthread_join(t, NULL);
    CHECK(a.code == BAI_E_CANCELLED);
    bai_session_free(s);

    /* bai_session_new() itself is bounded by the request timeout (its version probe). */
    server_stop(&srv);
    struct server mute;
    server_start(&mute, silent);
    bai_config_t *cfg = NULL;
    CHECK_CODE(bai_config_new(&cfg), BAI_OK);
    CHECK_CODE(bai_config_set_endpoint(cfg, endpoint("http", mute.port)), BAI_OK);
    CHECK_CODE(bai_config_set_request_timeout_ms(cfg, 1500), BAI_OK);
    t0 = now_s();
    s = NULL;
    bai_code_t c = bai_session_new(cfg, &s); /* the probe times out; the session opens */
    took = now_s() - t0;
    CHECK(c == BAI_OK || c == BAI_E_TIMEOUT);
    CHECK(took < 5.0);
    bai_session_free(s);
    bai_config_free(cfg);
    server_stop(&mute);
    printf("silent server: bounded by the request and read timeouts, cancelled from another thread\n");
}

/* ---------------------------------------------------------------- TLS to a plain server */

static void plain_and_reset(int fd, void *arg)
{
    (void)arg;
    char b[4096];
    ssize_t n = read(fd, b, sizeof b); /* the ClientHello */
    (void)n;
    const char *r = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    write_all(fd, r, strlen(r));
    reset(fd);
}

static void test_tls_to_plain(void)
{
    struct server srv;
    server_start(&srv, plain_and_reset);
    for (int i = 0; i < 3; i++) {
        bai_session_t *s = open_session(endpoint("https", srv.port), NULL);
        bai_buf_t b = {NULL, 0};
        bai_code_t c = bai_system_get_versions(s, &b);
        CHECK(c == BAI_E_TLS || c == BAI_E_NETWORK);
        bai_session_free(s);
    }
    server_stop(&srv);
    printf("https:// to a plain server: an error, no signal\n");
}

/* ---------------------------------------------------------------- reset mid-body */

static void reset_mid_body(int fd, void *arg)
{
    (void)arg;
    char head[8192];
    while (read_head(fd, head, sizeof head) > 0) {
        if (probe(fd, head)) continue;
        char b[65536];
        ssize_t got = read(fd, b, sizeof b); /* some of the body */
        (void)got;
        reset(fd);
        return;
    }
}

static void tune_proxy(bai_config_t *c);
static int proxy_port;
static void tune_proxy(bai_config_t *c) { CHECK_CODE(bai_config_set_http_proxy(c, endpoint("http", proxy_port)), BAI_OK); }

static void big_request(bai_session_t *s)
{
    size_t n = 16u << 20;
    unsigned char *body = calloc(n, 1);
    bai_request_t r;
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    r.method = "POST";
    r.path = "/upload-sink";
    r.body = body;
    r.body_len = n;
    bai_response_t *resp = NULL;
    bai_code_t c = bai_session_request(s, &r, &resp);
    CHECK(c == BAI_E_NETWORK);
    bai_response_free(resp);
    free(body);
}

static void test_reset_mid_body(void)
{
    struct server srv;
    server_start(&srv, reset_mid_body);
    for (int i = 0; i < 3; i++) {
        bai_session_t *s = open_session(endpoint("http", srv.port), NULL);
        big_request(s);
        bai_session_free(s);
    }
    /* The same through an HTTP proxy that resets mid-body. The endpoint is never reached. */
    proxy_port = srv.port;
    for (int i = 0; i < 3; i++) {
        bai_session_t *s = open_session("http://backend.invalid:8081", tune_proxy);
        big_request(s);
        bai_session_free(s);
    }
    server_stop(&srv);
    printf("reset in the middle of a 16 MiB request body, direct and through a proxy: an error, no signal\n");
}

/* ---------------------------------------------------------------- redirect */

static void redirect(int fd, void *arg)
{
    (void)arg;
    char head[8192];
    while (read_head(fd, head, sizeof head) > 0) {
        if (probe(fd, head)) continue;
        answer(fd, "302 Found", "Location: /elsewhere\r\n", "");
    }
}

static void test_redirect(void)
{
    struct server srv;
    server_start(&srv, redirect);
    bai_session_t *s = open_session(endpoint("http", srv.port), NULL);
    bai_compute_t *c = NULL;
    CHECK_CODE(bai_compute_attach(s, "some-session", &c), BAI_OK);
    CHECK_CODE(bai_compute_destroy(c, 0, NULL), BAI_E_HTTP_STATUS);
    CHECK(bai_last_error_http_status() == 302);
    CHECK_CODE(bai_compute_interrupt(c), BAI_E_HTTP_STATUS);
    CHECK(bai_last_error_http_status() == 302);
    CHECK_CODE(bai_vfolder_delete(s, "some-folder"), BAI_E_HTTP_STATUS);
    CHECK(bai_last_error_http_status() == 302);
    bai_compute_free(c);
    bai_session_free(s);
    server_stop(&srv);
    printf("302 answers: errors with their status, not success\n");
}

/* ---------------------------------------------------------------- slow WebSocket upgrade */

/* SHA-1 (FIPS 180-1), for the Sec-WebSocket-Accept answer. */
static void sha1(const unsigned char *msg, size_t len, unsigned char out[20])
{
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    size_t total = ((len + 8) / 64 + 1) * 64;
    unsigned char *m = calloc(total, 1);
    memcpy(m, msg, len);
    m[len] = 0x80;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++) m[total - 1 - i] = (unsigned char)(bits >> (8 * i));
    for (size_t off = 0; off < total; off += 64) {
        uint32_t w[80];
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)m[off + 4 * i] << 24 | (uint32_t)m[off + 4 * i + 1] << 16 | (uint32_t)m[off + 4 * i + 2] << 8 |
                   m[off + 4 * i + 3];
        for (int i = 16; i < 80; i++) {
            uint32_t x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
            w[i] = x << 1 | x >> 31;
        }
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int i = 0; i < 80; i++) {
            uint32_t f, k;
            if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999; }
            else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1; }
            else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC; }
            else { f = b ^ c ^ d; k = 0xCA62C1D6; }
            uint32_t t = (a << 5 | a >> 27) + f + e + k + w[i];
            e = d; d = c; c = b << 30 | b >> 2; b = a; a = t;
        }
        h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
    }
    free(m);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 4; j++) out[4 * i + j] = (unsigned char)(h[i] >> (24 - 8 * j));
}

static void base64(const unsigned char *in, size_t n, char *out)
{
    static const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = t[v >> 18 & 63];
        out[o++] = t[v >> 12 & 63];
        out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[o] = '\0';
}

static void slow_upgrade(int fd, void *arg)
{
    (void)arg;
    char head[8192];
    while (read_head(fd, head, sizeof head) > 0) {
        if (probe(fd, head)) continue;
        const char *k = NULL;
        for (const char *p = head; *p; p++)
            if (strncmp(p, "\r\nsec-websocket-key: ", 21) == 0 || strncmp(p, "\r\nSec-WebSocket-Key: ", 21) == 0) k = p + 2;
        if (k == NULL) return;
        char key[128];
        sscanf(k + strlen("sec-websocket-key: "), "%127s", key);
        strcat(key, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
        unsigned char digest[20];
        sha1((const unsigned char *)key, strlen(key), digest);
        char accept[64];
        base64(digest, 20, accept);
        sleep(3); /* a loaded server: longer than the client's connect timeout */
        char resp[512];
        snprintf(resp, sizeof resp,
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Accept: %s\r\n\r\n",
                 accept);
        write_all(fd, resp, strlen(resp));
        /* The client's first frame (the code to run), then one result frame, then close. */
        unsigned char fh[14];
        if (read(fd, fh, 2) != 2) return;
        size_t plen = fh[1] & 127;
        if (plen == 126) { unsigned char x[2]; if (read(fd, x, 2) != 2) return; plen = (size_t)x[0] << 8 | x[1]; }
        unsigned char rest[4 + 65536];
        size_t need = 4 + plen, got = 0;
        while (got < need && got < sizeof rest) {
            ssize_t r = read(fd, rest + got, need - got);
            if (r <= 0) return;
            got += (size_t)r;
        }
        const char *result = "{\"status\": \"finished\", \"console\": [[\"stdout\", \"slow hello\\n\"]], \"exitCode\": 0, \"options\": null, \"files\": []}";
        unsigned char frame[8 + 512];
        size_t rl = strlen(result);
        frame[0] = 0x81;
        frame[1] = 126;
        frame[2] = (unsigned char)(rl >> 8);
        frame[3] = (unsigned char)rl;
        memcpy(frame + 4, result, rl);
        write_all(fd, (const char *)frame, 4 + rl);
        unsigned char close_frame[4] = {0x88, 2, 0x03, 0xe8};
        write_all(fd, (const char *)close_frame, 4);
        char b[256];
        while (read(fd, b, sizeof b) > 0) {}
        return;
    }
}

static char stream_out[256];
static int on_console(void *ud, const bai_console_record_t *r)
{
    (void)ud;
    strncat(stream_out, (const char *)r->data, sizeof stream_out - strlen(stream_out) - 1);
    return BAI_CB_CONTINUE;
}

static void tune_short_connect(bai_config_t *c) { CHECK_CODE(bai_config_set_connect_timeout_ms(c, 1000), BAI_OK); }

static void test_slow_upgrade(void)
{
    struct server srv;
    server_start(&srv, slow_upgrade);
    bai_session_t *s = open_session(endpoint("http", srv.port), tune_short_connect);
    bai_compute_t *c = NULL;
    CHECK_CODE(bai_compute_attach(s, "0b6c3d0e-1111-2222-3333-444455556666", &c), BAI_OK);
    CHECK_CODE(bai_compute_set_console_cb(c, on_console, NULL, NULL), BAI_OK);
    stream_out[0] = '\0';
    bai_exec_result_t *r = NULL;
    const char *code = "print('slow hello')";
    CHECK_CODE(bai_compute_stream(c, (const uint8_t *)code, strlen(code), BAI_EXEC_QUERY, NULL, NULL, &r), BAI_OK);
    CHECK_STR(stream_out, "slow hello\n");
    bai_exec_result_free(r);
    bai_compute_free(c);
    bai_session_free(s);
    server_stop(&srv);
    printf("WebSocket upgrade answered after 3 s with a 1 s connect timeout: the stream ran\n");
}

/* ---------------------------------------------------------------- storage proxy failing */

static const char *storage_status = "500 Internal Server Error";
static int storage_port;

static void storage(int fd, void *arg)
{
    (void)arg;
    char head[8192];
    while (read_head(fd, head, sizeof head) > 0) {
        if (probe(fd, head)) continue;
        int cl = 0;
        for (const char *p = head; *p; p++)
            if (strncmp(p, "\r\ncontent-length: ", 18) == 0 || strncmp(p, "\r\nContent-Length: ", 18) == 0) cl = atoi(p + 18);
        char body[4096];
        if (cl > 0 && cl < (int)sizeof body && read(fd, body, (size_t)cl) != cl) return;
        if (strstr(head, "/request-download") != NULL) {
            char b[256];
            snprintf(b, sizeof b, "{\"token\": \"tok\", \"url\": \"http://127.0.0.1:%d/download\"}", storage_port);
            answer(fd, "200 OK", NULL, b);
        } else {
            answer(fd, storage_status, NULL, "{\"title\": \"storage trouble\"}");
        }
    }
}

static void tune_budget(bai_config_t *c) { CHECK_CODE(bai_config_set_retry_budget_ms(c, 1500), BAI_OK); }

static void test_storage_failing(void)
{
    struct server srv;
    server_start(&srv, storage);
    storage_port = srv.port;
    char dest[] = "/tmp/bai-hostile-XXXXXX";
    CHECK(mkdtemp(dest) != NULL);
    const char *files[] = {"data.bin"};

    /* A 500 is the storage proxy's definite answer: not retried. */
    bai_session_t *s = open_session(endpoint("http", srv.port), tune_budget);
    storage_status = "500 Internal Server Error";
    double t0 = now_s();
    CHECK_CODE(bai_vfolder_download(s, "folder", files, 1, dest, NULL), BAI_E_SERVER);
    CHECK(bai_last_error_http_status() == 500);
    CHECK(now_s() - t0 < 1.0);

    /* A persistent 503 is retried, within the retry budget only. */
    storage_status = "503 Service Unavailable";
    t0 = now_s();
    CHECK_CODE(bai_vfolder_download(s, "folder", files, 1, dest, NULL), BAI_E_SERVER);
    double took = now_s() - t0;
    CHECK(took >= 0.5 && took < 4.0);
    bai_session_free(s);
    rmdir(dest);
    server_stop(&srv);
    printf("storage proxy answering 500: no retry; 503: retried for the budget only (%.1f s)\n", took);
}

/* ---------------------------------------------------------------- connection dropped after each answer */

static void drop_after(int fd, void *arg)
{
    (void)arg;
    char head[8192];
    if (read_head(fd, head, sizeof head) > 0) {
        /* Answer as if the connection stayed open, then close it. */
        answer(fd, "200 OK", NULL, VERSIONS);
    }
}

static void test_drop_after(void)
{
    struct server srv;
    server_start(&srv, drop_after);
    bai_session_t *s = open_session(endpoint("http", srv.port), NULL);
    int ok = 0;
    for (int i = 0; i < 30; i++) {
        bai_buf_t b = {NULL, 0};
        bai_code_t c = bai_system_get_versions(s, &b);
        if (c == BAI_OK) ok++;
        else fprintf(stderr, "call %d: %s: %s\n", i, bai_code_name(c), bai_last_error_message());
        bai_buf_dispose(&b);
    }
    CHECK(ok == 30);
    bai_session_free(s);
    server_stop(&srv);
    printf("a server closing each kept-alive connection: %d of 30 calls succeeded\n", ok);
}

int main(void)
{
    /* A C host keeps SIGPIPE's default action (ctest may have left it ignored: undo that). */
    signal(SIGPIPE, SIG_DFL);
    test_silent();
    test_tls_to_plain();
    test_reset_mid_body();
    test_redirect();
    test_slow_upgrade();
    test_storage_failing();
    test_drop_after();
    return test_end("test_hostile");
}
