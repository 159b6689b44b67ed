/*
 * hello.c: the shortest round trip through libbackendai.
 *
 * Reads the configuration from the environment (BACKEND_ENDPOINT, BACKEND_ACCESS_KEY,
 * BACKEND_SECRET_KEY, ...), creates a compute session from the image
 * "python:3.9-ubuntu20.04", runs one line of Python with a console callback that prints its
 * output, and destroys the session.
 */
#include <backendai.h>

#include <stdio.h>
#include <string.h>

static const char IMAGE[] = "python:3.9-ubuntu20.04";
static const char CODE[] = "print(\"hello from libbackendai\")\n";

/* Prints what failed with the library's error detail; returns the exit status 1. */
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

/* Console callback: stdout records to stdout, everything else to stderr. */
static int32_t on_console(void *userdata, const bai_console_record_t *rec)
{
    (void)userdata;
    FILE *to = strcmp(rec->kind, "stdout") == 0 ? stdout : stderr;
    fwrite(rec->data, 1, rec->len, to);
    fflush(to);
    return BAI_CB_CONTINUE;
}

int main(void)
{
    bai_config_t *config = NULL;
    bai_session_t *session = NULL;
    bai_compute_t *compute = NULL;
    bai_exec_result_t *result = NULL;
    int status = 1;
    bai_code_t code;

    if ((code = bai_config_from_env(&config)) != BAI_OK) {
        status = fail("bai_config_from_env", code);
        goto out;
    }
    if ((code = bai_session_new(config, &session)) != BAI_OK) {
        status = fail("bai_session_new", code);
        goto out;
    }
    printf("%s talking to a server with API %s\n", bai_version(), bai_session_server_version(session));

    if ((code = bai_compute_create(session, IMAGE, NULL, &compute)) != BAI_OK) {
        status = fail("bai_compute_create", code);
        goto out;
    }
    printf("compute session %s (%s) is %s\n", bai_compute_name(compute), bai_compute_id(compute),
           bai_compute_status(compute));

    if ((code = bai_compute_set_console_cb(compute, on_console, NULL, NULL)) != BAI_OK) {
        status = fail("bai_compute_set_console_cb", code);
        goto destroy;
    }
    /* Mode 0 is BAI_EXEC_QUERY (run a snippet in the session's interpreter). */
    if ((code = bai_compute_run(compute, (const uint8_t *)CODE, strlen(CODE), 0, NULL, NULL, &result)) != BAI_OK) {
        status = fail("bai_compute_run", code);
        goto destroy;
    }
    int64_t exit_code = -1;
    if (!bai_exec_result_exit_code(result, &exit_code) || exit_code != 0) {
        fprintf(stderr, "the code ended with status %s, exit code %lld\n", bai_exec_result_status(result),
                (long long)exit_code);
        goto destroy;
    }
    status = 0;

destroy:
    if ((code = bai_compute_destroy(compute, 0, NULL)) != BAI_OK) {
        status = fail("bai_compute_destroy", code);
    } else {
        printf("compute session destroyed\n");
    }
out:
    bai_exec_result_free(result);
    bai_compute_free(compute);
    bai_session_free(session);
    bai_config_free(config);
    return status;
}
