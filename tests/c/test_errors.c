/*
 * Error model: bai_code_name/bai_code_describe for every code, the last error set by a
 * failure and cleared by the next success, the copy-out twin. No server needed.
 */
#include "common.h"

#define CODE(c) {c, #c}
static const struct {
    int32_t code;
    const char *name;
} CODES[] = {
    CODE(BAI_OK), CODE(BAI_PENDING), CODE(BAI_WAITING_INPUT),
    CODE(BAI_E_NULL_ARG), CODE(BAI_E_INVALID_ARG), CODE(BAI_E_INVALID_UTF8), CODE(BAI_E_BAD_STATE),
    CODE(BAI_E_REENTRANT), CODE(BAI_E_BUFFER_TOO_SMALL),
    CODE(BAI_E_NETWORK), CODE(BAI_E_TLS), CODE(BAI_E_TIMEOUT), CODE(BAI_E_CANCELLED), CODE(BAI_E_WEBSOCKET),
    CODE(BAI_E_HTTP_STATUS), CODE(BAI_E_AUTH), CODE(BAI_E_NOT_FOUND), CODE(BAI_E_CONFLICT),
    CODE(BAI_E_RATE_LIMITED), CODE(BAI_E_SERVER), CODE(BAI_E_BAD_RESPONSE),
    CODE(BAI_E_SESSION_GONE), CODE(BAI_E_EXEC_FAILED), CODE(BAI_E_ABORTED_BY_CALLBACK), CODE(BAI_E_IO),
    CODE(BAI_E_INTERRUPTED), CODE(BAI_E_PANIC), CODE(BAI_E_INTERNAL),
};

int main(void)
{
    size_t n = sizeof CODES / sizeof CODES[0];
    for (size_t i = 0; i < n; i++) {
        CHECK_STR(bai_code_name(CODES[i].code), CODES[i].name);
        const char *d = bai_code_describe(CODES[i].code);
        CHECK(d != NULL && d[0] != '\0' && strcmp(d, "unknown code") != 0);
        for (size_t j = 0; j < i; j++) { /* descriptions are distinct */
            CHECK(strcmp(d, bai_code_describe(CODES[j].code)) != 0);
        }
    }
    const int32_t unknown[] = {-1, 3, 99, 106, 199, 299, 399, 499, 904, 7000, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        CHECK_STR(bai_code_name(unknown[i]), "BAI_E_UNKNOWN");
        CHECK_STR(bai_code_describe(unknown[i]), "unknown code");
    }

    /* Nothing failed yet on this thread. */
    CHECK(bai_last_error_code() == BAI_OK);
    CHECK_STR(bai_last_error_message(), "");

    /* A failure sets the detail; the getters do not clear it. */
    bai_config_t *config = NULL;
    CHECK_CODE(bai_config_new(&config), BAI_OK);
    CHECK_CODE(bai_config_set_connect_timeout_ms(config, -1), BAI_E_INVALID_ARG);
    CHECK(bai_last_error_code() == BAI_E_INVALID_ARG);
    CHECK(bai_last_error_code() == BAI_E_INVALID_ARG);
    CHECK(bai_last_error_http_status() == 0);
    CHECK_STR(bai_last_error_server_type(), "");
    char message[512];
    snprintf(message, sizeof message, "%s", bai_last_error_message());
    CHECK(message[0] != '\0');

    /* Copy-out: too small reports the length and copies nothing; enough copies it all. */
    size_t len = 0;
    char small[4] = "xyz";
    CHECK(bai_last_error_message_copy(small, sizeof small, &len) == BAI_E_BUFFER_TOO_SMALL);
    CHECK(len == strlen(message));
    CHECK_STR(small, "xyz");
    CHECK(bai_last_error_message_copy(NULL, 0, &len) == BAI_E_BUFFER_TOO_SMALL);
    CHECK(len == strlen(message));
    char big[512];
    CHECK(bai_last_error_message_copy(big, sizeof big, &len) == BAI_OK);
    CHECK_STR(big, message);
    CHECK(len == strlen(message));
    /* ... and it did not clear the last error. */
    CHECK(bai_last_error_code() == BAI_E_INVALID_ARG);
    CHECK_STR(bai_last_error_message(), message);

    /* The next successful fallible call clears it. */
    CHECK_CODE(bai_config_set_connect_timeout_ms(config, 1000), BAI_OK);
    CHECK(bai_last_error_code() == BAI_OK);
    CHECK_STR(bai_last_error_message(), "");
    CHECK(bai_last_error_message_copy(big, sizeof big, &len) == BAI_OK);
    CHECK(len == 0 && big[0] == '\0');
    bai_config_free(config);
    return test_end("test_errors");
}
