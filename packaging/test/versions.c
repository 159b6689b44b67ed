/* Built against an installed libbackendai (pkg-config or CMake): prints the library version
 * and, when BACKEND_ENDPOINT is set, the server's versions. */
#include <backendai.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    if (bai_check_version(BAI_VERSION_NUM) != BAI_OK) {
        fprintf(stderr, "header/library mismatch: %s\n", bai_last_error_message());
        return 1;
    }
    printf("%s\n", bai_version());
    if (getenv("BACKEND_ENDPOINT") == NULL)
        return 0;
    bai_config_t *cfg = NULL;
    if (bai_config_from_env(&cfg) != BAI_OK) {
        fprintf(stderr, "config: %s\n", bai_last_error_message());
        return 1;
    }
    bai_session_t *s = NULL;
    int rc = 0;
    if (bai_session_new(cfg, &s) != BAI_OK) {
        fprintf(stderr, "session: %s\n", bai_last_error_message());
        rc = 1;
    } else {
        bai_buf_t v = {0};
        if (bai_system_get_versions(s, &v) == BAI_OK) {
            printf("server: %s\n", (const char *)v.data);
        } else {
            fprintf(stderr, "versions: %s %s\n", bai_code_name(bai_last_error_code()), bai_last_error_message());
            rc = 1;
        }
        bai_buf_dispose(&v);
    }
    bai_session_free(s);
    bai_config_free(cfg);
    return rc;
}
