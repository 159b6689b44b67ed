/*
 * Session mode (BAI_ENDPOINT_SESSION): login with the right password works and requests go
 * through; a wrong password is BAI_E_AUTH without the password in any message.
 */
#include "common.h"

static bai_code_t open_session(const char *user, const char *password, bai_session_t **out)
{
    bai_config_t *config = NULL;
    CHECK_CODE(bai_config_new(&config), BAI_OK);
    CHECK_CODE(bai_config_set_endpoint(config, test_endpoint()), BAI_OK);
    CHECK_CODE(bai_config_set_endpoint_type(config, BAI_ENDPOINT_SESSION), BAI_OK);
    CHECK_CODE(bai_config_set_login(config, user, password), BAI_OK);
    bai_code_t code = bai_session_new(config, out);
    bai_config_free(config);
    return code;
}

int main(void)
{
    const char *user = env_or("BAI_TEST_USER_EMAIL", "user@example.com");
    const char *password = env_or("BAI_TEST_USER_PASSWORD", "example-password");
    bai_session_t *session = NULL;

    CHECK_CODE(open_session(user, password, &session), BAI_OK);
    if (session != NULL) {
        bai_buf_t versions = {NULL, 0};
        CHECK_CODE(bai_system_get_versions(session, &versions), BAI_OK);
        bai_buf_dispose(&versions);
        bai_page_t *page = NULL;
        CHECK_CODE(bai_compute_list(session, "RUNNING", 0, 20, &page), BAI_OK);
        printf("logged in; %llu running session(s)\n", (unsigned long long)bai_page_total_count(page));
        bai_page_free(page);
        bai_session_free(session); /* logs out */
    }

    session = (bai_session_t *)&test_checks;
    CHECK_CODE(open_session(user, "wrong-password-for-the-test", &session), BAI_E_AUTH);
    CHECK(session == NULL);
    /* The web server answers a refused login with HTTP 200 and authenticated: false. */
    CHECK(bai_last_error_http_status() == 200);
    CHECK(strstr(bai_last_error_server_type(), "auth-failed") != NULL);
    printf("wrong password: %s\n", bai_last_error_message());
    CHECK(strstr(bai_last_error_message(), "wrong-password-for-the-test") == NULL);
    CHECK(strstr(bai_last_error_message(), password) == NULL);

    CHECK_CODE(open_session("nobody@example.com", password, &session), BAI_E_AUTH);
    CHECK(session == NULL);
    return test_end("test_session_mode");
}
