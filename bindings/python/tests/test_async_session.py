"""The SDK's AsyncSession shape: the functional API as coroutines."""

from __future__ import annotations

import asyncio
import threading

import backendai_native as bai
from conftest import IMAGE


def test_async_session_like_the_sdk(unique):
    async def main():
        async with bai.AsyncSession() as api:
            versions = await api.System.get_versions()
            assert "version" in versions
            cs = await api.ComputeSession.get_or_create(IMAGE, name=unique("async"))
            assert isinstance(cs, bai.AsyncComputeSession)
            try:
                # The SDK's step loop, awaited.
                run_id, code, mode, out = None, 'print("hello world")', "query", ""
                while True:
                    result = await cs.execute(run_id, code, mode=mode)
                    run_id = result["runId"]
                    out += "".join(p for k, p in result["console"] if k == "stdout")
                    if result["status"] == "finished":
                        break
                    mode, code = "continue", ""
                assert out == "hello world\n"
                # Whole runs drive an operation from this loop: callbacks on its thread.
                threads = set()
                res = await cs.run('print("x")', on_stdout=lambda t: threads.add(threading.get_ident()))
                assert res["exitCode"] == 0 and threads == {threading.get_ident()}
                res = await cs.stream('print("y")')
                assert ["stdout", "y\n"] in res["console"]
                page = await api.ComputeSession.paginated_list(status="RUNNING", page_size=100)
                assert cs.id in {item["id"] for item in page.items}
                again = api.ComputeSession(cs.name)
                assert (await again.get_info()) is not None
                again.close()
            finally:
                await cs.destroy()
                cs.close()
            try:
                await cs.get_info()
                raise AssertionError("not an error")
            except bai.BackendClientError as e:  # the handle was closed
                assert e.code_name == "BAI_E_BAD_STATE"

    asyncio.run(main())


def test_async_session_errors_carry_http_detail(unique):
    async def main():
        async with bai.AsyncSession() as api:
            try:
                await api.ComputeSession.get_or_create("no-such-image:0.0", name=unique("noimg"))
            except bai.BackendAPIError as e:
                return e
        return None

    e = asyncio.run(main())
    assert e is not None and e.status == 404 and e.code_name == "BAI_E_NOT_FOUND"
