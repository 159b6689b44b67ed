/* Runs on one compute session: they go in start order; a run cancelled while queued never
 * reaches the server; a running one is interrupted and reports it; an interrupt never reaches
 * a later run (50 rounds of a run left waiting for input followed by a normal run).
 * Needs a server (BACKEND_* variables). */
#include "common.h"

static char out[4096];

static int collect(void *ud, const bai_console_record_t *r)
{
    (void)ud;
    if (r->stream == BAI_STREAM_STDOUT) strncat(out, (const char *)r->data, sizeof out - strlen(out) - 1);
    return BAI_CB_CONTINUE;
}

static bai_code_t run(bai_compute_t *c, const char *code)
{
    out[0] = '\0';
    bai_exec_result_t *r = NULL;
    bai_code_t rc = bai_compute_run(c, (const uint8_t *)code, strlen(code), BAI_EXEC_QUERY, NULL, NULL, &r);
    bai_exec_result_free(r);
    return rc;
}

static bai_op_t *start(bai_compute_t *c, const char *code)
{
    bai_op_t *op = NULL;
    CHECK_CODE(bai_compute_run_start(c, (const uint8_t *)code, strlen(code), BAI_EXEC_QUERY, NULL, NULL, &op), BAI_OK);
    return op;
}

/* Polls until the op ends; returns its code. */
static bai_code_t finish(bai_op_t *op)
{
    bai_code_t rc;
    while ((rc = bai_op_poll(op, 1000)) == BAI_PENDING) {}
    return rc;
}

int main(void)
{
    bai_config_t *cfg = NULL;
    bai_session_t *s = NULL;
    bai_compute_t *c = NULL;
    CHECK_CODE(bai_config_from_env(&cfg), BAI_OK);
    CHECK_CODE(bai_session_new(cfg, &s), BAI_OK);
    CHECK_CODE(bai_compute_create(s, env_or("BAI_TEST_IMAGE", "python:3.9-ubuntu20.04"), NULL, &c), BAI_OK);
    if (c == NULL) return test_end("test_runs");
    CHECK_CODE(bai_compute_set_console_cb(c, collect, NULL, NULL), BAI_OK);

    /* A run left waiting for input (no input callback) is stopped; the next run is intact. */
    int rounds = atoi(env_or("BAI_RUNS_ROUNDS", "50"));
    int good = 0;
    for (int i = 0; i < rounds; i++) {
        bai_code_t a = run(c, "x = input('never answered: ')");
        bai_code_t b = run(c, "print(6 * 7)");
        if (a == BAI_E_BAD_STATE && b == BAI_OK && strcmp(out, "42\n") == 0) good++;
        else fprintf(stderr, "round %d: %s then %s, output \"%s\"\n", i, bai_code_name(a), bai_code_name(b), out);
    }
    CHECK(good == rounds);
    printf("%d of %d rounds: an input-waiting run stopped, the next run printed 42\n", good, rounds);

    /* Queued behind a running run: cancelling the queued one does not touch the kernel. */
    out[0] = '\0';
    bai_op_t *a = start(c, "import time\nprint('a started', flush=True)\ntime.sleep(60)\nprint('a slept')");
    bai_op_t *b = start(c, "ran_b = True\nprint('b ran')");
    while (strstr(out, "a started") == NULL) {
        bai_code_t rc = bai_op_poll(a, 1000);
        CHECK(rc == BAI_PENDING);
        if (rc != BAI_PENDING) break;
    }
    CHECK_CODE(bai_op_cancel(b), BAI_OK);
    CHECK(finish(b) == BAI_E_CANCELLED);
    CHECK(bai_op_code(a) == BAI_PENDING); /* the running run goes on */
    /* Cancelling the running one interrupts it on the server. */
    CHECK_CODE(bai_op_cancel(a), BAI_OK);
    CHECK(finish(a) == BAI_E_INTERRUPTED);
    CHECK(strstr(out, "a slept") == NULL);
    bai_op_free(a);
    bai_op_free(b);
    /* The queued run never ran, and the interrupt did not reach the next run. */
    CHECK_CODE(run(c, "print(globals().get('ran_b', False))"), BAI_OK);
    CHECK_STR(out, "False\n");
    printf("queued run cancelled without reaching the server; running run interrupted; next run intact\n");

    /* Start order is kept: five runs started at once run in order on the server (each one
     * appends its number; they are polled in reverse to show delivery order does not matter). */
    CHECK_CODE(run(c, "order = []"), BAI_OK);
    bai_op_t *ops[5];
    for (int i = 0; i < 5; i++) {
        char code[64];
        snprintf(code, sizeof code, "order.append(%d)", i);
        ops[i] = start(c, code);
    }
    for (int i = 4; i >= 0; i--) CHECK(finish(ops[i]) == BAI_OK);
    for (int i = 0; i < 5; i++) bai_op_free(ops[i]);
    CHECK_CODE(run(c, "print(order)"), BAI_OK);
    CHECK_STR(out, "[0, 1, 2, 3, 4]\n");
    printf("five runs started together ran in start order\n");

    CHECK_CODE(bai_compute_destroy(c, 0, NULL), BAI_OK);
    bai_compute_free(c);
    bai_session_free(s);
    bai_config_free(cfg);
    return test_end("test_runs");
}
