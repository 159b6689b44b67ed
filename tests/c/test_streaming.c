/*
 * Streaming and non-blocking use: records arrive while a streamed run is still going, input
 * in a polled run, cancel from another thread ends an operation promptly, a wakeup ends a
 * session poll, a session destroyed under a running execute ends it with a clean code, and
 * the non-blocking create form. Needs the local server (BACKEND_* set).
 */
#include "common.h"

#include <pthread.h>
#include <time.h>

#define IMAGE "python:3.9-ubuntu20.04"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct stamps {
    double first;
    int records;
    char text[4096];
    size_t len;
};

static int32_t stamp(void *userdata, const bai_console_record_t *rec)
{
    struct stamps *s = userdata;
    if (s->records++ == 0)
        s->first = now_s();
    size_t n = rec->len < sizeof s->text - 1 - s->len ? rec->len : sizeof s->text - 1 - s->len;
    memcpy(s->text + s->len, rec->data, n);
    s->len += n;
    s->text[s->len] = '\0';
    return BAI_CB_CONTINUE;
}

static bai_code_t poll_to_end(bai_op_t *op, double limit_s)
{
    double until = now_s() + limit_s;
    bai_code_t c;
    do {
        c = bai_op_poll(op, 100);
    } while ((c == BAI_PENDING) && now_s() < until);
    return c;
}

/* Cancels an operation (or wakes a session poll) from another thread. With `after_output`,
 * it waits until the operation's first record was delivered, so the cancel arrives while
 * the polling thread is inside bai_op_poll(op, -1) and the code runs on the server. */
struct canceller {
    bai_op_t *op;
    bai_session_t *session;
    int after_output;
};

static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t seen_cv = PTHREAD_COND_INITIALIZER;
static int seen_output;

static int32_t signal_output(void *userdata, const bai_console_record_t *rec)
{
    (void)userdata;
    (void)rec;
    pthread_mutex_lock(&seen_mu);
    seen_output = 1;
    pthread_cond_broadcast(&seen_cv);
    pthread_mutex_unlock(&seen_mu);
    return BAI_CB_CONTINUE;
}

static void *cancel_later(void *arg)
{
    struct canceller *c = arg;
    if (c->after_output) {
        pthread_mutex_lock(&seen_mu);
        while (!seen_output) pthread_cond_wait(&seen_cv, &seen_mu);
        pthread_mutex_unlock(&seen_mu);
    }
    if (c->op)
        CHECK_CODE(bai_op_cancel(c->op), BAI_OK);
    if (c->session)
        CHECK_CODE(bai_session_wakeup(c->session), BAI_OK);
    return NULL;
}

int main(void)
{
    if (!getenv("BACKEND_ENDPOINT")) {
        fprintf(stderr, "BACKEND_ENDPOINT is not set: start the local server first (scripts/test.sh does)\n");
        return 2;
    }
    bai_config_t *config = NULL;
    bai_session_t *session = NULL;
    CHECK_CODE(bai_config_from_env(&config), BAI_OK);
    CHECK_CODE(bai_session_new(config, &session), BAI_OK);

    /* The non-blocking create form. */
    bai_op_t *op = NULL;
    bai_compute_t *c = NULL;
    CHECK_CODE(bai_compute_create_start(session, IMAGE, NULL, NULL, &op), BAI_OK);
    CHECK_CODE(poll_to_end(op, 60), BAI_OK);
    CHECK_CODE(bai_op_take_compute(op, &c), BAI_OK);
    bai_compute_t *twice = NULL;
    CHECK_CODE(bai_op_take_compute(op, &twice), BAI_E_BAD_STATE);
    CHECK(twice == NULL);
    bai_op_free(op);
    if (!c)
        return test_end("test_streaming");
    CHECK(strlen(bai_compute_id(c)) == 36);

    /* Streaming really streams: the first record arrives long before the run ends. */
    struct stamps st = {0};
    CHECK_CODE(bai_compute_set_console_cb(c, stamp, &st, NULL), BAI_OK);
    const char *slow = "import time\nprint('first', flush=True)\ntime.sleep(2.5)\nprint('second')\n";
    CHECK_CODE(bai_compute_stream_start(c, (const uint8_t *)slow, strlen(slow), BAI_EXEC_QUERY, NULL, NULL, &op), BAI_OK);
    CHECK_CODE(poll_to_end(op, 60), BAI_OK);
    double end = now_s();
    bai_op_free(op);
    CHECK(strstr(st.text, "first") && strstr(st.text, "second"));
    printf("streaming: first record %.2f s before the end\n", end - st.first);
    CHECK(end - st.first > 1.5);

    /* A polled run waiting for a password: BAI_WAITING_INPUT, then bai_op_send_input. */
    memset(&st, 0, sizeof st);
    const char *ask = "import getpass\npw = getpass.getpass('pw? ')\nprint('got', len(pw))\n";
    CHECK_CODE(bai_compute_run_start(c, (const uint8_t *)ask, strlen(ask), BAI_EXEC_QUERY, NULL, NULL, &op), BAI_OK);
    CHECK_CODE(poll_to_end(op, 60), BAI_WAITING_INPUT);
    CHECK(bai_op_input_is_password(op));
    CHECK_CODE(bai_op_send_input(op, (const uint8_t *)"hunter2", 7), BAI_OK);
    CHECK_CODE(bai_op_send_input(op, (const uint8_t *)"again", 5), BAI_E_BAD_STATE);
    CHECK_CODE(poll_to_end(op, 60), BAI_OK);
    CHECK(strstr(st.text, "got 7") != NULL);
    bai_op_free(op);

    /* Cancel from another thread while this one waits without limit: ends promptly. */
    const char *forever = "print('waiting', flush=True)\nimport time\ntime.sleep(600)\n";
    bai_op_opts_t signal_opts = {0};
    signal_opts.struct_size = sizeof signal_opts;
    signal_opts.console_cb = signal_output;
    CHECK_CODE(bai_compute_stream_start(c, (const uint8_t *)forever, strlen(forever), BAI_EXEC_QUERY, NULL, &signal_opts, &op), BAI_OK);
    struct canceller k = {op, NULL, 1};
    pthread_t t;
    pthread_create(&t, NULL, cancel_later, &k);
    double t0 = now_s();
    bai_code_t got;
    while ((got = bai_op_poll(op, -1)) == BAI_PENDING) {
    }
    double took = now_s() - t0;
    pthread_join(t, NULL);
    CHECK(got == BAI_E_INTERRUPTED); /* it was executing: interrupted on the server */
    CHECK(bai_op_code(op) == BAI_E_INTERRUPTED);
    printf("cancel from another thread: ended after %.2f s\n", took);
    CHECK(took < 10.0);
    bai_op_free(op);

    /* Cancel a run that waits for input: it ends too. */
    const char *wait_input = "x = input('x? ')\n";
    CHECK_CODE(bai_compute_set_console_cb(c, NULL, NULL, NULL), BAI_OK);
    CHECK_CODE(bai_compute_run_start(c, (const uint8_t *)wait_input, strlen(wait_input), BAI_EXEC_QUERY, NULL, NULL, &op), BAI_OK);
    CHECK_CODE(poll_to_end(op, 60), BAI_WAITING_INPUT);
    CHECK_CODE(bai_op_cancel(op), BAI_OK);
    CHECK_CODE(poll_to_end(op, 30), BAI_E_INTERRUPTED);
    bai_op_free(op);

    /* A wakeup from another thread ends a long session poll. */
    /* Before or during the poll: a wakeup that comes first makes the next poll return at once. */
    struct canceller w = {NULL, session, 0};
    pthread_create(&t, NULL, cancel_later, &w);
    t0 = now_s();
    size_t done = 99;
    CHECK_CODE(bai_session_poll(session, 20000, &done), BAI_OK);
    took = now_s() - t0;
    pthread_join(t, NULL);
    printf("wakeup: the poll returned after %.2f s\n", took);
    CHECK(took < 5.0);
    CHECK(done == 0);

    /* The session destroyed under a running execute: a clean error, no hang. */
    const char *longer = "import time\nfor i in range(60):\n    print(i, flush=True)\n    time.sleep(0.5)\n";
    CHECK_CODE(bai_compute_run_start(c, (const uint8_t *)longer, strlen(longer), BAI_EXEC_QUERY, NULL, NULL, &op), BAI_OK);
    CHECK(bai_op_poll(op, 1000) == BAI_PENDING);
    bai_compute_t *other = NULL;
    CHECK_CODE(bai_compute_attach(session, bai_compute_name(c), &other), BAI_OK);
    CHECK_CODE(bai_compute_destroy(other, BAI_DESTROY_FORCED, NULL), BAI_OK);
    got = poll_to_end(op, 60);
    bai_exec_result_t *r = NULL;
    int64_t exit_code = 0;
    if (got == BAI_OK) {
        /* The server may report the vanished kernel as finished with exit code 130. */
        CHECK_CODE(bai_op_result(op, &r), BAI_OK);
        CHECK(bai_exec_result_exit_code(r, &exit_code) && exit_code != 0);
        bai_exec_result_free(r);
    } else {
        /* A real manager answers an execute in flight with 500 kernel-execution-failed (the
         * agent's call timed out), a later one with 404 (the session is gone). */
        CHECK(got == BAI_E_SESSION_GONE || got == BAI_E_SERVER || got == BAI_E_EXEC_FAILED);
    }
    printf("destroyed under a running execute: %s (exit %lld)\n", bai_code_name(got), (long long)exit_code);
    bai_op_free(op);
    bai_compute_free(other);

    bai_compute_free(c);
    bai_session_free(session);
    bai_config_free(config);
    return test_end("test_streaming");
}
