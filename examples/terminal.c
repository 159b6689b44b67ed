/*
 * terminal.c: an interactive terminal in a compute session (the SDK's stream_pty()).
 *
 * The terminal is an operation: bai_compute_terminal_open() connects, terminal output
 * reaches the console callback inside bai_op_poll(), and keys go in with
 * bai_terminal_write(). With a terminal on stdin the program relays what you type (end with
 * Ctrl-D); otherwise it runs the commands given as arguments (default: a short demo) and
 * exits when the shell does. A terminal that closes without any output is a failure.
 *
 * Usage: terminal [COMMAND...]
 */
#define _POSIX_C_SOURCE 200809L
#include <backendai.h>

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *what, bai_code_t code)
{
    fprintf(stderr, "%s failed: %s: %s (HTTP status %u, server error type \"%s\")\n", what,
            bai_code_name(code), bai_last_error_message(), bai_last_error_http_status(),
            bai_last_error_server_type());
    return 1;
}

static int32_t on_output(void *userdata, const bai_console_record_t *rec)
{
    size_t *received = userdata;
    *received += rec->len;
    fwrite(rec->data, 1, rec->len, stdout);
    fflush(stdout);
    return BAI_CB_CONTINUE;
}

static bai_code_t send_line(bai_op_t *term, const char *line)
{
    bai_code_t c = bai_terminal_write(term, (const uint8_t *)line, strlen(line));
    if (c == BAI_OK)
        c = bai_terminal_write(term, (const uint8_t *)"\n", 1);
    return c;
}

int main(int argc, char **argv)
{
    int rc = 1;
    bai_config_t *config = NULL;
    bai_session_t *session = NULL;
    bai_compute_t *compute = NULL;
    bai_op_t *term = NULL;
    bai_code_t code;

    if ((code = bai_config_from_env(&config)) != BAI_OK)
        return fail("bai_config_from_env", code);
    if ((code = bai_session_new(config, &session)) != BAI_OK) {
        rc = fail("bai_session_new", code);
        goto out;
    }
    if ((code = bai_compute_create(session, "python:3.9-ubuntu20.04", NULL, &compute)) != BAI_OK) {
        rc = fail("bai_compute_create", code);
        goto out;
    }
    size_t received = 0;
    if (bai_compute_set_console_cb(compute, on_output, &received, NULL) != BAI_OK)
        fprintf(stderr, "bai_compute_set_console_cb failed: %s\n", bai_last_error_message());
    if ((code = bai_compute_terminal_open(compute, NULL, &term)) != BAI_OK) {
        rc = fail("bai_compute_terminal_open", code);
        goto out;
    }
    if (bai_terminal_resize(term, 24, 80) != BAI_OK)
        fprintf(stderr, "bai_terminal_resize failed: %s\n", bai_last_error_message());

    int interactive = isatty(STDIN_FILENO) && argc < 2;
    if (!interactive) {
        if (argc > 1) {
            for (int i = 1; i < argc; i++)
                send_line(term, argv[i]);
        } else {
            send_line(term, "echo \"pty says: $((6 * 7))\"");
            send_line(term, "tty >/dev/null && echo 'stdin is a terminal'");
        }
        send_line(term, "exit");
    }
    for (;;) {
        if (interactive) {
            struct pollfd p = {STDIN_FILENO, POLLIN, 0};
            if (poll(&p, 1, 0) > 0) {
                char buf[512];
                ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
                if (n <= 0) {
                    if (bai_terminal_close(term) != BAI_OK)
                        fprintf(stderr, "bai_terminal_close failed: %s\n", bai_last_error_message());
                    interactive = 0;
                } else {
                    if (bai_terminal_write(term, (const uint8_t *)buf, (size_t)n) != BAI_OK)
                        fprintf(stderr, "bai_terminal_write failed: %s\n", bai_last_error_message());
                }
            }
        }
        code = bai_op_poll(term, 50);
        if (code == BAI_PENDING)
            continue;
        if (code == BAI_OK && received == 0) {
            /* The stream ended before the terminal said anything: nothing happened (a
             * 23.09 manager closes the terminal on its first input, for one). */
            fprintf(stderr, "terminal: the server closed the terminal without any output\n");
            rc = 1;
        } else if (code == BAI_OK) {
            rc = 0;
        } else {
            rc = fail("terminal", code);
        }
        break;
    }

out:
    bai_op_free(term);
    if (compute)
        if (bai_compute_destroy(compute, 0, NULL) != BAI_OK)
            fprintf(stderr, "bai_compute_destroy failed: %s\n", bai_last_error_message());
    bai_compute_free(compute);
    bai_session_free(session);
    bai_config_free(config);
    return rc;
}
