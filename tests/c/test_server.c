/*
 * Against the local server: versions, a wrong secret key (BAI_E_AUTH, HTTP 401, a server type
 * ending in auth-failed, no secret in any message), an unknown access key, connection
 * refused (BAI_E_NETWORK), raw request round trips, and the last error cleared by a success.
 */
#include "common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static const char WRONG_SECRET[] = "wrong-secret-key-for-the-test";

static bai_session_t *open_session(const char *access_key, const char *secret_key)
{
    bai_config_t *config = NULL;
    bai_session_t *session = NULL;
    CHECK_CODE(bai_config_new(&config), BAI_OK);
    CHECK_CODE(bai_config_set_endpoint(config, test_endpoint()), BAI_OK);
    CHECK_CODE(bai_config_set_keypair(config, access_key, secret_key), BAI_OK);
    CHECK_CODE(bai_session_new(config, &session), BAI_OK);
    bai_config_free(config);
    return session;
}

/* GET /auth?echo=<echo>: the credential check of the manager. */
static bai_code_t auth_echo(const bai_session_t *session, const char *echo, bai_response_t **resp)
{
    const char *query[] = {"echo", echo};
    bai_request_t rq = {0};
    rq.struct_size = sizeof rq;
    rq.method = "GET";
    rq.path = "/auth";
    rq.query = query;
    rq.n_query = 1;
    return bai_session_request(session, &rq, resp);
}

static void no_secret_in_error(const char *secret)
{
    CHECK(strstr(bai_last_error_message(), secret) == NULL);
    CHECK(strstr(bai_last_error_server_title(), secret) == NULL);
    CHECK(strstr(bai_last_error_server_type(), secret) == NULL);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* A loopback port where nothing listens: bound, then closed. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
        perror("socket");
        exit(2);
    }
    close(fd);
    return ntohs(addr.sin_port);
}

int main(void)
{
    const char *access_key = env_or("BACKEND_ACCESS_KEY", "AKIAIOSFODNN7EXAMPLE");
    const char *secret_key = getenv("BACKEND_SECRET_KEY");
    if (secret_key == NULL) {
        fprintf(stderr, "BACKEND_SECRET_KEY is not set\n");
        return 2;
    }

    /* Versions. */
    bai_session_t *session = open_session(access_key, secret_key);
    bai_buf_t versions = {NULL, 0};
    CHECK_CODE(bai_system_get_versions(session, &versions), BAI_OK);
    CHECK(versions.data != NULL && versions.data[versions.len] == '\0');
    if (versions.data != NULL) {
        printf("versions: %s\n", (const char *)versions.data);
        CHECK(strstr((const char *)versions.data, "\"version\"") != NULL);
        CHECK(strstr((const char *)versions.data, "\"manager\"") != NULL);
    }
    bai_buf_dispose(&versions);
    CHECK(bai_session_api_version(session)[0] == 'v');
    CHECK(bai_session_server_version(session)[0] == 'v');
    printf("API version: %s (server %s)\n", bai_session_api_version(session), bai_session_server_version(session));

    /* Raw request round trip: the echo comes back, with encoding of query values. */
    bai_response_t *resp = NULL;
    CHECK_CODE(auth_echo(session, "hello world & co/=+", &resp), BAI_OK);
    if (resp != NULL) {
        size_t len = 0;
        const uint8_t *body = bai_response_body(resp, &len);
        CHECK(bai_response_status(resp) == 200);
        CHECK(body != NULL && body[len] == '\0');
        CHECK(body != NULL && strstr((const char *)body, "\"authorized\"") != NULL);
        CHECK(body != NULL && strstr((const char *)body, "hello world & co/=+") != NULL);
        const char *ct = bai_response_header(resp, "Content-Type");
        CHECK(ct != NULL && strstr(ct, "application/json") != NULL);
        size_t n = bai_response_header_count(resp);
        CHECK(n > 0);
        const char *name = NULL, *value = NULL;
        CHECK_CODE(bai_response_header_at(resp, 0, &name, &value), BAI_OK);
        CHECK(name != NULL && value != NULL);
        CHECK_CODE(bai_response_header_at(resp, n, &name, &value), BAI_E_INVALID_ARG);
        CHECK_CODE(bai_response_header_at(resp, 0, NULL, &value), BAI_E_NULL_ARG);
    }
    bai_response_free(resp);
    resp = NULL;

    /* Any HTTP answer is a success of bai_session_request: a 404 is read from the response. */
    bai_request_t rq = {0};
    rq.struct_size = sizeof rq;
    rq.method = "GET";
    rq.path = "/session/no-such-session-for-the-test";
    CHECK_CODE(bai_session_request(session, &rq, &resp), BAI_OK);
    CHECK(resp != NULL && bai_response_status(resp) == 404);
    bai_response_free(resp);
    resp = NULL;
    /* A bad method is refused locally. */
    rq.method = "GET POST";
    CHECK_CODE(bai_session_request(session, &rq, &resp), BAI_E_INVALID_ARG);
    CHECK(resp == NULL);

    /* The failure is cleared by the next success on this thread. */
    CHECK(bai_last_error_code() == BAI_E_INVALID_ARG);
    CHECK_CODE(bai_system_get_versions(session, &versions), BAI_OK);
    CHECK(bai_last_error_code() == BAI_OK);
    CHECK_STR(bai_last_error_message(), "");
    CHECK(bai_last_error_http_status() == 0);
    bai_buf_dispose(&versions);

    /* An unsigned request to a handler that needs authentication: 401. */
    rq.method = "GET";
    rq.path = "/auth";
    rq.flags = BAI_REQUEST_ANONYMOUS;
    CHECK_CODE(bai_session_request(session, &rq, &resp), BAI_OK);
    CHECK(resp != NULL && bai_response_status(resp) == 401);
    bai_response_free(resp);
    resp = NULL;
    bai_session_free(session);

    /* A wrong secret key: BAI_E_AUTH, 401, auth-failed, and no secret anywhere. */
    session = open_session(access_key, WRONG_SECRET);
    bai_page_t *page = NULL;
    CHECK_CODE(bai_compute_list(session, "RUNNING", 0, 20, &page), BAI_E_AUTH);
    CHECK(page == NULL);
    CHECK(bai_last_error_http_status() == 401);
    CHECK(ends_with(bai_last_error_server_type(), "auth-failed"));
    printf("wrong secret: %s (%s, \"%s\")\n", bai_last_error_message(), bai_last_error_server_type(),
           bai_last_error_server_title());
    no_secret_in_error(WRONG_SECRET);
    no_secret_in_error(secret_key);
    /* The raw request gets the 401 as an answer. */
    CHECK_CODE(auth_echo(session, "x", &resp), BAI_OK);
    CHECK(resp != NULL && bai_response_status(resp) == 401);
    bai_response_free(resp);
    resp = NULL;
    bai_session_free(session);

    /* An unknown access key. */
    session = open_session("AKIANOSUCHKEY0000000", secret_key);
    CHECK_CODE(bai_compute_list(session, "RUNNING", 0, 20, &page), BAI_E_AUTH);
    CHECK(bai_last_error_http_status() == 401);
    CHECK(ends_with(bai_last_error_server_type(), "auth-failed"));
    no_secret_in_error(secret_key);
    bai_session_free(session);

    /* Connection refused. */
    char refused[64];
    snprintf(refused, sizeof refused, "http://127.0.0.1:%d", closed_port());
    bai_config_t *config = NULL;
    CHECK_CODE(bai_config_new(&config), BAI_OK);
    CHECK_CODE(bai_config_set_endpoint(config, refused), BAI_OK);
    CHECK_CODE(bai_config_set_keypair(config, access_key, secret_key), BAI_OK);
    CHECK_CODE(bai_config_set_connect_timeout_ms(config, 2000), BAI_OK);
    session = NULL;
    CHECK_CODE(bai_session_new(config, &session), BAI_OK); /* API mode: nothing sent yet that must succeed */
    CHECK_CODE(bai_system_get_versions(session, &versions), BAI_E_NETWORK);
    CHECK(versions.data == NULL);
    CHECK(bai_last_error_http_status() == 0);
    CHECK_STR(bai_last_error_server_type(), "");
    no_secret_in_error(secret_key);
    CHECK_CODE(auth_echo(session, "x", &resp), BAI_E_NETWORK);
    CHECK(resp == NULL);
    bai_session_free(session);
    bai_config_free(config);

    return test_end("test_server");
}
