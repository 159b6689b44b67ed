/*
 * startup.c: a whole process that opens an API session from the environment, gets the
 * server's versions (signed GET /) and exits. Measured from the outside (wall time, peak RSS).
 */
#include <backendai.h>

#include <stdio.h>

int main(void)
{
    bai_config_t *config = NULL;
    bai_session_t *session = NULL;
    bai_buf_t versions = {0};
    bai_code_t code = bai_config_from_env(&config);
    if (code == BAI_OK) {
        code = bai_session_new(config, &session);
    }
    bai_config_free(config);
    if (code == BAI_OK) {
        code = bai_system_get_versions(session, &versions);
    }
    if (code != BAI_OK) {
        fprintf(stderr, "startup: %s: %s\n", bai_code_name(code), bai_last_error_message());
        bai_session_free(session);
        return 1;
    }
    printf("%s\n", (const char *)versions.data);
    bai_buf_dispose(&versions);
    bai_session_free(session);
    return 0;
}
