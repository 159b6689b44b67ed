/*
 * Compute sessions against the local server: create (and reuse), run with console, input and
 * stop callbacks, a non-blocking run driven by bai_op_poll, files up and down, listing with
 * paging, destroy, and BAI_E_NOT_FOUND afterwards.
 */
#include "common.h"

#include <sys/stat.h>
#include <unistd.h>

enum { MODE_QUERY = 0, MODE_BATCH = 1 };
static const char IMAGE[] = "python:3.9-ubuntu20.04";

struct output {
    char text[8192];
    size_t len;
    int records;
    int stop_on_first;
};

static int32_t collect(void *userdata, const bai_console_record_t *rec)
{
    struct output *out = userdata;
    CHECK(rec->struct_size >= sizeof *rec);
    CHECK(rec->data != NULL && rec->data[rec->len] == '\0');
    CHECK(rec->kind != NULL && rec->run_id != NULL);
    if (strcmp(rec->kind, "stdout") == 0 && out->len + rec->len < sizeof out->text) {
        memcpy(out->text + out->len, rec->data, rec->len);
        out->len += rec->len;
        out->text[out->len] = '\0';
    }
    out->records++;
    return out->stop_on_first ? BAI_CB_STOP : BAI_CB_CONTINUE;
}

static int asked;
static int32_t answer(void *userdata, bai_input_request_t *req)
{
    (void)userdata;
    asked++;
    CHECK(!bai_input_request_is_password(req));
    CHECK(bai_input_request_run_id(req) != NULL);
    CHECK_CODE(bai_input_reply(req, NULL, 3), BAI_E_NULL_ARG);
    CHECK_CODE(bai_input_reply(req, (const uint8_t *)"\xff", 1), BAI_E_INVALID_UTF8);
    CHECK_CODE(bai_input_reply(req, (const uint8_t *)"Dora", 4), BAI_OK);
    return BAI_CB_CONTINUE;
}

static int64_t run(bai_compute_t *c, const char *code, int32_t mode, const bai_batch_opts_t *opts, bai_code_t want)
{
    bai_exec_result_t *result = NULL;
    int64_t exit_code = -1;
    CHECK_CODE(bai_compute_run(c, (const uint8_t *)code, strlen(code), mode, opts, NULL, &result), want);
    if (result != NULL) {
        CHECK_STR(bai_exec_result_status(result), "finished");
        CHECK(bai_exec_result_exit_code(result, &exit_code));
        CHECK(bai_exec_result_run_id(result)[0] != '\0');
    }
    bai_exec_result_free(result);
    return exit_code;
}

int main(void)
{
    bai_config_t *config = NULL;
    bai_session_t *session = NULL;
    bai_compute_t *c = NULL;
    bai_compute_t *again = NULL;
    struct output out;
    char name[64];

    test_endpoint();
    CHECK_CODE(bai_config_from_env(&config), BAI_OK);
    CHECK_CODE(bai_session_new(config, &session), BAI_OK);
    bai_config_free(config);
    if (session == NULL) {
        return test_end("test_compute");
    }

    snprintf(name, sizeof name, "ctest-%ld", (long)getpid());
    bai_create_opts_t opts = {0};
    opts.struct_size = sizeof opts;
    opts.name = name;
    CHECK_CODE(bai_compute_create(session, IMAGE, &opts, &c), BAI_OK);
    if (c == NULL) {
        bai_session_free(session);
        return test_end("test_compute");
    }
    CHECK(bai_compute_was_created(c));
    CHECK_STR(bai_compute_status(c), "RUNNING");
    CHECK_STR(bai_compute_name(c), name);
    CHECK(strlen(bai_compute_id(c)) == 36);
    /* get-or-create: the same name and image reuse it. */
    CHECK_CODE(bai_compute_create(session, IMAGE, &opts, &again), BAI_OK);
    CHECK(again != NULL && !bai_compute_was_created(again));
    CHECK(again != NULL && strcmp(bai_compute_id(again), bai_compute_id(c)) == 0);
    bai_compute_free(again);
    bai_buf_t info = {NULL, 0};
    CHECK_CODE(bai_compute_get_info(c, &info), BAI_OK);
    CHECK(info.data != NULL && strstr((const char *)info.data, "RUNNING") != NULL);
    bai_buf_dispose(&info);

    /* Output through the console callback, state kept between runs, exit codes. */
    memset(&out, 0, sizeof out);
    CHECK_CODE(bai_compute_set_console_cb(c, collect, &out, NULL), BAI_OK);
    CHECK(run(c, "x = 6 * 7\nprint('x is', x)", MODE_QUERY, NULL, BAI_OK) == 0);
    CHECK_STR(out.text, "x is 42\n");
    memset(&out, 0, sizeof out);
    /* A real Backend.AI kernel runs query-mode code in IPython, which reports SystemExit on
     * stderr and carries on: the run's exit code is 0. */
    CHECK(run(c, "import sys\nprint(x + 1)\nsys.exit(5)", MODE_QUERY, NULL, BAI_OK) == 0);
    CHECK_STR(out.text, "43\n");

    /* Input through the input callback. */
    memset(&out, 0, sizeof out);
    CHECK_CODE(bai_compute_set_input_cb(c, answer, NULL, NULL), BAI_OK);
    CHECK(run(c, "print('hi', input('name? '))", MODE_QUERY, NULL, BAI_OK) == 0);
    CHECK(asked == 1);
    CHECK(strstr(out.text, "hi Dora\n") != NULL);
    /* Without an input callback a blocking run cannot answer: BAI_E_BAD_STATE. */
    CHECK_CODE(bai_compute_set_input_cb(c, NULL, NULL, NULL), BAI_OK);
    CHECK(run(c, "input('again? ')", MODE_QUERY, NULL, BAI_E_BAD_STATE) == -1);

    /* A callback that says stop ends the run with BAI_E_ABORTED_BY_CALLBACK. */
    memset(&out, 0, sizeof out);
    out.stop_on_first = 1;
    CHECK(run(c, "import time\nfor i in range(100):\n    print(i, flush=True)\n    time.sleep(0.1)",
              MODE_QUERY, NULL, BAI_E_ABORTED_BY_CALLBACK) == -1);
    CHECK(out.records == 1);
    out.stop_on_first = 0;

    /* Non-blocking: poll until done; records arrive inside bai_op_poll. */
    memset(&out, 0, sizeof out);
    bai_op_t *op = NULL;
    const char *code = "import time\ntime.sleep(0.5)\nprint('polled')";
    CHECK_CODE(bai_compute_run_start(c, (const uint8_t *)code, strlen(code), MODE_QUERY, NULL, NULL, &op), BAI_OK);
    bai_code_t st = BAI_PENDING;
    int polls = 0;
    while (op != NULL && st == BAI_PENDING && polls < 600) {
        st = bai_op_poll(op, 100);
        polls++;
    }
    CHECK(st == BAI_OK);
    CHECK(bai_op_code(op) == BAI_OK);
    bai_exec_result_t *result = NULL;
    CHECK_CODE(bai_op_result(op, &result), BAI_OK);
    int64_t exit_code = -1;
    CHECK(result != NULL && bai_exec_result_exit_code(result, &exit_code) && exit_code == 0);
    bai_exec_result_free(result);
    bai_op_free(op);
    CHECK_STR(out.text, "polled\n");
    /* Cancelled at once: BAI_E_CANCELLED if the run had not reached the server yet,
     * BAI_E_INTERRUPTED if it had (the library cannot know which comes first here). */
    code = "import time\ntime.sleep(30)";
    op = NULL;
    CHECK_CODE(bai_compute_run_start(c, (const uint8_t *)code, strlen(code), MODE_QUERY, NULL, NULL, &op), BAI_OK);
    CHECK_CODE(bai_op_cancel(op), BAI_OK);
    CHECK_CODE(bai_op_cancel(op), BAI_OK); /* idempotent */
    st = BAI_PENDING;
    for (polls = 0; op != NULL && st == BAI_PENDING && polls < 100; polls++) {
        st = bai_op_poll(op, 100);
    }
    CHECK(st == BAI_E_CANCELLED || st == BAI_E_INTERRUPTED);
    bai_op_free(op);

    /* Files: upload, list, download. */
    FILE *f = fopen("upload-me.txt", "w");
    CHECK(f != NULL);
    if (f != NULL) {
        fputs("uploaded from C\n", f);
        fclose(f);
    }
    const char *files[] = {"upload-me.txt"};
    CHECK_CODE(bai_compute_upload(c, files, 1, NULL, NULL), BAI_OK);
    const char *outside[] = {"/etc/hostname"};
    CHECK_CODE(bai_compute_upload(c, outside, 1, NULL, NULL), BAI_E_INVALID_ARG);
    bai_file_list_t *list = NULL;
    CHECK_CODE(bai_compute_list_files(c, ".", &list), BAI_OK);
    int found = 0;
    for (size_t i = 0; i < bai_file_list_count(list); i++) {
        const bai_file_entry_t *e = bai_file_list_get(list, i);
        if (e != NULL && strcmp(e->name, "upload-me.txt") == 0) {
            found = 1;
            CHECK(e->size == strlen("uploaded from C\n"));
            CHECK(!e->is_dir);
        }
    }
    CHECK(found);
    CHECK(bai_file_list_get(list, bai_file_list_count(list)) == NULL);
    bai_file_list_free(list);
    memset(&out, 0, sizeof out);
    CHECK(run(c, "open('made-here.txt', 'w').write('made in the session')", MODE_QUERY, NULL, BAI_OK) == 0);
    CHECK(mkdir("dl", 0700) == 0);
    const char *want[] = {"made-here.txt"};
    bai_buf_t names = {NULL, 0};
    CHECK_CODE(bai_compute_download(c, want, 1, "dl", NULL, &names), BAI_OK);
    CHECK(names.data != NULL && strstr((const char *)names.data, "made-here.txt") != NULL);
    bai_buf_dispose(&names);
    char got[64] = "";
    f = fopen("dl/made-here.txt", "r");
    CHECK(f != NULL);
    if (f != NULL) {
        CHECK(fgets(got, sizeof got, f) != NULL);
        fclose(f);
    }
    CHECK_STR(got, "made in the session");

    /* Listing by status, page by page (page size 1): our session is there exactly once. */
    uint64_t offset = 0, total = 0;
    int seen = 0, pages = 0;
    do {
        bai_page_t *page = NULL;
        CHECK_CODE(bai_compute_list(session, "RUNNING", offset, 1, &page), BAI_OK);
        if (page == NULL) {
            break;
        }
        total = bai_page_total_count(page);
        size_t n = bai_page_count(page);
        CHECK(n <= 1);
        for (size_t i = 0; i < n; i++) {
            const char *id = bai_page_item_field(page, i, "id");
            CHECK_STR(bai_page_item_field(page, i, "status"), "RUNNING");
            CHECK(bai_page_item_json(page, i) != NULL && bai_page_item_json(page, i)[0] == '{');
            if (id != NULL && strcmp(id, bai_compute_id(c)) == 0) {
                seen++;
            }
        }
        CHECK(bai_page_item_json(page, n) == NULL);
        bai_page_free(page);
        offset += n;
        pages++;
        if (n == 0) {
            break;
        }
    } while (offset < total && pages < 1000);
    CHECK(seen == 1);
    CHECK(offset == total);
    CHECK((uint64_t)pages == total);
    bai_page_t *page = NULL;
    CHECK_CODE(bai_compute_list(session, "RUNNING", 0, 0, &page), BAI_E_INVALID_ARG);
    CHECK_CODE(bai_compute_list(session, "RUNNING", 0, 101, &page), BAI_E_INVALID_ARG);

    /* Destroy; then the session is gone. */
    bai_buf_t stats = {NULL, 0};
    CHECK_CODE(bai_compute_destroy(c, BAI_DESTROY_FORCED | BAI_DESTROY_RECURSIVE | 4u, NULL), BAI_E_INVALID_ARG);
    CHECK_CODE(bai_compute_destroy(c, 0, &stats), BAI_OK);
    CHECK(stats.data != NULL);
    bai_buf_dispose(&stats);
    CHECK_CODE(bai_compute_get_info(c, &info), BAI_E_NOT_FOUND);
    CHECK(bai_last_error_http_status() == 404);
    CHECK(strstr(bai_last_error_server_type(), "object-not-found") != NULL);
    CHECK_CODE(bai_compute_destroy(c, 0, NULL), BAI_E_NOT_FOUND);

    /* An unknown image: BAI_E_NOT_FOUND. */
    bai_compute_t *none = NULL;
    CHECK_CODE(bai_compute_create(session, "no-such-image:0.0-nowhere", NULL, &none), BAI_E_NOT_FOUND);
    CHECK(none == NULL);

    bai_compute_free(c);
    bai_session_free(session);
    return test_end("test_compute");
}
