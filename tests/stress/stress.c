/*
 * Concurrency stress for libbackendai against a running server (the local one in tests).
 *
 * Phase 1: STRESS_THREADS threads x STRESS_OPS operations sharing ONE bai_session_t: a mix of
 * bai_system_get_versions, raw bai_session_request calls, and (every STRESS_RUN_EVERY-th op)
 * a blocking run on the thread's own compute session whose output is checked.
 * Phase 2: STRESS_RUNS runs started with bai_compute_run_start and driven to the end from
 * this one thread by bai_session_poll alone; each run has its own compute handle (attached
 * to one of the phase-1 sessions) so its output can be checked exactly.
 *
 * Configuration comes from the environment (BACKEND_ENDPOINT, BACKEND_ACCESS_KEY,
 * BACKEND_SECRET_KEY) through bai_config_from_env. Exit status 0 only with zero errors.
 */
#define _POSIX_C_SOURCE 200809L
#include <backendai.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bai_session_t *g_session;
static int g_threads = 16, g_ops = 1000, g_runs = 200, g_run_every = 10;
static atomic_long g_errors;
static atomic_long g_done_ops;
static atomic_long g_done_runs;
static char g_prefix[64];

static int env_int(const char *name, int dflt) {
    const char *v = getenv(name);
    return (v && *v) ? atoi(v) : dflt;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const char *what, bai_code_t code) {
    long n = atomic_fetch_add(&g_errors, 1);
    if (n < 10) {
        fprintf(stderr, "error: %s: %s (%s)\n", what, bai_code_name(code), bai_last_error_message());
    }
}

/* Output collected by a console callback. */
typedef struct {
    char buf[256];
    size_t len;
    int overflow;
} sink_t;

static int32_t on_console(void *ud, const bai_console_record_t *rec) {
    sink_t *s = (sink_t *)ud;
    if (rec->stream != BAI_STREAM_STDOUT) return BAI_CB_CONTINUE;
    if (s->len + rec->len >= sizeof s->buf) {
        s->overflow = 1;
        return BAI_CB_CONTINUE;
    }
    memcpy(s->buf + s->len, rec->data, rec->len);
    s->len += rec->len;
    s->buf[s->len] = 0;
    return BAI_CB_CONTINUE;
}

typedef struct {
    int index;
    bai_compute_t *compute;
    char name[96];
    sink_t sink;
} worker_t;

static int check_output(sink_t *s, long value, const char *what) {
    char want[64];
    snprintf(want, sizeof want, "%ld\n", value);
    if (s->overflow || strcmp(s->buf, want) != 0) {
        long n = atomic_fetch_add(&g_errors, 1);
        if (n < 10) fprintf(stderr, "error: %s: output %.*s instead of %s", what, (int)s->len, s->buf, want);
        return 0;
    }
    return 1;
}

static void *worker(void *arg) {
    worker_t *w = (worker_t *)arg;
    char path[160];
    snprintf(path, sizeof path, "/session/%s", w->name);
    for (int i = 0; i < g_ops; i++) {
        int kind = i % 4;
        if (g_run_every > 0 && i % g_run_every == g_run_every - 1) kind = 9;
        if (kind == 0 || kind == 3) {
            bai_buf_t b = {0};
            bai_code_t r = bai_system_get_versions(g_session, &b);
            if (r != BAI_OK) report("get_versions", r);
            else if (!b.data || !strstr((const char *)b.data, "version")) report("get_versions answer", BAI_E_BAD_RESPONSE);
            bai_buf_dispose(&b);
        } else if (kind == 1 || kind == 2) {
            bai_request_t req;
            memset(&req, 0, sizeof req);
            req.struct_size = sizeof req;
            req.method = "GET";
            req.path = kind == 1 ? "/" : path;
            bai_response_t *resp = NULL;
            bai_code_t r = bai_session_request(g_session, &req, &resp);
            if (r != BAI_OK) report("session_request", r);
            else if (bai_response_status(resp) != 200) {
                long n = atomic_fetch_add(&g_errors, 1);
                if (n < 10) fprintf(stderr, "error: GET %s answered %u\n", req.path, bai_response_status(resp));
            }
            bai_response_free(resp);
        } else {
            long value = (long)w->index * 1000000L + i;
            char code[64];
            int n = snprintf(code, sizeof code, "print(%ld)", value);
            w->sink.len = 0;
            w->sink.buf[0] = 0;
            w->sink.overflow = 0;
            bai_exec_result_t *res = NULL;
            bai_code_t r = bai_compute_run(w->compute, (const uint8_t *)code, (size_t)n, BAI_EXEC_QUERY, NULL, NULL, &res);
            if (r != BAI_OK) report("compute_run", r);
            else check_output(&w->sink, value, "compute_run");
            bai_exec_result_free(res);
        }
        atomic_fetch_add(&g_done_ops, 1);
    }
    return NULL;
}

int main(void) {
    g_threads = env_int("STRESS_THREADS", 16);
    g_ops = env_int("STRESS_OPS", 1000);
    g_runs = env_int("STRESS_RUNS", 200);
    g_run_every = env_int("STRESS_RUN_EVERY", 10);
    snprintf(g_prefix, sizeof g_prefix, "stress-%ld", (long)getpid());

    bai_config_t *cfg = NULL;
    bai_code_t r = bai_config_from_env(&cfg);
    if (r != BAI_OK) {
        fprintf(stderr, "config: %s\n", bai_last_error_message());
        return 2;
    }
    r = bai_session_new(cfg, &g_session);
    bai_config_free(cfg);
    if (r != BAI_OK) {
        fprintf(stderr, "session: %s\n", bai_last_error_message());
        return 2;
    }

    worker_t *ws = calloc((size_t)g_threads, sizeof *ws);
    pthread_t *tids = calloc((size_t)g_threads, sizeof *tids);
    for (int t = 0; t < g_threads; t++) {
        ws[t].index = t;
        snprintf(ws[t].name, sizeof ws[t].name, "%s-%d", g_prefix, t);
        bai_create_opts_t o;
        memset(&o, 0, sizeof o);
        o.struct_size = sizeof o;
        o.name = ws[t].name;
        r = bai_compute_create(g_session, "python:3.9-ubuntu20.04", &o, &ws[t].compute);
        if (r != BAI_OK) {
            fprintf(stderr, "compute_create %s: %s\n", ws[t].name, bai_last_error_message());
            return 2;
        }
        if (bai_compute_set_console_cb(ws[t].compute, on_console, &ws[t].sink, NULL) != BAI_OK)
            fprintf(stderr, "bai_compute_set_console_cb failed: %s\n", bai_last_error_message());
    }

    /* Phase 1 */
    double t0 = now_s();
    for (int t = 0; t < g_threads; t++) pthread_create(&tids[t], NULL, worker, &ws[t]);
    for (int t = 0; t < g_threads; t++) pthread_join(tids[t], NULL);
    double t1 = now_s();
    long errors1 = atomic_load(&g_errors);
    long ops = atomic_load(&g_done_ops);
    printf("phase 1: %d threads x %d ops on one session: %ld ops in %.2f s = %.0f ops/s, %ld errors\n", g_threads, g_ops, ops,
           t1 - t0, (double)ops / (t1 - t0), errors1);

    /* Phase 2: many concurrent runs, one thread, bai_session_poll only. */
    bai_compute_t **handles = calloc((size_t)g_runs, sizeof *handles);
    bai_op_t **ops_v = calloc((size_t)g_runs, sizeof *ops_v);
    sink_t *sinks = calloc((size_t)g_runs, sizeof *sinks);
    double t2 = now_s();
    for (int k = 0; k < g_runs; k++) {
        r = bai_compute_attach(g_session, ws[k % g_threads].name, &handles[k]);
        if (r != BAI_OK) {
            report("compute_attach", r);
            continue;
        }
        if (bai_compute_set_console_cb(handles[k], on_console, &sinks[k], NULL) != BAI_OK)
            fprintf(stderr, "bai_compute_set_console_cb failed: %s\n", bai_last_error_message());
        char code[64];
        int n = snprintf(code, sizeof code, "print(%d)", 7000000 + k);
        r = bai_compute_run_start(handles[k], (const uint8_t *)code, (size_t)n, BAI_EXEC_QUERY, NULL, NULL, &ops_v[k]);
        if (r != BAI_OK) report("run_start", r);
    }
    size_t finished = 0;
    int polls = 0;
    double deadline = now_s() + 600;
    while (finished < (size_t)g_runs && now_s() < deadline) {
        size_t n = 0;
        r = bai_session_poll(g_session, 1000, &n);
        polls++;
        if (r != BAI_OK) {
            report("session_poll", r);
            break;
        }
        /* Count what is done (n_done counts this call only). */
        finished = 0;
        for (int k = 0; k < g_runs; k++)
            if (!ops_v[k] || bai_op_code(ops_v[k]) != BAI_PENDING) finished++;
    }
    for (int k = 0; k < g_runs; k++) {
        if (!ops_v[k]) continue;
        bai_code_t c = bai_op_code(ops_v[k]);
        if (c != BAI_OK) {
            bai_buf_t m = {0};
            if (bai_op_error_message(ops_v[k], &m) != BAI_OK)
                fprintf(stderr, "bai_op_error_message failed: %s\n", bai_last_error_message());
            long e = atomic_fetch_add(&g_errors, 1);
            if (e < 10) fprintf(stderr, "error: run %d: %s (%s)\n", k, bai_code_name(c), m.data ? (const char *)m.data : "");
            bai_buf_dispose(&m);
        } else {
            check_output(&sinks[k], 7000000 + k, "polled run");
            atomic_fetch_add(&g_done_runs, 1);
        }
        bai_op_free(ops_v[k]);
        bai_compute_free(handles[k]);
    }
    double t3 = now_s();
    long errors2 = atomic_load(&g_errors) - errors1;
    printf("phase 2: %d concurrent runs driven by bai_session_poll from one thread: %ld ok in %.2f s = %.1f runs/s, %d polls, %ld errors\n",
           g_runs, atomic_load(&g_done_runs), t3 - t2, (double)g_runs / (t3 - t2), polls, errors2);

    for (int t = 0; t < g_threads; t++) {
        if (bai_compute_destroy(ws[t].compute, BAI_DESTROY_FORCED, NULL) != BAI_OK)
            fprintf(stderr, "bai_compute_destroy failed: %s\n", bai_last_error_message());
        bai_compute_free(ws[t].compute);
    }
    bai_session_free(g_session);
    free(ws);
    free(tids);
    free(handles);
    free(ops_v);
    free(sinks);
    long total = atomic_load(&g_errors);
    printf("total errors: %ld\n", total);
    return total == 0 ? 0 : 1;
}
