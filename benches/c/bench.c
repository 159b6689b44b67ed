/*
 * bench.c: the libbackendai side of the benchmark harness (see benches/README.md).
 *
 * Every workload opens an API session from the environment (BACKEND_ENDPOINT,
 * BACKEND_ACCESS_KEY, BACKEND_SECRET_KEY), does its untimed setup (session open, compute
 * session get-or-create, warm-up), then times only the measured loop and prints one JSON
 * line on stdout:
 *   {"ops": N, "wall": seconds, "cpu": seconds of user+system CPU of this process, ...}
 *
 * Usage:
 *   bench get N                      N sequential signed GET /
 *   bench exec N NAME                N sequential runs of print(1) (bai_compute_run)
 *   bench conc N K PREFIX            N concurrent runs of print(1) over K compute sessions
 *                                    PREFIX0..PREFIX(K-1), bai_compute_run_start +
 *                                    bai_session_poll from this one thread
 *   bench stream N ws|run NAME       one run printing N lines; lines counted in the console
 *                                    callback (bai_compute_stream or bai_compute_run)
 *   bench oppoll N NAME              ns per bai_op_poll(op, 0) on a pending and a finished op
 *   bench vup FOLDER BASE DIR        bai_vfolder_upload of BASE/DIR (recursive) into FOLDER,
 *                                    named relative to BASE
 *   bench vdown FOLDER FILE DEST     bai_vfolder_download of FILE into DEST
 */
#include <backendai.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* The compute-session image; BAI_BENCH_IMAGE overrides it (a real cluster has its own). */
static const char *image(void)
{
    const char *i = getenv("BAI_BENCH_IMAGE");
    return i && i[0] ? i : "python:3.9-ubuntu20.04";
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec
           + (double)ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what, bai_code_t code)
{
    fprintf(stderr, "bench: %s failed: %s: %s (HTTP %u)\n", what, bai_code_name(code),
            bai_last_error_message(), (unsigned)bai_last_error_http_status());
    exit(1);
}

static bai_session_t *open_session(void)
{
    bai_config_t *config = NULL;
    bai_session_t *session = NULL;
    bai_code_t code = bai_config_from_env(&config);
    if (code != BAI_OK) {
        die("bai_config_from_env", code);
    }
    code = bai_session_new(config, &session);
    bai_config_free(config);
    if (code != BAI_OK) {
        die("bai_session_new", code);
    }
    return session;
}

static bai_compute_t *get_compute(bai_session_t *session, const char *name)
{
    bai_create_opts_t opts;
    memset(&opts, 0, sizeof opts);
    opts.struct_size = sizeof opts;
    opts.name = name;
    bai_compute_t *compute = NULL;
    bai_code_t code = bai_compute_create(session, image(), &opts, &compute);
    if (code != BAI_OK) {
        die("bai_compute_create", code);
    }
    return compute;
}

/* Console callback: counts records, bytes and newlines. */
struct counter {
    unsigned long long records, bytes, lines;
};

static int32_t on_console(void *userdata, const bai_console_record_t *rec)
{
    struct counter *c = userdata;
    c->records++;
    c->bytes += rec->len;
    const uint8_t *p = rec->data, *end = rec->data + rec->len;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        c->lines++;
        p++;
    }
    return BAI_CB_CONTINUE;
}

static void print_result(const char *extra, long ops, double wall, double cpu_s)
{
    printf("{\"ops\": %ld, \"wall\": %.6f, \"cpu\": %.6f%s%s}\n", ops, wall, cpu_s, extra[0] ? ", " : "",
           extra);
    fflush(stdout);
}

static int w_get(long n)
{
    bai_session_t *s = open_session();
    bai_buf_t buf = {0};
    for (int i = 0; i < 20; i++) { /* warm-up: connection, allocator */
        bai_code_t code = bai_system_get_versions(s, &buf);
        if (code != BAI_OK) {
            die("bai_system_get_versions", code);
        }
        bai_buf_dispose(&buf);
    }
    double c0 = cpu(), t0 = now();
    for (long i = 0; i < n; i++) {
        bai_code_t code = bai_system_get_versions(s, &buf);
        if (code != BAI_OK) {
            die("bai_system_get_versions", code);
        }
        bai_buf_dispose(&buf);
    }
    double wall = now() - t0, c = cpu() - c0;
    print_result("", n, wall, c);
    bai_session_free(s);
    return 0;
}

static int w_exec(long n, const char *name)
{
    bai_session_t *s = open_session();
    bai_compute_t *k = get_compute(s, name);
    struct counter cnt = {0};
    if (bai_compute_set_console_cb(k, on_console, &cnt, NULL) != BAI_OK)
        fprintf(stderr, "bai_compute_set_console_cb failed: %s\n", bai_last_error_message());
    static const char code_text[] = "print(1)";
    for (int i = 0; i < 5; i++) {
        bai_code_t code = bai_compute_run(k, (const uint8_t *)code_text, strlen(code_text), BAI_EXEC_QUERY, NULL, NULL, NULL);
        if (code != BAI_OK) {
            die("bai_compute_run", code);
        }
    }
    cnt.lines = 0;
    double c0 = cpu(), t0 = now();
    for (long i = 0; i < n; i++) {
        bai_code_t code = bai_compute_run(k, (const uint8_t *)code_text, strlen(code_text), BAI_EXEC_QUERY, NULL, NULL, NULL);
        if (code != BAI_OK) {
            die("bai_compute_run", code);
        }
    }
    double wall = now() - t0, c = cpu() - c0;
    char extra[64];
    snprintf(extra, sizeof extra, "\"lines\": %llu", cnt.lines);
    print_result(extra, n, wall, c);
    bai_compute_free(k);
    bai_session_free(s);
    return cnt.lines == (unsigned long long)n ? 0 : 1;
}

static int w_conc(long n, int k_count, const char *prefix)
{
    bai_session_t *s = open_session();
    bai_compute_t **ks = calloc((size_t)k_count, sizeof *ks);
    struct counter cnt = {0};
    for (int i = 0; i < k_count; i++) {
        char name[128];
        snprintf(name, sizeof name, "%s%d", prefix, i);
        ks[i] = get_compute(s, name);
        if (bai_compute_set_console_cb(ks[i], on_console, &cnt, NULL) != BAI_OK)
            fprintf(stderr, "bai_compute_set_console_cb failed: %s\n", bai_last_error_message());
    }
    static const char code_text[] = "print(1)";
    bai_op_t **ops = calloc((size_t)n, sizeof *ops);
    /* warm-up: one round of k_count concurrent runs */
    for (int round = 0; round < 2; round++) {
        long count = round == 0 ? k_count : n;
        cnt.lines = 0;
        double c0 = cpu(), t0 = now();
        for (long i = 0; i < count; i++) {
            bai_code_t code = bai_compute_run_start(ks[i % k_count], (const uint8_t *)code_text, strlen(code_text),
                                                    BAI_EXEC_QUERY, NULL, NULL, &ops[i]);
            if (code != BAI_OK) {
                die("bai_compute_run_start", code);
            }
        }
        long done = 0;
        while (done < count) {
            size_t d = 0;
            bai_code_t code = bai_session_poll(s, -1, &d);
            if (code != BAI_OK) {
                die("bai_session_poll", code);
            }
            done += (long)d;
        }
        double wall = now() - t0, c = cpu() - c0;
        for (long i = 0; i < count; i++) {
            bai_code_t code = bai_op_code(ops[i]);
            if (code != BAI_OK) {
                die("concurrent run", code);
            }
            bai_op_free(ops[i]);
        }
        if (round == 1) {
            char extra[64];
            snprintf(extra, sizeof extra, "\"lines\": %llu", cnt.lines);
            print_result(extra, n, wall, c);
        }
    }
    for (int i = 0; i < k_count; i++) {
        bai_compute_free(ks[i]);
    }
    bai_session_free(s);
    return cnt.lines == (unsigned long long)n ? 0 : 1;
}

static int w_stream(long n, const char *how, const char *name)
{
    bai_session_t *s = open_session();
    bai_compute_t *k = get_compute(s, name);
    struct counter cnt = {0};
    if (bai_compute_set_console_cb(k, on_console, &cnt, NULL) != BAI_OK)
        fprintf(stderr, "bai_compute_set_console_cb failed: %s\n", bai_last_error_message());
    char code_text[128];
    snprintf(code_text, sizeof code_text, "for i in range(%ld): print(i)", n);
    int ws = strcmp(how, "ws") == 0;
    double c0 = cpu(), t0 = now();
    bai_code_t code = ws ? bai_compute_stream(k, (const uint8_t *)code_text, strlen(code_text), BAI_EXEC_QUERY, NULL, NULL, NULL)
                         : bai_compute_run(k, (const uint8_t *)code_text, strlen(code_text), BAI_EXEC_QUERY, NULL, NULL, NULL);
    double wall = now() - t0, c = cpu() - c0;
    if (code != BAI_OK) {
        die(ws ? "bai_compute_stream" : "bai_compute_run", code);
    }
    char extra[128];
    snprintf(extra, sizeof extra, "\"lines\": %llu, \"records\": %llu", cnt.lines, cnt.records);
    print_result(extra, n, wall, c);
    bai_compute_free(k);
    bai_session_free(s);
    return cnt.lines == (unsigned long long)n ? 0 : 1;
}

static int w_oppoll(long n, const char *name)
{
    bai_session_t *s = open_session();
    bai_compute_t *k = get_compute(s, name);
    static const char slow[] = "import time; time.sleep(60)";
    static const char fast[] = "print(1)";
    bai_op_t *op = NULL;
    long pending_sink = 0;
    bai_code_t code = bai_compute_run_start(k, (const uint8_t *)slow, strlen(slow), BAI_EXEC_QUERY, NULL, NULL, &op);
    if (code != BAI_OK) {
        die("bai_compute_run_start", code);
    }
    for (int i = 0; i < 1000; i++) { /* warm-up */
        pending_sink += bai_op_poll(op, 0);
    }
    long pending = 0;
    double t0 = now();
    (void)pending_sink;
    for (long i = 0; i < n; i++) {
        pending += bai_op_poll(op, 0) == BAI_PENDING;
    }
    double t_pending = now() - t0;
    if (bai_op_cancel(op) != BAI_OK)
        fprintf(stderr, "bai_op_cancel failed: %s\n", bai_last_error_message());
    while (bai_op_poll(op, -1) == BAI_PENDING) {
    }
    bai_op_free(op);
    if (bai_compute_interrupt(k) != BAI_OK)
        fprintf(stderr, "bai_compute_interrupt failed: %s\n", bai_last_error_message());

    op = NULL;
    code = bai_compute_run_start(k, (const uint8_t *)fast, strlen(fast), BAI_EXEC_QUERY, NULL, NULL, &op);
    if (code != BAI_OK) {
        die("bai_compute_run_start", code);
    }
    while ((code = bai_op_poll(op, -1)) == BAI_PENDING) {
    }
    if (code != BAI_OK) {
        die("run of print(1)", code);
    }
    long ok = 0;
    t0 = now();
    for (long i = 0; i < n; i++) {
        ok += bai_op_poll(op, 0) == BAI_OK;
    }
    double t_done = now() - t0;
    bai_op_free(op);
    char extra[256];
    snprintf(extra, sizeof extra, "\"ns_pending\": %.2f, \"ns_finished\": %.2f, \"n_pending\": %ld, \"n_ok\": %ld",
             t_pending * 1e9 / (double)n, t_done * 1e9 / (double)n, pending, ok);
    print_result(extra, n, t_pending + t_done, 0.0);
    bai_compute_free(k);
    bai_session_free(s);
    return pending == n && ok == n ? 0 : 1;
}

static int w_vup(const char *folder, const char *base, const char *dir)
{
    bai_session_t *s = open_session();
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", base, dir);
    const char *paths[1] = {path};
    double c0 = cpu(), t0 = now();
    bai_code_t code = bai_vfolder_upload(s, folder, paths, 1, base, true, NULL);
    double wall = now() - t0, c = cpu() - c0;
    if (code != BAI_OK) {
        die("bai_vfolder_upload", code);
    }
    print_result("", 1, wall, c);
    bai_session_free(s);
    return 0;
}

static int w_vdown(const char *folder, const char *file, const char *dest)
{
    bai_session_t *s = open_session();
    const char *files[1] = {file};
    double c0 = cpu(), t0 = now();
    bai_code_t code = bai_vfolder_download(s, folder, files, 1, dest, NULL);
    double wall = now() - t0, c = cpu() - c0;
    if (code != BAI_OK) {
        die("bai_vfolder_download", code);
    }
    print_result("", 1, wall, c);
    bai_session_free(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench get|exec|conc|stream|oppoll|vup|vdown ...\n");
        return 2;
    }
    const char *w = argv[1];
    long n = argc > 2 ? atol(argv[2]) : 0;
    if (strcmp(w, "get") == 0 && argc == 3) {
        return w_get(n);
    }
    if (strcmp(w, "exec") == 0 && argc == 4) {
        return w_exec(n, argv[3]);
    }
    if (strcmp(w, "conc") == 0 && argc == 5) {
        return w_conc(n, atoi(argv[3]), argv[4]);
    }
    if (strcmp(w, "stream") == 0 && argc == 5) {
        return w_stream(n, argv[3], argv[4]);
    }
    if (strcmp(w, "oppoll") == 0 && argc == 4) {
        return w_oppoll(n, argv[3]);
    }
    if (strcmp(w, "vup") == 0 && argc == 5) {
        return w_vup(argv[2], argv[3], argv[4]);
    }
    if (strcmp(w, "vdown") == 0 && argc == 5) {
        return w_vdown(argv[2], argv[3], argv[4]);
    }
    fprintf(stderr, "bench: bad arguments\n");
    return 2;
}
