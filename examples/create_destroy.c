/*
 * create_destroy.c: "Creating and destroying a compute session".
 *
 * Python:
 *     my_session = api_session.ComputeSession.get_or_create(
 *         "python:3.9-ubuntu20.04",      # registered container image name
 *         mounts=["mydata", "mymodel"],  # vfolder names
 *         resources={"cpu": 8, "mem": "32g", "cuda.device": 2},
 *     )
 *     print(my_session.id)
 *     print("status:", my_session.get_info()["status"])
 *     my_session.destroy()
 *
 * Usage: create_destroy [FOLDER...]
 * Mounts the storage folders named on the command line (none by default) and asks for
 * 1 CPU and 1 GiB of memory, which any agent can give; add "cuda.device", "2" to the
 * resources on a cluster with GPUs.
 */
#include <backendai.h>

#include <stdio.h>

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

int main(int argc, char **argv)
{
    const char *const resources[] = {"cpu", "1", "mem", "1g"};
    bai_create_opts_t opts = {0};
    bai_session_t *session = NULL;
    bai_compute_t *my_session = NULL;
    bai_code_t code;
    int status = 1;

    opts.struct_size = sizeof opts;
    opts.mounts = (const char *const *)(argv + 1);
    opts.n_mounts = (size_t)(argc - 1);
    opts.resources = resources;
    opts.n_resources = 2;

    if (open_session(&session) != 0) {
        return 1;
    }
    if ((code = bai_compute_create(session, "python:3.9-ubuntu20.04", &opts, &my_session)) != BAI_OK) {
        status = fail("bai_compute_create", code);
    } else {
        printf("%s\n", bai_compute_id(my_session));
        bai_buf_t info = {NULL, 0};
        if ((code = bai_compute_get_info(my_session, &info)) == BAI_OK) {
            printf("status: %s\n", bai_compute_status(my_session));
        }
        bai_buf_dispose(&info);
        if (code != BAI_OK) {
            status = fail("bai_compute_get_info", code);
            if (bai_compute_destroy(my_session, 0, NULL) != BAI_OK) {
                fprintf(stderr, "bai_compute_destroy failed too: %s\n", bai_last_error_message());
            }
        } else if ((code = bai_compute_destroy(my_session, 0, NULL)) != BAI_OK) {
            status = fail("bai_compute_destroy", code);
        } else {
            status = 0;
        }
    }
    bai_compute_free(my_session);
    bai_session_free(session);
    return status;
}
