/* Operations a host can tell apart: 64 runs on 8 compute sessions driven from one thread,
 * each with its own context (bai_op_opts_t), each completion handed out once by
 * bai_session_next_done(); queued runs cancelled (BAI_E_CANCELLED, never executed), running
 * ones cancelled (BAI_E_INTERRUPTED), the others finished with their own output. Then calls
 * from inside an operation's own callback, ending with bai_op_free() there.
 * Needs a server (BACKEND_* variables). */
#include "common.h"

#define SESSIONS 8
#define PER_SESSION 8

struct job {
    int session, index;
    bai_op_t *op;
    char out[128];
    int started;     /* its code printed "started" */
    int completions; /* times bai_session_next_done() handed it out */
    int cancelled;
};

static int on_console(void *ud, const bai_console_record_t *r)
{
    struct job *j = ud;
    if (r->stream == BAI_STREAM_STDOUT) strncat(j->out, (const char *)r->data, sizeof j->out - strlen(j->out) - 1);
    if (strstr(j->out, "started") != NULL) j->started = 1;
    return BAI_CB_CONTINUE;
}

static int frees; /* userdata releases */
static void count_free(void *ud)
{
    (void)ud;
    frees++;
}

static void scenario(bai_session_t *s, bai_compute_t *c[SESSIONS])
{
    static struct job jobs[SESSIONS][PER_SESSION];
    memset(jobs, 0, sizeof jobs);
    for (int k = 0; k < SESSIONS; k++) {
        CHECK_CODE(bai_compute_run_start(c[k], (const uint8_t *)"flag = False", 12, BAI_EXEC_QUERY, NULL, NULL, &jobs[k][0].op), BAI_OK);
        /* A warm-up run with no options: its completion is handed out too. */
        while (bai_op_poll(jobs[k][0].op, 1000) == BAI_PENDING) {}
        CHECK(bai_session_next_done(s) == jobs[k][0].op);
        CHECK(bai_session_next_done(s) == NULL); /* each completion once */
        bai_op_free(jobs[k][0].op);
        jobs[k][0].op = NULL;
    }
    /* Per compute session: run 0 sleeps (cancelled once it runs), run 1 waits behind it
     * (cancelled while queued), runs 2..7 print their number, run 7 also raises. */
    for (int k = 0; k < SESSIONS; k++) {
        for (int i = 0; i < PER_SESSION; i++) {
            struct job *j = &jobs[k][i];
            j->session = k;
            j->index = i;
            char code[256];
            if (i == 0) snprintf(code, sizeof code, "import time\nprint('started', flush=True)\ntime.sleep(60)\nprint('woke')");
            else if (i == 1) snprintf(code, sizeof code, "flag = True\nprint('queued run ran')");
            else if (i == 7) snprintf(code, sizeof code, "print('%d:%d')\nraise ValueError('on purpose')", k, i);
            else snprintf(code, sizeof code, "print('%d:%d')", k, i);
            bai_op_opts_t o = {0};
            o.struct_size = sizeof o;
            o.console_cb = on_console;
            o.userdata = j;
            o.userdata_free = count_free;
            CHECK_CODE(bai_compute_run_start(c[k], (const uint8_t *)code, strlen(code), BAI_EXEC_QUERY, NULL, &o, &j->op), BAI_OK);
            CHECK(bai_op_userdata(j->op) == j);
        }
        /* Queued behind run 0: cancelled before it reaches the server. */
        CHECK_CODE(bai_op_cancel(jobs[k][1].op), BAI_OK);
        jobs[k][1].cancelled = 1;
    }
    int done = 0, cancelled_running = 0;
    while (done < SESSIONS * PER_SESSION) {
        size_t n = 0;
        CHECK_CODE(bai_session_poll(s, 200, &n), BAI_OK);
        for (bai_op_t *op; (op = bai_session_next_done(s)) != NULL;) {
            struct job *j = bai_op_userdata(op);
            CHECK(j != NULL && j->op == op);
            if (j == NULL) continue;
            j->completions++;
            done++;
        }
        /* Cancel each sleeping run once it runs on the server. */
        for (int k = 0; k < SESSIONS; k++) {
            struct job *j = &jobs[k][0];
            if (j->started && !j->cancelled) {
                CHECK_CODE(bai_op_cancel(j->op), BAI_OK);
                j->cancelled = 1;
                cancelled_running++;
            }
        }
    }
    CHECK(cancelled_running == SESSIONS);
    int ok = 0, raised = 0;
    for (int k = 0; k < SESSIONS; k++) {
        for (int i = 0; i < PER_SESSION; i++) {
            struct job *j = &jobs[k][i];
            CHECK(j->completions == 1);
            bai_code_t code = bai_op_code(j->op);
            if (i == 0) {
                CHECK(code == BAI_E_INTERRUPTED);
                CHECK(strstr(j->out, "woke") == NULL);
            } else if (i == 1) {
                CHECK(code == BAI_E_CANCELLED);
                CHECK(j->out[0] == '\0');
            } else {
                char want[32];
                snprintf(want, sizeof want, "%d:%d\n", k, i);
                CHECK_STR(j->out, want); /* its own output, no other run's */
                CHECK(code == BAI_OK);
                CHECK(bai_op_run_id(j->op)[0] != '\0');
                bai_exec_result_t *r = NULL;
                CHECK_CODE(bai_op_result(j->op, &r), BAI_OK);
                if (bai_exec_result_raised(r)) raised++;
                CHECK(bai_exec_result_raised(r) == (i == 7));
                bai_exec_result_free(r);
                if (code == BAI_OK) ok++;
            }
            bai_op_free(j->op);
        }
    }
    CHECK(ok == SESSIONS * (PER_SESSION - 2));
    CHECK(raised == SESSIONS);
    CHECK(frees == SESSIONS * PER_SESSION); /* every userdata released once, after bai_op_free */
    /* The cancelled queued runs never executed. */
    for (int k = 0; k < SESSIONS; k++) {
        struct job j;
        memset(&j, 0, sizeof j);
        bai_op_opts_t o = {0};
        o.struct_size = sizeof o;
        o.console_cb = on_console;
        o.userdata = &j;
        CHECK_CODE(bai_compute_run(c[k], (const uint8_t *)"print(flag)", 11, BAI_EXEC_QUERY, NULL, &o, NULL), BAI_OK);
        CHECK_STR(j.out, "False\n");
    }
    printf("64 runs on 8 compute sessions: %d finished (%d raised), 8 interrupted, 8 cancelled while queued, each handed out once\n",
           ok, raised);
}

/* ---- calls from inside an operation's own callback */

static bai_op_t *self_op;
static int inside_calls;

static int on_console_inside(void *ud, const bai_console_record_t *r)
{
    (void)ud;
    (void)r;
    if (self_op == NULL) return BAI_CB_CONTINUE;
    CHECK(bai_op_code(self_op) == BAI_PENDING);
    CHECK_CODE(bai_op_poll(self_op, 0), BAI_E_REENTRANT);
    CHECK_CODE(bai_op_send_input(self_op, (const uint8_t *)"x", 1), BAI_E_BAD_STATE);
    bai_exec_result_t *res = NULL;
    CHECK_CODE(bai_op_result(self_op, &res), BAI_E_BAD_STATE);
    bai_buf_t m = {NULL, 0};
    CHECK_CODE(bai_op_error_message(self_op, &m), BAI_OK);
    bai_buf_dispose(&m);
    CHECK(bai_op_run_id(self_op) != NULL);
    inside_calls++;
    /* Free the operation from inside its own callback. */
    bai_op_free(self_op);
    self_op = NULL;
    return BAI_CB_CONTINUE;
}

static void inside_callbacks(bai_compute_t *c)
{
    bai_op_opts_t o = {0};
    o.struct_size = sizeof o;
    o.console_cb = on_console_inside;
    const char *code = "for i in range(5):\n    print(i, flush=True)";
    CHECK_CODE(bai_compute_run_start(c, (const uint8_t *)code, strlen(code), BAI_EXEC_QUERY, NULL, &o, &self_op), BAI_OK);
    bai_op_t *op = self_op;
    while (self_op != NULL) {
        bai_code_t rc = bai_op_poll(op, 1000);
        if (self_op == NULL) break; /* freed inside the callback: op is gone */
        CHECK(rc == BAI_PENDING || rc == BAI_OK);
        if (rc == BAI_OK) break;
    }
    CHECK(self_op == NULL);
    CHECK(inside_calls == 1);
    printf("inside its own callback: code, re-entrant poll refused, input refused, result refused, message, free\n");
}

int main(void)
{
    bai_config_t *cfg = NULL;
    bai_session_t *s = NULL;
    bai_compute_t *c[SESSIONS] = {0};
    CHECK_CODE(bai_config_from_env(&cfg), BAI_OK);
    CHECK_CODE(bai_session_new(cfg, &s), BAI_OK);
    for (int k = 0; k < SESSIONS; k++) CHECK_CODE(bai_compute_create(s, env_or("BAI_TEST_IMAGE", "python:3.9-ubuntu20.04"), NULL, &c[k]), BAI_OK);
    if (test_failures == 0) {
        scenario(s, c);
        inside_callbacks(c[0]);
    }
    for (int k = 0; k < SESSIONS; k++) {
        if (c[k]) CHECK_CODE(bai_compute_destroy(c[k], 0, NULL), BAI_OK);
        bai_compute_free(c[k]);
    }
    bai_session_free(s);
    bai_config_free(cfg);
    return test_end("test_ops");
}
