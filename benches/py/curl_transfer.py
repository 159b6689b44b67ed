"""The curl side of the folder-transfer workload: asks the API (through the SDK's signed
Request) for a storage-proxy upload or download ticket, as VFolder.upload/download do, then
times only curl moving the bytes to or from that storage endpoint.

  curl_transfer.py up FOLDER LOCAL_FILE REMOTE_PATH
  curl_transfer.py down FOLDER REMOTE_PATH DEST_DIR

Prints one JSON line like the other benchmark programs. CPU is curl's (its child rusage).
"""

import asyncio
import json
import os
import resource
import subprocess
import sys
import time

from ai.backend.client.request import Request
from ai.backend.client.session import AsyncSession


async def a_ticket(folder, what, body):
    async with AsyncSession():
        rqst = Request("POST", f"/folders/{folder}/request-{what}")
        rqst.set_json(body)
        async with rqst.fetch() as resp:
            return await resp.json()


def ticket(folder, what, body):
    return asyncio.run(a_ticket(folder, what, body))


def main(argv):
    op, folder = argv[1], argv[2]
    if True:
        if op == "up":
            local, remote = argv[3], argv[4]
            t = ticket(folder, "upload", {"path": remote, "size": os.path.getsize(local)})
            cmd = ["curl", "-sS", "--fail", "-X", "PATCH", "-H", "Tus-Resumable: 1.0.0", "-H", "Upload-Offset: 0",
                   "-H", "Content-Type: application/offset+octet-stream", "-H", "Expect:",
                   # -T streams the file (--data-binary would read all of it into memory first)
                   "-T", local,
                   "-o", "/dev/null", f"{t['url']}?token={t['token']}"]
        else:
            remote, dest = argv[3], argv[4]
            t = ticket(folder, "download", {"path": remote})
            cmd = ["curl", "-sS", "--fail", "-o", os.path.join(dest, os.path.basename(remote)),
                   f"{t['url']}?token={t['token']}"]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    print(json.dumps({"ops": 1, "wall": wall, "cpu": cpu}), flush=True)


if __name__ == "__main__":
    main(sys.argv)
