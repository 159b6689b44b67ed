/*
 * game_loop.c: driving compute sessions from a frame loop without ever blocking.
 *
 * A game engine (or any event loop) calls bai_session_poll(session, 0, ...) once per frame:
 * it never waits, and it delivers every record that is ready to the callbacks on this
 * thread, so the callbacks need no locks. Here four runs execute at once on one compute
 * session's worth of kernels while the "game" renders frames every 16 ms.
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

/* Lines the runs printed on stdout. */
static unsigned long lines_seen;

static int32_t on_console(void *userdata, const bai_console_record_t *rec)
{
    const char *who = userdata;
    if (rec->stream != BAI_STREAM_STDOUT || strcmp(rec->kind, "stdout") != 0) {
        /* warnings, tracebacks, html...: shown, but they are not the runs' lines */
        fprintf(stderr, "[%s %s] %.*s", who, rec->kind, (int)rec->len, (const char *)rec->data);
        return BAI_CB_CONTINUE;
    }
    for (size_t i = 0; i < rec->len; i++) {
        if (rec->data[i] == '\n')
            lines_seen++;
    }
    printf("[%s] %.*s", who, (int)rec->len, (const char *)rec->data);
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
    char names[MAX_RUNS][16];
    bai_code_t code;

    if ((code = bai_config_from_env(&config)) != BAI_OK)
        return fail("bai_config_from_env", code);
    if ((code = bai_session_new(config, &session)) != BAI_OK) {
        rc = fail("bai_session_new", code);
        goto out;
    }
    for (int i = 0; i < runs; i++) {
        snprintf(names[i], sizeof names[i], "run%d", i);
        if ((code = bai_compute_create(session, "python:3.9-ubuntu20.04", NULL, &compute[i])) != BAI_OK) {
            rc = fail("bai_compute_create", code);
            goto out;
        }
        bai_compute_set_console_cb(compute[i], on_console, names[i], NULL);
        char src[256];
        int n = snprintf(src, sizeof src,
                         "import time\nfor k in range(3):\n    print('run %d step', k, flush=True)\n    time.sleep(0.3)\n",
                         i);
        if ((code = bai_compute_run_start(compute[i], (const uint8_t *)src, (size_t)n, BAI_EXEC_QUERY, NULL, &op[i])) != BAI_OK) {
            rc = fail("bai_compute_run_start", code);
            goto out;
        }
    }

    /* The frame loop: one non-blocking poll per 16 ms frame. */
    int finished = 0;
    unsigned long frames = 0;
    while (finished < runs) {
        size_t done = 0;
        if ((code = bai_session_poll(session, 0, &done)) != BAI_OK) {
            rc = fail("bai_session_poll", code);
            goto out;
        }
        finished = 0;
        for (int i = 0; i < runs; i++) {
            bai_code_t c = bai_op_code(op[i]);
            if (c == BAI_PENDING)
                continue;
            if (c != BAI_OK) {
                bai_buf_t msg = {0};
                bai_op_error_message(op[i], &msg);
                fprintf(stderr, "run %d failed: %s: %s\n", i, bai_code_name(c), msg.data ? (const char *)msg.data : "");
                bai_buf_dispose(&msg);
                goto out;
            }
            finished++;
        }
        frames++;
        sleep_ms(16); /* render the frame */
    }
    printf("%d runs finished over %lu frames, %lu lines\n", runs, frames, lines_seen);
    rc = lines_seen == (unsigned long)(3 * runs) ? 0 : 1;

out:
    for (int i = 0; i < runs; i++) {
        bai_op_free(op[i]);
        if (compute[i])
            bai_compute_destroy(compute[i], 0, NULL);
        bai_compute_free(compute[i]);
    }
    bai_session_free(session);
    bai_config_free(config);
    return rc;
}
