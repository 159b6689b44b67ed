/*
 * versions_env.c: "Implicit configuration from environment variables".
 *
 * Python:
 *     with Session() as api_session:
 *         print(api_session.System.get_versions())
 *
 * The configuration comes from BACKEND_ENDPOINT, BACKEND_ENDPOINT_TYPE, BACKEND_ACCESS_KEY,
 * BACKEND_SECRET_KEY, ... (and a .env file above the current directory), as the SDK reads them.
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

int main(void)
{
    bai_config_t *config = NULL;
    bai_session_t *session = NULL;
    bai_buf_t versions = {NULL, 0};
    int status = 1;
    bai_code_t code;

    if ((code = bai_config_from_env(&config)) != BAI_OK) {
        status = fail("bai_config_from_env", code);
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
