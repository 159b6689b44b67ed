/*
 * batch_mode.c: "Script execution (batch mode)".
 *
 * Python:
 *     compute_sess = session.ComputeSession.get_or_create("python:3.6-ubuntu18.04")
 *     compute_sess.upload(["mycode.py", "setup.py"])
 *     opts = {"build": "*", "exec": "python mycode.py arg1 arg2"}
 *     ...the execute loop in mode "batch"...
 *     compute_sess.destroy()
 *
 * Writes mycode.py and setup.py into the current directory, uploads them, and runs the
 * batch job with bai_compute_run(), which sends "continue" after each step (clean, build,
 * exec) until the job finishes.
 */
#include <backendai.h>

#include <stdio.h>
#include <string.h>

/* Execution mode (the value of the library's bai_exec_mode_t). */
enum { MODE_BATCH = 1 };

static const char MYCODE[] =
    "import sys\n"
    "print(\"mycode.py got\", sys.argv[1:])\n";
static const char SETUP[] =
    "from setuptools import setup\n"
    "setup(name=\"mycode\", version=\"0.1\", py_modules=[\"mycode\"])\n";

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

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

int main(void)
{
    const char *const files[] = {"mycode.py", "setup.py"};
    bai_batch_opts_t opts = {0};
    bai_session_t *session = NULL;
    bai_compute_t *compute_sess = NULL;
    bai_exec_result_t *result = NULL;
    bai_code_t code;
    int status = 1;

    opts.struct_size = sizeof opts;
    opts.build = "*"; /* the kernel's default build: installs the Python package (setup.py) */
    opts.exec = "python mycode.py arg1 arg2";

    if (write_file(files[0], MYCODE) != 0 || write_file(files[1], SETUP) != 0) {
        return 1;
    }
    if (open_session(&session) != 0) {
        return 1;
    }
    if ((code = bai_compute_create(session, "python:3.6-ubuntu18.04", NULL, &compute_sess)) != BAI_OK) {
        status = fail("bai_compute_create", code);
        goto out;
    }
    if (bai_compute_set_console_cb(compute_sess, on_console, NULL, NULL) != BAI_OK)
        fprintf(stderr, "bai_compute_set_console_cb failed: %s\n", bai_last_error_message());
    if (bai_compute_set_media_cb(compute_sess, on_media, NULL, NULL) != BAI_OK)
        fprintf(stderr, "bai_compute_set_media_cb failed: %s\n", bai_last_error_message());
    if ((code = bai_compute_upload(compute_sess, files, 2, NULL, NULL)) != BAI_OK) {
        status = fail("bai_compute_upload", code);
    } else if ((code = bai_compute_run(compute_sess, (const uint8_t *)"", 0, MODE_BATCH, &opts, NULL, &result)) != BAI_OK) {
        status = fail("bai_compute_run", code);
    } else {
        int64_t exit_code = -1;
        bai_exec_result_exit_code(result, &exit_code);
        if (exit_code == 0) {
            status = 0;
        } else {
            fprintf(stderr, "the batch job ended with status %s, exit code %lld\n",
                    bai_exec_result_status(result), (long long)exit_code);
        }
    }
    if ((code = bai_compute_destroy(compute_sess, 0, NULL)) != BAI_OK) {
        status = fail("bai_compute_destroy", code);
    }
out:
    bai_exec_result_free(result);
    bai_compute_free(compute_sess);
    bai_session_free(session);
    return status;
}
