/*
 * query_mode.c: "Snippet execution (query mode)".
 *
 * Python:
 *     my_session = api_session.ComputeSession.get_or_create("python:3.9-ubuntu20.04")
 *     code = 'print("hello world")'
 *     mode = "query"
 *     run_id = None
 *     try:
 *         while True:
 *             result = my_session.execute(run_id, code, mode=mode)
 *             run_id = result["runId"]
 *             for rec in result.get("console", []): ...print...
 *             if result["status"] == "finished": break
 *             else: mode = "continued"; code = ""
 *     finally:
 *         my_session.destroy()
 *
 * The same loop with bai_compute_execute() (one request per step; records reach the
 * callbacks before it returns). bai_compute_run() does the whole loop in one call.
 *
 * Usage: query_mode [CODE]   (default: print("hello world"))
 */
#include <backendai.h>

#include <stdio.h>
#include <string.h>

/* Execution modes (the values of the library's bai_exec_mode_t). */
enum { MODE_QUERY = 0, MODE_CONTINUE = 2 };

static int fail(const char *what, bai_code_t code)
{
    char message[1024];
    char type[512];
    unsigned status = bai_last_error_http_status();
    snprintf(type, sizeof type, "%s", bai_last_error_server_type());
    snprintf(message, sizeof message, "%s", bai_last_error_message());
    fprintf(stderr, "%s failed: %s: %s (HTTP status %u, server error type \"%s\")\n", what,
            bai_code_name(code), message, status, type);
    return 1;
}

/* Opens an API session configured from the environment, as Session() does. */
static int open_session(bai_session_t **session)
{
    bai_config_t *config = NULL;
    bai_code_t code = bai_config_from_env(&config);
    if (code != BAI_OK) {
        return fail("bai_config_from_env", code);
    }
    code = bai_session_new(config, session);
    bai_config_free(config);
    return code == BAI_OK ? 0 : fail("bai_session_new", code);
}

/* Console callback: what the examples print for each console record. */
static int32_t on_console(void *userdata, const bai_console_record_t *rec)
{
    (void)userdata;
    FILE *to = strcmp(rec->kind, "stderr") == 0 ? stderr : stdout;
    if (strcmp(rec->kind, "stdout") != 0 && strcmp(rec->kind, "stderr") != 0) {
        fprintf(stdout, "[%s] ", rec->kind);
    }
    fwrite(rec->data, 1, rec->len, to);
    fflush(to);
    return BAI_CB_CONTINUE;
}

/* handle_media(): report a media record (images arrive decoded from their data URI). */
static int32_t on_media(void *userdata, const bai_media_record_t *rec)
{
    (void)userdata;
    printf("[media %s, %zu bytes%s]\n", rec->mime, rec->len, rec->decoded ? ", decoded" : "");
    return BAI_CB_CONTINUE;
}

int main(int argc, char **argv)
{
    const char *code_text = argc > 1 ? argv[1] : "print(\"hello world\")";
    bai_session_t *session = NULL;
    bai_compute_t *my_session = NULL;
    char run_id[128] = "";
    int32_t mode = MODE_QUERY;
    bai_code_t code;
    int status = 1;

    if (open_session(&session) != 0) {
        return 1;
    }
    if ((code = bai_compute_create(session, "python:3.9-ubuntu20.04", NULL, &my_session)) != BAI_OK) {
        status = fail("bai_compute_create", code);
        goto out;
    }
    if (bai_compute_set_console_cb(my_session, on_console, NULL, NULL) != BAI_OK)
        fprintf(stderr, "bai_compute_set_console_cb failed: %s\n", bai_last_error_message());
    if (bai_compute_set_media_cb(my_session, on_media, NULL, NULL) != BAI_OK)
        fprintf(stderr, "bai_compute_set_media_cb failed: %s\n", bai_last_error_message());
    for (;;) {
        bai_exec_result_t *result = NULL;
        code = bai_compute_execute(my_session, run_id[0] ? run_id : NULL, (const uint8_t *)code_text,
                                   strlen(code_text), mode, NULL, NULL, &result);
        if (code != BAI_OK) {
            status = fail("bai_compute_execute", code);
            break;
        }
        /* keeps track of this particular run loop */
        snprintf(run_id, sizeof run_id, "%s", bai_exec_result_run_id(result));
        if (strcmp(bai_exec_result_status(result), "finished") == 0) {
            int64_t exit_code = -1;
            bai_exec_result_exit_code(result, &exit_code);
            if (exit_code == 0) {
                status = 0;
            } else {
                fprintf(stderr, "the code exited with status %lld\n", (long long)exit_code);
            }
            bai_exec_result_free(result);
            break;
        }
        bai_exec_result_free(result);
        mode = MODE_CONTINUE;
        code_text = "";
    }
    if ((code = bai_compute_destroy(my_session, 0, NULL)) != BAI_OK) {
        status = fail("bai_compute_destroy", code);
    }
out:
    bai_compute_free(my_session);
    bai_session_free(session);
    return status;
}
