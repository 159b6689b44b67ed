/*
 * user_input.c: "Handling user inputs".
 *
 * Python (inside the execute loop):
 *     elif result["status"] == "waiting-input":
 *         mode = "input"
 *         if result["options"].get("is_password", False): code = getpass.getpass()
 *         else: code = input()
 *
 * Here the input callback answers: bai_compute_run() calls it whenever the code waits for
 * input and sends the reply with mode "input".
 *
 * Usage: user_input [ANSWER...]
 * Each prompt is answered with the next ANSWER; without answers left, a line is read from
 * standard input.
 */
#include <backendai.h>

#include <stdio.h>
#include <string.h>

static const char CODE[] =
    "name = input(\"What is your name? \")\n"
    "print(\"Hello, %s!\" % name)\n";

struct answers {
    char **next;
    char **end;
};

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

static int32_t on_input(void *userdata, bai_input_request_t *request)
{
    struct answers *answers = userdata;
    char line[1024];
    const char *text;

    if (answers->next < answers->end) {
        text = *answers->next++;
    } else {
        if (bai_input_request_is_password(request)) {
            fprintf(stderr, "(password, not echoed) ");
        }
        if (fgets(line, sizeof line, stdin) == NULL) {
            fprintf(stderr, "no input to answer the prompt\n");
            return BAI_CB_STOP;
        }
        line[strcspn(line, "\r\n")] = '\0';
        text = line;
    }
    if (!bai_input_request_is_password(request)) {
        printf("%s\n", text); /* echo the answer after the prompt, as a terminal would */
    }
    bai_code_t code = bai_input_reply(request, (const uint8_t *)text, strlen(text));
    if (code != BAI_OK) {
        fail("bai_input_reply", code);
        return BAI_CB_STOP;
    }
    return BAI_CB_CONTINUE;
}

int main(int argc, char **argv)
{
    struct answers answers = {argv + 1, argv + argc};
    bai_session_t *session = NULL;
    bai_compute_t *compute = NULL;
    bai_exec_result_t *result = NULL;
    bai_code_t code;
    int status = 1;

    if (open_session(&session) != 0) {
        return 1;
    }
    if ((code = bai_compute_create(session, "python:3.9-ubuntu20.04", NULL, &compute)) != BAI_OK) {
        status = fail("bai_compute_create", code);
        goto out;
    }
    if (bai_compute_set_console_cb(compute, on_console, NULL, NULL) != BAI_OK)
        fprintf(stderr, "bai_compute_set_console_cb failed: %s\n", bai_last_error_message());
    if (bai_compute_set_input_cb(compute, on_input, &answers, NULL) != BAI_OK)
        fprintf(stderr, "bai_compute_set_input_cb failed: %s\n", bai_last_error_message());
    /* Mode 0 is BAI_EXEC_QUERY. */
    if ((code = bai_compute_run(compute, (const uint8_t *)CODE, strlen(CODE), 0, NULL, NULL, &result)) != BAI_OK) {
        status = fail("bai_compute_run", code);
    } else {
        int64_t exit_code = -1;
        bai_exec_result_exit_code(result, &exit_code);
        status = exit_code == 0 ? 0 : 1;
        if (status != 0) {
            fprintf(stderr, "the code exited with status %lld\n", (long long)exit_code);
        }
    }
    if ((code = bai_compute_destroy(compute, 0, NULL)) != BAI_OK) {
        status = fail("bai_compute_destroy", code);
    }
out:
    bai_exec_result_free(result);
    bai_compute_free(compute);
    bai_session_free(session);
    return status;
}
