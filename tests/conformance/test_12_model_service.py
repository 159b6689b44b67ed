"""Examples § "Working with model service": create a service, read its info, get a token,
call the inference endpoint.

Corrections for the 23.9.10 SDK: ``expose_to_public=`` (not ``open_to_public=``);
``Service.create`` returns a dict, so info and tokens go through ``Service(endpoint_id)``;
the URL is ``service_endpoint`` (there is no ``url`` key); ``domain_name``, ``group_name`` and
``model_mount_destination`` are given because the SDK would send them as null.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest

from release import V2609

from ai.backend.client.session import Session

IMAGE = "python:3.6-ubuntu18.04"

# A model server takes its port on the command line, like real inference servers
# (`--port 8000`); the model definition names that port.
SERVE_PY = '''\
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/health":
            body = b"ok"
        elif self.path == "/v1/models":
            body = json.dumps({"object": "list", "data": [{"id": "conformance-echo"}]}).encode()
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

port = int(sys.argv[sys.argv.index("--port") + 1])
HTTPServer(("0.0.0.0", port), Handler).serve_forever()
'''

MODEL_DEFINITION = '''\
models:
  - name: "conformance-echo"
    model_path: "/models"
    service:
      start_command: ["python", "/models/serve.py", "--port", "8000"]
      port: 8000
      health_check:
        path: /health
'''


async def get(url: str, headers=None) -> tuple[int, str]:
    async with aiohttp.ClientSession() as client:
        async with client.get(url, headers=headers or {}) as resp:
            return resp.status, await resp.text()


@pytest.mark.parametrize("public", [False, True], ids=["private", "public"])
def test_model_service_create_info_token_and_call(server, unique, public):
    folder = unique("model")
    Path("serve.py").write_text(SERVE_PY)
    Path("model-definition.yml").write_text(MODEL_DEFINITION)
    with Session() as api_session:
        api_session.VFolder.create(folder, usage_mode="model")
        api_session.VFolder(folder).upload(["serve.py", "model-definition.yml"])

        # the 26.9.6 SDK also requires resource_opts and scaling_group
        extra = {"resource_opts": {}, "scaling_group": "default"} if V2609 else {}
        created = api_session.Service.create(
            IMAGE,
            folder,
            1,
            service_name=unique("svc")[:24],
            resources={"cpu": 1, "mem": "1g"},
            expose_to_public=public,
            domain_name="default",
            group_name="default",
            model_mount_destination="/models",
            **extra,
        )
        endpoint_id = created["endpoint_id"]
        service = api_session.Service(endpoint_id)
        try:
            # service_endpoint stays null until a route is healthy.
            deadline = time.monotonic() + 60
            while True:
                service_info = service.info()
                assert {"endpoint_id", "name", "desired_session_count", "active_routes",
                        "service_endpoint", "is_public"} <= service_info.keys(), service_info
                if service_info["service_endpoint"]:
                    break
                assert time.monotonic() < deadline, f"no service_endpoint: {service_info}"
                time.sleep(1)
            assert service_info["endpoint_id"] == str(endpoint_id)
            assert service_info["is_public"] is public
            assert service_info["desired_session_count"] == 1
            assert len(service_info["active_routes"]) == 1
            endpoint = service_info["service_endpoint"]

            token_info = service.generate_api_token("3600s")
            token = token_info["token"]
            assert isinstance(token, str) and token.count(".") == 2, "not a JWT"

            headers = {"Authorization": f"BackendAI {token}"}
            status, body = asyncio.run(get(f"{endpoint}/v1/models", headers))
            assert status == 200, body
            assert '"conformance-echo"' in body
            status, body = asyncio.run(get(f"{endpoint}/v1/models"))
            if public:
                # "the endpoint accepts anonymous traffic without the authentication token"
                assert status == 200 and '"conformance-echo"' in body, (status, body)
            else:
                assert status in (401, 403), (status, body)
                forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
                status, _ = asyncio.run(
                    get(f"{endpoint}/v1/models", {"Authorization": f"BackendAI {forged}"})
                )
                assert status in (401, 403)
        finally:
            service.delete()
