/*
 * model_service.c: "Working with model service".
 *
 * Python:
 *     compute_sess = api_session.Service.create(
 *         "python:3.6-ubuntu18.04", "Llama2-70B", 1, service_name="Llama2-service",
 *         resources={"cuda.shares": 2, "cpu": 8, "mem": "64g"}, open_to_public=False)
 *     service_info = compute_sess.info()
 *     endpoint = service_info["url"]
 *     token = compute_sess.generate_api_token("3600s")["token"]
 *
 * With the library: bai_service_create(), bai_service_get_info() (JSON; the inference URL is
 * "service_endpoint", null until a route is healthy), bai_service_generate_token(), and
 * bai_service_delete() to clean up. The token is a credential: only its length is printed.
 *
 * Usage: model_service [MODEL_FOLDER [SERVICE_NAME]]   (default: Llama2-70B Llama2-service)
 * MODEL_FOLDER must be a storage folder of the "model" kind holding model-definition.yaml.
 * The resources asked for (1 CPU, 1 GiB) fit any agent; add "cuda.shares" on a GPU cluster.
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


int main(int argc, char **argv)
{
    const char *const resources[] = {"cpu", "1", "mem", "1g"};
    bai_service_opts_t opts = {0};
    bai_session_t *api_session = NULL;
    bai_buf_t endpoint_id = {NULL, 0};
    bai_buf_t info = {NULL, 0};
    bai_buf_t token = {NULL, 0};
    bai_code_t code;
    int status = 1;

    opts.struct_size = sizeof opts;
    opts.image = "python:3.6-ubuntu18.04";
    opts.model = argc > 1 ? argv[1] : "Llama2-70B";
    opts.name = argc > 2 ? argv[2] : "Llama2-service";
    opts.replicas = 1;
    opts.resources = resources;
    opts.n_resources = 2;
    opts.open_to_public = false;

    if (open_session(&api_session) != 0) {
        return 1;
    }
    if ((code = bai_service_create(api_session, &opts, &endpoint_id)) != BAI_OK) {
        status = fail("bai_service_create", code);
        goto out;
    }
    printf("endpoint_id: %s\n", (const char *)endpoint_id.data);
    if ((code = bai_service_get_info(api_session, (const char *)endpoint_id.data, &info)) != BAI_OK) {
        status = fail("bai_service_get_info", code);
        goto delete;
    }
    printf("info: %s\n", (const char *)info.data);
    if ((code = bai_service_generate_token(api_session, (const char *)endpoint_id.data, "3600s", 0, &token)) !=
        BAI_OK) {
        status = fail("bai_service_generate_token", code);
        goto delete;
    }
    printf("token: %zu characters\n", token.len);

    /* service_info["url"] in the examples is "service_endpoint": null until a replica is
     * healthy, so wait for it, then call the model with the token. */
    bai_buf_t endpoint = {NULL, 0};
    if ((code = bai_service_wait_ready(api_session, (const char *)endpoint_id.data, 120000, &endpoint)) != BAI_OK) {
        status = fail("bai_service_wait_ready", code);
        goto delete;
    }
    char url[1024];
    snprintf(url, sizeof url, "%s/v1/models", (const char *)endpoint.data);
    bai_buf_dispose(&endpoint);
    bai_response_t *resp = NULL;
    /* Sent as "Authorization: BackendAI <token>"; public services need no token. */
    if ((code = bai_service_call(api_session, url, "GET", (const char *)token.data, NULL, 0, NULL, &resp)) != BAI_OK) {
        status = fail("bai_service_call", code);
        goto delete;
    }
    printf("GET /v1/models: HTTP %u %s\n", (unsigned)bai_response_status(resp), (const char *)bai_response_body(resp, NULL));
    status = bai_response_status(resp) == 200 ? 0 : 1;
    bai_response_free(resp);
    /* Without the token a private service refuses the call. */
    if ((code = bai_service_call(api_session, url, "GET", NULL, NULL, 0, NULL, &resp)) == BAI_OK) {
        printf("without a token: HTTP %u\n", (unsigned)bai_response_status(resp));
        bai_response_free(resp);
    }

delete:
    if ((code = bai_service_delete(api_session, (const char *)endpoint_id.data)) != BAI_OK) {
        status = fail("bai_service_delete", code);
    } else {
        printf("service deleted\n");
    }
out:
    bai_buf_dispose(&token);
    bai_buf_dispose(&info);
    bai_buf_dispose(&endpoint_id);
    bai_session_free(api_session);
    return status;
}
