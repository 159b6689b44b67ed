/*
 * async_stream.c: "Asynchronous mode".
 *
 * Python:
 *     compute_sess = await api_session.ComputeSession.get_or_create(
 *         "python:3.6-ubuntu18.04", client_token="mysession")
 *     async with compute_sess.stream_execute(code, mode="query") as stream:
 *         async for result in stream:
 *             ...print the console records...
 *             if result["status"] == "finished": break
 *             elif result["status"] == "waiting-input": await stream.send_text(input())
 *     await compute_sess.destroy()
 *
 * In C the stream is an operation that the caller drives: bai_compute_stream_start() opens
 * the WebSocket and returns at once, and bai_op_poll() delivers the records to the
 * callbacks on this thread, never blocking longer than its timeout, so it fits in an event
 * loop. Input is sent with
 * bai_op_send_input() when poll reports BAI_WAITING_INPUT.
 *
 * Usage: async_stream [CODE]   (default: print("hello world")); input lines from stdin.
 */
#include <backendai.h>

#include <stdio.h>
#include <string.h>

/* Execution mode (the value of the library's bai_exec_mode_t). */
enum { MODE_QUERY = 0 };

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
    bai_create_opts_t opts = {0};
    bai_session_t *session = NULL;
    bai_compute_t *compute_sess = NULL;
    bai_op_t *stream = NULL;
    bai_exec_result_t *result = NULL;
    bai_code_t code;
    unsigned long polls = 0;
    int status = 1;

    opts.struct_size = sizeof opts;
    opts.name = "mysession"; /* client_token: reuses the session of that name if it runs */

    if (open_session(&session) != 0) {
        return 1;
    }
    if ((code = bai_compute_create(session, "python:3.6-ubuntu18.04", &opts, &compute_sess)) != BAI_OK) {
        status = fail("bai_compute_create", code);
        goto out;
    }
    if (bai_compute_set_console_cb(compute_sess, on_console, NULL, NULL) != BAI_OK)
        fprintf(stderr, "bai_compute_set_console_cb failed: %s\n", bai_last_error_message());
    if (bai_compute_set_media_cb(compute_sess, on_media, NULL, NULL) != BAI_OK)
        fprintf(stderr, "bai_compute_set_media_cb failed: %s\n", bai_last_error_message());
    if ((code = bai_compute_stream_start(compute_sess, (const uint8_t *)code_text, strlen(code_text), MODE_QUERY,
                                      NULL, NULL, &stream)) != BAI_OK) {
        status = fail("bai_compute_stream_start", code);
        goto destroy;
    }
    for (;;) {
        /* An event loop would do other work between polls; 100 ms at most per wait. */
        code = bai_op_poll(stream, 100);
        polls++;
        if (code == BAI_PENDING) {
            continue;
        }
        if (code == BAI_WAITING_INPUT) {
            char line[1024];
            if (fgets(line, sizeof line, stdin) == NULL) {
                fprintf(stderr, "no input to answer the prompt\n");
                if (bai_op_cancel(stream) != BAI_OK)
                    fprintf(stderr, "bai_op_cancel failed: %s\n", bai_last_error_message());
                continue;
            }
            line[strcspn(line, "\r\n")] = '\0';
            if ((code = bai_op_send_input(stream, (const uint8_t *)line, strlen(line))) != BAI_OK) {
                status = fail("bai_op_send_input", code);
                break;
            }
            continue;
        }
        if (code != BAI_OK) {
            bai_buf_t message = {NULL, 0};
            if (bai_op_error_message(stream, &message) != BAI_OK)
                fprintf(stderr, "bai_op_error_message failed: %s\n", bai_last_error_message());
            fprintf(stderr, "the run failed: %s: %s\n", bai_code_name(code),
                    message.data != NULL ? (const char *)message.data : "");
            bai_buf_dispose(&message);
            break;
        }
        if ((code = bai_op_result(stream, &result)) != BAI_OK) {
            status = fail("bai_op_result", code);
            break;
        }
        int64_t exit_code = -1;
        bai_exec_result_exit_code(result, &exit_code);
        fprintf(stderr, "finished after %lu polls, exit code %lld\n", polls, (long long)exit_code);
        status = exit_code == 0 ? 0 : 1;
        break;
    }
destroy:
    bai_op_free(stream);
    if ((code = bai_compute_destroy(compute_sess, 0, NULL)) != BAI_OK) {
        status = fail("bai_compute_destroy", code);
    }
out:
    bai_exec_result_free(result);
    bai_compute_free(compute_sess);
    bai_session_free(session);
    return status;
}
