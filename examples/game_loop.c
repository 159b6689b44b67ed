/*
 * game_loop.c: driving compute sessions from a frame loop without ever blocking.
 *
 * A game engine (or any event loop) calls bai_session_poll(session, 0, ...) once per frame:
 * it never waits, and it delivers every record that is ready to the callbacks on this
 * thread, so the callbacks need no locks. Each run gets its own context (a `struct job`)
 * through bai_op_opts_t, so its records land in its own counters; finished runs come back
 * one by one from bai_session_next_done(), so the loop never scans its runs. Here RUNS runs
 * execute at once on one compute session each while the "game" renders frames every 16 ms.
 *
 * Usage: game_loop [RUNS]   (default 4)
 */
#define _POSIX_C_SOURCE 200809L
#include <backendai.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_RUNS 32

static int fail(const char *what, bai_code_t code)
{
    fprintf(stderr, "%s failed: %s: %s (HTTP status %u, server error type \"%s\")\n", what,
            bai_code_name(code), bai_last_error_message(), bai_last_error_http_status(),
            bai_last_error_server_type());
    return 1;
}

/* One run's context: its name and what it printed. */
struct job {
    char name[16];
    unsigned long lines;
    int done;
};

/* Counts the lines of standard output of the run this record belongs to. */
static int32_t on_console(void *userdata, const bai_console_record_t *rec)
{
    struct job *job = userdata;
    if (rec->stream != BAI_STREAM_STDOUT || strcmp(rec->kind, "stdout") != 0) {
        /* warnings, tracebacks, html...: shown, but they are not the runs' lines */
        fprintf(stderr, "[%s %s] %.*s", job->name, rec->kind, (int)rec->len, (const char *)rec->data);
        return BAI_CB_CONTINUE;
    }
    for (size_t i = 0; i < rec->len; i++) {
        if (rec->data[i] == '\n')
            job->lines++;
    }
    printf("[%s] %.*s", job->name, (int)rec->len, (const char *)rec->data);
    return BAI_CB_CONTINUE;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 4;
    if (runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "RUNS must be 1..%d\n", MAX_RUNS);
        return 2;
    }
    int rc = 1;
    bai_config_t *config = NULL;
    bai_session_t *session = NULL;
    bai_compute_t *compute[MAX_RUNS] = {0};
    bai_op_t *op[MAX_RUNS] = {0};
    struct job jobs[MAX_RUNS];
    bai_code_t code;

    memset(jobs, 0, sizeof jobs);
    if ((code = bai_config_from_env(&config)) != BAI_OK)
        return fail("bai_config_from_env", code);
    if ((code = bai_session_new(config, &session)) != BAI_OK) {
        rc = fail("bai_session_new", code);
        goto out;
    }
    for (int i = 0; i < runs; i++) {
        snprintf(jobs[i].name, sizeof jobs[i].name, "run%d", i);
        if ((code = bai_compute_create(session, "python:3.9-ubuntu20.04", NULL, &compute[i])) != BAI_OK) {
            rc = fail("bai_compute_create", code);
            goto out;
        }
        char src[256];
        int n = snprintf(src, sizeof src,
                         "import time\nfor k in range(3):\n    print('run %d step', k, flush=True)\n    time.sleep(0.3)\n",
                         i);
        /* This run's own callback and context. */
        bai_op_opts_t opts = {0};
        opts.struct_size = sizeof opts;
        opts.console_cb = on_console;
        opts.userdata = &jobs[i];
        if ((code = bai_compute_run_start(compute[i], (const uint8_t *)src, (size_t)n, BAI_EXEC_QUERY, NULL, &opts, &op[i])) !=
            BAI_OK) {
            rc = fail("bai_compute_run_start", code);
            goto out;
        }
    }

    /* The frame loop: one non-blocking poll per 16 ms frame, then the runs that finished. */
    int finished = 0;
    unsigned long frames = 0;
    while (finished < runs) {
        size_t n_done = 0;
        if ((code = bai_session_poll(session, 0, &n_done)) != BAI_OK) {
            rc = fail("bai_session_poll", code);
            goto out;
        }
        for (bai_op_t *done; (done = bai_session_next_done(session)) != NULL;) {
            struct job *job = bai_op_userdata(done);
            bai_code_t c = bai_op_code(done);
            if (c != BAI_OK) {
                bai_buf_t msg = {0};
                if (bai_op_error_message(done, &msg) != BAI_OK)
                    msg.data = NULL;
                fprintf(stderr, "%s failed: %s: %s\n", job->name, bai_code_name(c), msg.data ? (const char *)msg.data : "");
                bai_buf_dispose(&msg);
                goto out;
            }
            job->done = 1;
            finished++;
        }
        frames++;
        sleep_ms(16); /* render the frame */
    }
    unsigned long lines = 0;
    for (int i = 0; i < runs; i++)
        lines += jobs[i].lines;
    printf("%d runs finished over %lu frames, %lu lines\n", runs, frames, lines);
    rc = 0;
    for (int i = 0; i < runs; i++) {
        if (jobs[i].lines != 3) {
            fprintf(stderr, "%s printed %lu lines, expected 3\n", jobs[i].name, jobs[i].lines);
            rc = 1;
        }
    }

out:
    for (int i = 0; i < runs; i++) {
        bai_op_free(op[i]);
        if (compute[i] && (code = bai_compute_destroy(compute[i], 0, NULL)) != BAI_OK)
            rc = fail("bai_compute_destroy", code);
        bai_compute_free(compute[i]);
    }
    bai_session_free(session);
    bai_config_free(config);
    return rc;
}
