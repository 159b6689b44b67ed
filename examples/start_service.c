/*
 * start_service.c: "The ComputeSession.start_service() API".
 *
 * Python:
 *     sess = api_session.ComputeSession.get_or_create(...)
 *     service_info = sess.start_service(app_name, login_session_token="dummy")
 *     app_proxy_url = f"{service_info['wsproxy_addr']}/v2/proxy/{service_info['token']}/{sess.id}/add?app={app_name}"
 *     resp = requests.get(app_proxy_url)
 *     print(resp.json()["url"])
 *
 * bai_compute_start_service() starts the app; bai_compute_app_url() does the app-proxy step.
 * The token is a credential and is not printed.
 *
 * Usage: start_service [APP]   (default: ttyd)
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
    const char *app_name = argc > 1 ? argv[1] : "ttyd";
    bai_session_t *api_session = NULL;
    bai_compute_t *sess = NULL;
    bai_buf_t token = {NULL, 0}, wsproxy_addr = {NULL, 0}, url = {NULL, 0};
    bai_code_t code;
    int status = 1;

    if (open_session(&api_session) != 0) {
        return 1;
    }
    if ((code = bai_compute_create(api_session, "python:3.9-ubuntu20.04", NULL, &sess)) != BAI_OK) {
        status = fail("bai_compute_create", code);
        goto out;
    }
    if ((code = bai_compute_start_service(sess, app_name, 0, NULL, NULL, &token, &wsproxy_addr)) != BAI_OK) {
        status = fail("bai_compute_start_service", code);
    } else if ((code = bai_compute_app_url(sess, app_name, (const char *)token.data,
                                           (const char *)wsproxy_addr.data, &url)) != BAI_OK) {
        status = fail("bai_compute_app_url", code);
    } else {
        /* opening this link from a browser navigates the user to the app */
        printf("%s\n", (const char *)url.data);
        /* Load the page once, as a browser would. */
        bai_response_t *page = NULL;
        if ((code = bai_service_call(api_session, (const char *)url.data, "GET", NULL, NULL, 0, NULL, &page)) != BAI_OK) {
            status = fail("loading the app page", code);
        } else {
            size_t len = 0;
            bai_response_body(page, &len);
            printf("page: HTTP %u, %zu bytes\n", (unsigned)bai_response_status(page), len);
            status = bai_response_status(page) == 200 ? 0 : 1;
        }
        bai_response_free(page);
    }
    if ((code = bai_compute_destroy(sess, 0, NULL)) != BAI_OK) {
        status = fail("bai_compute_destroy", code);
    }
out:
    bai_buf_dispose(&url);
    bai_buf_dispose(&wsproxy_addr);
    bai_buf_dispose(&token);
    bai_compute_free(sess);
    bai_session_free(api_session);
    return status;
}
