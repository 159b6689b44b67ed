/*
 * Test fixture for examples/model_service.c: creates the storage folder NAME of the model
 * kind with a model-definition.yaml and a small model server (serve.py), unless it exists;
 * with --remove, deletes it for good (the cleanup fixture).
 *
 * Usage: make_model_folder NAME | make_model_folder --remove NAME
 */
#include "common.h"

/* Deletes the folder for good: 26.09 moves a deleted folder to the trash until it is purged
 * by id; 23.09 deletes at once (and answers the purge route with 404/405). */
static int remove_folder(bai_session_t *session, const char *name)
{
    char id[64] = "";
    bai_buf_t info = {NULL, 0};
    bai_code_t code = bai_vfolder_get_info(session, name, &info);
    if (code == BAI_E_NOT_FOUND) {
        CHECK_CODE(code, BAI_E_NOT_FOUND); /* nothing to remove */
        return 0;
    }
    CHECK_CODE(code, BAI_OK);
    const char *p = info.data ? strstr((const char *)info.data, "\"id\":") : NULL;
    if (p && (p = strchr(p + 5, '"')) != NULL)
        sscanf(p + 1, "%63[0-9a-fA-F-]", id);
    bai_buf_dispose(&info);
    CHECK(id[0] != '\0');
    /* The library purges what a 26.09 manager only moves to the trash. */
    CHECK_CODE(bai_vfolder_delete(session, name), BAI_OK);
    /* gone: the name is free again */
    CHECK_CODE(bai_vfolder_get_info(session, name, &info), BAI_E_NOT_FOUND);
    bai_buf_dispose(&info);
    return 0;
}

static const char DEFINITION[] =
    "models:\n"
    "  - name: \"test-model\"\n"
    "    model_path: \"/models\"\n"
    "    service:\n"
    "      start_command: [\"python\", \"/models/serve.py\", \"--port\", \"8000\"]\n"
    "      port: 8000\n"
    "      health_check:\n"
    "        path: /health\n";

/* A small model server: /health, and /v1/models naming the model. */
static const char SERVE_PY[] =
    "import json, sys\n"
    "from http.server import BaseHTTPRequestHandler, HTTPServer\n"
    "class H(BaseHTTPRequestHandler):\n"
    "    def log_message(self, *a):\n"
    "        pass\n"
    "    def do_GET(self):\n"
    "        if self.path == '/health':\n"
    "            body = b'ok'\n"
    "        elif self.path == '/v1/models':\n"
    "            body = json.dumps({'object': 'list', 'data': [{'id': 'test-model'}]}).encode()\n"
    "        else:\n"
    "            self.send_error(404)\n"
    "            return\n"
    "        self.send_response(200)\n"
    "        self.send_header('Content-Type', 'application/json')\n"
    "        self.send_header('Content-Length', str(len(body)))\n"
    "        self.end_headers()\n"
    "        self.wfile.write(body)\n"
    "port = int(sys.argv[sys.argv.index('--port') + 1])\n"
    "HTTPServer(('0.0.0.0', port), H).serve_forever()\n";

int main(int argc, char **argv)
{
    bai_config_t *config = NULL;
    bai_session_t *session = NULL;
    bai_buf_t info = {NULL, 0};
    int removing = argc > 2 && strcmp(argv[1], "--remove") == 0;
    const char *name = removing ? argv[2] : argc > 1 ? argv[1] : "Llama2-70B";

    test_endpoint();
    CHECK_CODE(bai_config_from_env(&config), BAI_OK);
    CHECK_CODE(bai_session_new(config, &session), BAI_OK);
    bai_config_free(config);
    if (removing) {
        remove_folder(session, name);
        bai_session_free(session);
        return test_end("make_model_folder --remove");
    }
    bai_code_t code = bai_vfolder_get_info(session, name, &info);
    bai_buf_dispose(&info);
    if (code == BAI_E_NOT_FOUND) {
        bai_vfolder_opts_t opts = {0};
        opts.struct_size = sizeof opts;
        opts.usage_mode = "model";
        CHECK_CODE(bai_vfolder_create(session, name, &opts, &info), BAI_OK);
        bai_buf_dispose(&info);
        FILE *f = fopen("model-definition.yaml", "w");
        CHECK(f != NULL);
        if (f != NULL) {
            fputs(DEFINITION, f);
            fclose(f);
        }
        f = fopen("serve.py", "w");
        CHECK(f != NULL);
        if (f != NULL) {
            fputs(SERVE_PY, f);
            fclose(f);
        }
        const char *files[] = {"model-definition.yaml", "serve.py"};
        CHECK_CODE(bai_vfolder_upload(session, name, files, 2, NULL, false, NULL), BAI_OK);
    } else {
        CHECK_CODE(code, BAI_OK);
    }
    bai_session_free(session);
    return test_end("make_model_folder");
}
