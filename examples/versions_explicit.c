/*
 * versions_explicit.c: "Explicit configuration".
 *
 * Python:
 *     config = APIConfig(endpoint="https://api.backend.ai.local", endpoint_type="api",
 *                        domain="default", group="default")
 *     with Session(config=config) as api_session:
 *         print(api_session.System.get_versions())
 *
 * Usage: versions_explicit [ENDPOINT]
 * The endpoint is the first argument, else BACKEND_ENDPOINT, else
 * "https://api.backend.ai.local". Every other setting is set explicitly here; only the
 * keypair is taken from BACKEND_ACCESS_KEY / BACKEND_SECRET_KEY, when they are set, so the
 * secret never appears on a command line.
 */
#include <backendai.h>

#include <stdio.h>
#include <stdlib.h>

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

int main(int argc, char **argv)
{
    const char *endpoint = argc > 1 ? argv[1] : getenv("BACKEND_ENDPOINT");
    const char *access_key = getenv("BACKEND_ACCESS_KEY");
    const char *secret_key = getenv("BACKEND_SECRET_KEY");
    bai_config_t *config = NULL;
    bai_session_t *session = NULL;
    bai_buf_t versions = {NULL, 0};
    int status = 1;
    bai_code_t code;

    if (endpoint == NULL || endpoint[0] == '\0') {
        endpoint = "https://api.backend.ai.local";
    }
    if ((code = bai_config_new(&config)) != BAI_OK) {
        status = fail("bai_config_new", code);
    } else if ((code = bai_config_set_endpoint(config, endpoint)) != BAI_OK) {
        status = fail("bai_config_set_endpoint", code);
    } else if ((code = bai_config_set_endpoint_type(config, BAI_ENDPOINT_API)) != BAI_OK) {
        status = fail("bai_config_set_endpoint_type", code);
    } else if ((code = bai_config_set_domain(config, "default")) != BAI_OK) {
        status = fail("bai_config_set_domain", code);
    } else if ((code = bai_config_set_group(config, "default")) != BAI_OK) { /* the default project */
        status = fail("bai_config_set_group", code);
    } else if (access_key != NULL && secret_key != NULL &&
               (code = bai_config_set_keypair(config, access_key, secret_key)) != BAI_OK) {
        status = fail("bai_config_set_keypair", code);
    } else if ((code = bai_session_new(config, &session)) != BAI_OK) {
        status = fail("bai_session_new", code);
    } else if ((code = bai_system_get_versions(session, &versions)) != BAI_OK) {
        status = fail("bai_system_get_versions", code);
    } else {
        printf("%s\n", (const char *)versions.data);
        status = 0;
    }
    bai_buf_dispose(&versions);
    bai_session_free(session);
    bai_config_free(config);
    return status;
}
