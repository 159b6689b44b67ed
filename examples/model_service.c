/*
 * model_service.c: "Working with model service" with raw requests.
 *
 * Python:
 *     compute_sess = api_session.Service.create(
 *         "python:3.6-ubuntu18.04", "Llama2-70B", 1, service_name="Llama2-service",
 *         resources={"cuda.shares": 2, "cpu": 8, "mem": "64g"}, open_to_public=False)
 *     service_info = compute_sess.info()
 *     endpoint = service_info["url"]
 *     token = compute_sess.generate_api_token("3600s")["token"]
 *
 * The library has no model-service functions yet, so this example sends the requests the
 * SDK sends: POST /services, GET /services/{endpoint_id} (the inference URL is in
 * "service_endpoint", null until a route is healthy), POST /services/{endpoint_id}/token,
 * and finally DELETE /services/{endpoint_id} to clean up. The token is a credential: only
 * its length is printed.
 *
 * Usage: model_service [MODEL_FOLDER [SERVICE_NAME]]   (default: Llama2-70B Llama2-service)
 * MODEL_FOLDER must be an existing storage folder of the "model" kind. The resources asked
 * for (1 CPU, 1 GiB) fit any agent; ask for "cuda.shares" on a cluster with GPUs.
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
static int fetch(const bai_session_t *session, const char *method, const char *path, const char *json,
                 char *body, size_t cap)
{
    bai_request_t rqst = {0};
    bai_response_t *resp = NULL;
    rqst.struct_size = sizeof rqst;
    rqst.method = method;
    rqst.path = path;
    if (json != NULL) {
        rqst.body = (const uint8_t *)json;
        rqst.body_len = strlen(json);
        rqst.content_type = "application/json";
    }
    bai_code_t code = bai_session_request(session, &rqst, &resp);
    if (code != BAI_OK) {
        return fail("bai_session_request", code);
    }
    size_t len = 0;
    const uint8_t *data = bai_response_body(resp, &len);
    uint16_t status = bai_response_status(resp);
    snprintf(body, cap, "%.*s", (int)len, (const char *)data);
    bai_response_free(resp);
    if (status < 200 || status > 299) {
        fprintf(stderr, "%s %s answered HTTP %u: %s\n", method, path, (unsigned)status, body);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *model = argc > 1 ? argv[1] : "Llama2-70B";
    const char *service_name = argc > 2 ? argv[2] : "Llama2-service";
    bai_session_t *api_session = NULL;
    char json[1024], path[512], body[8192], endpoint_id[128], token[4096], url[2048];
    int status = 1;

    if (open_session(&api_session) != 0) {
        return 1;
    }
    snprintf(json, sizeof json,
             "{\"name\": \"%s\", \"desired_session_count\": 1, \"image\": \"python:3.6-ubuntu18.04\", "
             "\"domain\": \"default\", \"group\": \"default\", \"open_to_public\": false, "
             "\"config\": {\"model\": \"%s\", \"model_mount_destination\": \"/models\", "
             "\"resources\": {\"cpu\": 1, \"mem\": \"1g\"}}}",
             service_name, model);
    if (fetch(api_session, "POST", "/services", json, body, sizeof body) != 0) {
        goto out;
    }
    if (json_string(body, "endpoint_id", endpoint_id, sizeof endpoint_id) != 0) {
        fprintf(stderr, "unexpected answer to POST /services: %s\n", body);
        goto out;
    }
    printf("endpoint_id: %s\n", endpoint_id);

    snprintf(path, sizeof path, "/services/%s", endpoint_id);
    if (fetch(api_session, "GET", path, NULL, body, sizeof body) != 0) {
        goto delete;
    }
    printf("info: %s\n", body);
    if (json_string(body, "service_endpoint", url, sizeof url) == 0) {
        printf("inference endpoint: %s\n", url);
    } else {
        printf("inference endpoint: none yet (no healthy route)\n");
    }

    snprintf(path, sizeof path, "/services/%s/token", endpoint_id);
    if (fetch(api_session, "POST", path, "{\"duration\": \"3600s\"}", body, sizeof body) != 0) {
        goto delete;
    }
    if (json_string(body, "token", token, sizeof token) != 0 || token[0] == '\0') {
        fprintf(stderr, "the token answer has no token\n");
        goto delete;
    }
    /* Send it as "Authorization: BackendAI <token>" to {service_endpoint}/v1/models. */
    printf("token: %zu characters\n", strlen(token));
    status = 0;

delete:
    snprintf(path, sizeof path, "/services/%s", endpoint_id);
    if (fetch(api_session, "DELETE", path, NULL, body, sizeof body) != 0) {
        status = 1;
    } else {
        printf("service deleted\n");
    }
out:
    bai_session_free(api_session);
    return status;
}
