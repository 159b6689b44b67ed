/*
 * start_service_raw.c: "Accessing Container Applications" with a raw request.
 *
 * Python:
 *     sess = api_session.ComputeSession.get_or_create(...)
 *     rqst = Request("POST", f"/session/{sess.id}/start-service")
 *     rqst.set_json({"app": app_name, "login_session_token": "dummy"})
 *     async with rqst.fetch() as resp:
 *         body = await resp.json()
 *         app_proxy_url = f"{body['wsproxy_addr']}/v2/proxy/{body['token']}/{sess.id}/add?app={app_name}"
 *     async with client.get(app_proxy_url) as resp:
 *         print((await resp.json())["url"])
 *
 * bai_session_request() sends any signed request; the app proxy is called through a second
 * session whose endpoint is the proxy address, with an anonymous (unsigned) request.
 *
 * Usage: start_service_raw [APP]   (default: ttyd)
 */
#include <backendai.h>

#include <stdio.h>
#include <string.h>

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

/*
 * Copies the string value of "key" in a flat JSON object into out. A real program would
 * use a JSON parser; the answers read here are flat objects with plain string values.
 */
static int json_string(const char *json, const char *key, char *out, size_t cap)
{
    char pattern[128];
    snprintf(pattern, sizeof pattern, "\"%s\"", key);
    const char *p = strstr(json, pattern);
    if (p == NULL) {
        return -1;
    }
    p += strlen(pattern);
    while (*p == ' ' || *p == ':') {
        p++;
    }
    if (*p != '"') {
        return -1;
    }
    p++;
    size_t n = 0;
    while (*p != '\0' && *p != '"' && n + 1 < cap) {
        if (*p == '\\' && p[1] != '\0') {
            p++;
        }
        out[n++] = *p++;
    }
    out[n] = '\0';
    return *p == '"' ? 0 : -1;
}

/* Sends a request and keeps its body if the status is 2xx; prints the failure otherwise. */
static int fetch(const bai_session_t *session, const bai_request_t *rqst, char *body, size_t cap)
{
    bai_response_t *resp = NULL;
    bai_code_t code = bai_session_request(session, rqst, &resp);
    if (code != BAI_OK) {
        return fail("bai_session_request", code);
    }
    size_t len = 0;
    const uint8_t *data = bai_response_body(resp, &len);
    uint16_t status = bai_response_status(resp);
    snprintf(body, cap, "%.*s", (int)len, (const char *)data);
    bai_response_free(resp);
    if (status < 200 || status > 299) {
        fprintf(stderr, "%s %s answered HTTP %u: %s\n", rqst->method, rqst->path, (unsigned)status, body);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *app_name = argc > 1 ? argv[1] : "ttyd";
    bai_session_t *api_session = NULL;
    bai_session_t *proxy_session = NULL;
    bai_config_t *proxy_config = NULL;
    bai_compute_t *sess = NULL;
    char path[2048], json[256], body[8192], token[1024], wsproxy_addr[1024], auth_url[2048];
    bai_code_t code;
    int status = 1;

    if (open_session(&api_session) != 0) {
        return 1;
    }
    if ((code = bai_compute_create(api_session, "python:3.9-ubuntu20.04", NULL, &sess)) != BAI_OK) {
        status = fail("bai_compute_create", code);
        goto out;
    }

    bai_request_t rqst = {0};
    rqst.struct_size = sizeof rqst;
    rqst.method = "POST";
    snprintf(path, sizeof path, "/session/%s/start-service", bai_compute_id(sess));
    rqst.path = path;
    snprintf(json, sizeof json, "{\"app\": \"%s\", \"login_session_token\": \"dummy\"}", app_name);
    rqst.body = (const uint8_t *)json;
    rqst.body_len = strlen(json);
    rqst.content_type = "application/json";
    if (fetch(api_session, &rqst, body, sizeof body) != 0) {
        goto destroy;
    }
    if (json_string(body, "wsproxy_addr", wsproxy_addr, sizeof wsproxy_addr) != 0 ||
        json_string(body, "token", token, sizeof token) != 0) {
        fprintf(stderr, "unexpected start-service answer: %s\n", body);
        goto destroy;
    }

    /* The app proxy is another server: an unsigned GET on {wsproxy_addr}/v2/proxy/... */
    if ((code = bai_config_new(&proxy_config)) != BAI_OK) {
        status = fail("bai_config_new", code);
        goto destroy;
    }
    if ((code = bai_config_set_endpoint(proxy_config, wsproxy_addr)) != BAI_OK) {
        status = fail("bai_config_set_endpoint", code);
        goto destroy;
    }
    if ((code = bai_session_new(proxy_config, &proxy_session)) != BAI_OK) {
        status = fail("bai_session_new", code);
        goto destroy;
    }
    const char *query[] = {"app", app_name};
    bai_request_t add = {0};
    add.struct_size = sizeof add;
    add.flags = BAI_REQUEST_ANONYMOUS;
    add.method = "GET";
    snprintf(path, sizeof path, "/v2/proxy/%s/%s/add", token, bai_compute_id(sess));
    add.path = path;
    add.query = query;
    add.n_query = 1;
    if (fetch(proxy_session, &add, body, sizeof body) != 0) {
        goto destroy;
    }
    if (json_string(body, "url", auth_url, sizeof auth_url) != 0) {
        fprintf(stderr, "unexpected app proxy answer: %s\n", body);
        goto destroy;
    }
    /* opening this link from a browser navigates the user to the terminal session */
    printf("%s\n", auth_url);
    status = 0;

destroy:
    if ((code = bai_compute_destroy(sess, 0, NULL)) != BAI_OK) {
        status = fail("bai_compute_destroy", code);
    }
out:
    bai_session_free(proxy_session);
    bai_config_free(proxy_config);
    bai_compute_free(sess);
    bai_session_free(api_session);
    return status;
}
