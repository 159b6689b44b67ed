/*
 * Configuration: bad values are BAI_E_INVALID_ARG with a message naming the field or the
 * variable, and leave the config unchanged; good values from the environment are read as the
 * official SDK reads them; the secret key never appears in descriptions or messages.
 * No server needed.
 */
#include "common.h"

static const char SECRET[] = "config-test-secret-value";

/* bai_config_from_env() with one variable set to a bad value. */
static void bad_env(const char *name, const char *value, const char *needle)
{
    bai_config_t *config = (bai_config_t *)&test_checks;
    setenv(name, value, 1);
    CHECK_CODE(bai_config_from_env(&config), BAI_E_INVALID_ARG);
    CHECK(config == NULL);
    CHECK_MESSAGE_HAS(needle);
    unsetenv(name);
    bai_config_free(config);
}

static void check_describe(const bai_config_t *config, const char *needle, bool present)
{
    bai_buf_t buf = {NULL, 0};
    CHECK_CODE(bai_config_describe(config, &buf), BAI_OK);
    if (buf.data != NULL) {
        CHECK(buf.data[buf.len] == '\0');
        bool found = strstr((const char *)buf.data, needle) != NULL;
        if (found != present) {
            fprintf(stderr, "bai_config_describe %s \"%s\"\n", present ? "lacks" : "contains", needle);
        }
        CHECK(found == present);
        CHECK(strstr((const char *)buf.data, SECRET) == NULL);
    }
    bai_buf_dispose(&buf);
    bai_buf_dispose(&buf); /* disposing twice is safe */
    CHECK(buf.data == NULL && buf.len == 0);
}

int main(void)
{
    bai_config_t *config = NULL;

    /* Start from a clean environment: only what each case sets. */
    const char *vars[] = {"ENDPOINT", "ENDPOINT_TYPE", "ACCESS_KEY", "SECRET_KEY", "DOMAIN", "GROUP",
                          "VFOLDER_MOUNTS", "SKIP_SSLCERT_VALIDATION", "CONNECTION_TIMEOUT",
                          "READ_TIMEOUT", "OVERRIDE_STORAGE_PROXY"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "BACKEND_%s", vars[i]);
        unsetenv(name);
        snprintf(name, sizeof name, "SORNA_%s", vars[i]);
        unsetenv(name);
    }

    bad_env("BACKEND_SKIP_SSLCERT_VALIDATION", "maybe", "BACKEND_SKIP_SSLCERT_VALIDATION");
    bad_env("BACKEND_ENDPOINT", "not a url", "BACKEND_ENDPOINT");
    bad_env("BACKEND_ENDPOINT", "ftp://127.0.0.1/", "BACKEND_ENDPOINT");
    bad_env("BACKEND_ENDPOINT_TYPE", "webserver", "BACKEND_ENDPOINT_TYPE");
    bad_env("BACKEND_CONNECTION_TIMEOUT", "soon", "BACKEND_CONNECTION_TIMEOUT");
    bad_env("BACKEND_CONNECTION_TIMEOUT", "-5", "BACKEND_CONNECTION_TIMEOUT");
    bad_env("BACKEND_READ_TIMEOUT", "-1", "BACKEND_READ_TIMEOUT");
    bad_env("SORNA_SKIP_SSLCERT_VALIDATION", "perhaps", "SORNA_SKIP_SSLCERT_VALIDATION");

    /* Good values, including the legacy SORNA_ fallback and the boolean spellings. */
    setenv("SORNA_ENDPOINT", "http://127.0.0.1:1", 1);
    setenv("BACKEND_SKIP_SSLCERT_VALIDATION", "Yes", 1);
    setenv("BACKEND_ACCESS_KEY", "AKIAIOSFODNN7EXAMPLE", 1);
    setenv("BACKEND_SECRET_KEY", SECRET, 1);
    setenv("BACKEND_DOMAIN", "config-test-domain", 1);
    setenv("BACKEND_CONNECTION_TIMEOUT", "2.5", 1);
    CHECK_CODE(bai_config_from_env(&config), BAI_OK);
    if (config != NULL) {
        check_describe(config, "http://127.0.0.1:1", true);
        check_describe(config, "config-test-domain", true);
        check_describe(config, "AKIAIOSFODNN7EXAMPLE", true);
        check_describe(config, "\"sync_downloads\":false", true);
        CHECK_CODE(bai_config_set_sync_downloads(config, true), BAI_OK);
        check_describe(config, "\"sync_downloads\":true", true);

        /* Setters: bad values name the field and leave the config unchanged. */
        CHECK_CODE(bai_config_set_endpoint(config, "not a url"), BAI_E_INVALID_ARG);
        CHECK_MESSAGE_HAS("endpoint");
        CHECK_CODE(bai_config_set_endpoint(config, "ftp://example.com"), BAI_E_INVALID_ARG);
        CHECK_MESSAGE_HAS("endpoint");
        CHECK_CODE(bai_config_set_endpoint(config, ""), BAI_E_INVALID_ARG);
        check_describe(config, "http://127.0.0.1:1", true);
        CHECK_CODE(bai_config_set_endpoint_type(config, 2), BAI_E_INVALID_ARG);
        CHECK_MESSAGE_HAS("endpoint");
        CHECK_CODE(bai_config_set_endpoint_type(config, -1), BAI_E_INVALID_ARG);
        CHECK_CODE(bai_config_set_connect_timeout_ms(config, -1), BAI_E_INVALID_ARG);
        CHECK_MESSAGE_HAS("timeout");
        CHECK_CODE(bai_config_set_connect_timeout_ms(config, 0), BAI_E_INVALID_ARG);
        CHECK_MESSAGE_HAS("timeout");
        CHECK_CODE(bai_config_set_read_timeout_ms(config, -1), BAI_E_INVALID_ARG);
        CHECK_MESSAGE_HAS("timeout");
        CHECK_CODE(bai_config_set_request_timeout_ms(config, -1000), BAI_E_INVALID_ARG);
        CHECK_MESSAGE_HAS("timeout");
        CHECK_CODE(bai_config_set_hash_type(config, "md5"), BAI_E_INVALID_ARG);
        CHECK_MESSAGE_HAS("hash");
        CHECK_CODE(bai_config_set_api_version(config, "seven"), BAI_E_INVALID_ARG);
        CHECK_MESSAGE_HAS("version");
        CHECK_CODE(bai_config_set_http_proxy(config, "not a proxy url"), BAI_E_INVALID_ARG);
        CHECK_MESSAGE_HAS("proxy");

        /* Good values. */
        CHECK_CODE(bai_config_set_endpoint(config, "https://api.example.com:8443/prefix"), BAI_OK);
        check_describe(config, "https://api.example.com:8443/prefix", true);
        CHECK_CODE(bai_config_set_endpoint(config, "http://127.0.0.1:1,http://127.0.0.1:2"), BAI_OK);
        CHECK_CODE(bai_config_set_endpoint_type(config, BAI_ENDPOINT_SESSION), BAI_OK);
        CHECK_CODE(bai_config_set_endpoint_type(config, BAI_ENDPOINT_API), BAI_OK);
        CHECK_CODE(bai_config_set_connect_timeout_ms(config, 1500), BAI_OK);
        CHECK_CODE(bai_config_set_read_timeout_ms(config, 0), BAI_OK);
        CHECK_CODE(bai_config_set_request_timeout_ms(config, 0), BAI_OK);
        CHECK_CODE(bai_config_set_hash_type(config, "sha512"), BAI_OK);
        CHECK_CODE(bai_config_set_api_version(config, "v6.20220615"), BAI_OK);
        CHECK_CODE(bai_config_set_login(config, "user@example.com", SECRET), BAI_OK);
        check_describe(config, "user@example.com", true);
        CHECK_CODE(bai_config_set_keypair(config, NULL, NULL), BAI_OK); /* anonymous */
        CHECK_CODE(bai_config_set_skip_tls_verify(config, false), BAI_OK);
        bai_config_free(config);
    }
    unsetenv("SORNA_ENDPOINT");
    unsetenv("BACKEND_SKIP_SSLCERT_VALIDATION");
    unsetenv("BACKEND_ACCESS_KEY");
    unsetenv("BACKEND_SECRET_KEY");
    unsetenv("BACKEND_DOMAIN");
    unsetenv("BACKEND_CONNECTION_TIMEOUT");

    /* With nothing set: the SDK's defaults. */
    config = NULL;
    CHECK_CODE(bai_config_from_env(&config), BAI_OK);
    if (config != NULL) {
        check_describe(config, "https://api.cloud.backend.ai", true);
    }
    bai_config_free(config);
    return test_end("test_config");
}
