"""Tests of the shape comparer itself: it must see a real difference, and only that."""

import json
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import shapes  # noqa: E402

AUTH = "BackendAI signMethod=HMAC-SHA256, credential=AKIAIOSFODNN7EXAMPLE:<64 hex>"


def exchange(method, path, body=None, status=200, answer=None, headers=None, query=()):
    h = headers if headers is not None else [
        ["X-BackendAI-Domain", "default"], ["X-BackendAI-Version", "v9.20250722"],
        ["Date", "2026-12-02T05:53:53.260188+00:00"], ["Content-Type", "application/json"],
        ["Authorization", AUTH]]
    return {
        "method": method, "path": path, "query": [list(q) for q in query],
        "request": {"headers": h, "body": {"kind": "json", "json": body} if body is not None else {"kind": "empty"}},
        "response": {"status": status, "body": {"kind": "json", "json": answer} if answer is not None else {"kind": "empty"}},
    }


def load(rows):
    f = tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False)
    f.write("\n".join(json.dumps(r) for r in rows) + "\n")
    f.close()
    return shapes.load(Path(f.name))


SDK = exchange("POST", "/session/60947ca2-c654-4189-b5bd-562b585242a2",
               {"mode": "input", "code": "x", "runId": "ab", "run_id": "ab"},
               answer={"result": {"status": "finished", "runId": "ab", "exitCode": 0, "console": [["stdout", "x"]]}})


class Templates(unittest.TestCase):
    def test_ids_and_names_are_sorted_out(self):
        self.assertEqual(shapes.template("/session/60947ca2-c654-4189-b5bd-562b585242a2"), "/session/{sess:uuid}")
        self.assertEqual(shapes.template("/session/pysdk-x/upload"), "/session/{sess:name}/upload")
        self.assertEqual(shapes.template("/folders/01a2354fa0f976f19dcf9b2c93b29984/files"), "/folders/{folder:hex}/files")
        self.assertEqual(shapes.template("/folders/mydata/files"), "/folders/{folder:name}/files")
        self.assertEqual(shapes.template("/folders/_/id"), "/folders/_/id")
        self.assertEqual(shapes.template("/storage/upload"), "/upload")


class Compare(unittest.TestCase):
    def test_same_shape_passes(self):
        same = exchange("POST", "/session/0e8a7c8e-0000-4000-8000-000000000001",
                        {"mode": "input", "code": "other text", "runId": "cd", "run_id": "cd"},
                        answer={"result": {"status": "finished", "runId": "cd", "exitCode": 0, "console": [["stdout", "y"]]}})
        rep = shapes.compare(load([SDK]), load([same]))
        self.assertEqual(rep.differences, [])
        self.assertEqual(len(rep.matched), 1)

    def test_missing_run_id_key_fails(self):
        # the library's old body: only runId (what 26.09 cannot read)
        old = exchange("POST", "/session/0e8a7c8e-0000-4000-8000-000000000001",
                       {"mode": "input", "code": "x", "runId": "cd"},
                       answer={"result": {"status": "finished", "runId": "cd", "exitCode": 0, "console": []}})
        rep = shapes.compare(load([SDK]), load([old]))
        self.assertIn(("POST /session/{sess:uuid} mode=input", "request body run_id: missing (wanted str)"), rep.differences)

    def test_value_type_status_and_addressing_fail(self):
        typed = exchange("POST", "/session/0e8a7c8e-0000-4000-8000-000000000001",
                         {"mode": "input", "code": 5, "runId": "cd", "run_id": "cd"}, status=500,
                         answer={"type": "x", "title": "y"})
        rep = shapes.compare(load([SDK]), load([typed]))
        texts = [d for _, d in rep.differences]
        self.assertIn("request body code: number where the capture has str", texts)
        self.assertIn("response status: 500 where the capture has 200", texts)
        by_name = exchange("POST", "/session/pysdk-x", {"mode": "input", "code": "x", "runId": "a", "run_id": "a"},
                           answer={"result": {"status": "finished", "runId": "a", "exitCode": 0, "console": []}})
        rep = shapes.compare(load([SDK]), load([by_name]))
        self.assertEqual(rep.differences, [("POST /session/{sess:name} mode=input",
                                            "addressed as sess:name where the official SDK uses sess:uuid")])
        # ... and its body and answer are still compared
        by_name_bad = exchange("POST", "/session/pysdk-x", {"mode": "input", "code": "x", "runId": "a"},
                               answer={"result": {"status": "finished", "runId": "a", "exitCode": 0, "console": []}})
        texts = [d for _, d in shapes.compare(load([SDK]), load([by_name_bad])).differences]
        self.assertIn("request body run_id: missing (wanted str)", texts)
        unknown = exchange("GET", "/session/pysdk-x/logs")
        rep = shapes.compare(load([SDK]), load([unknown]))
        self.assertEqual(rep.differences, [("GET /session/{sess:name}/logs", "request kind the official SDK never sends")])

    def test_headers_that_matter(self):
        v7 = exchange("POST", "/session/0e8a7c8e-0000-4000-8000-000000000001",
                      {"mode": "input", "code": "x", "runId": "cd", "run_id": "cd"},
                      answer={"result": {"status": "finished", "runId": "cd", "exitCode": 0, "console": []}},
                      headers=[["X-BackendAI-Domain", "default"], ["X-BackendAI-Version", "v7.20230615"],
                               ["Date", "Tue, 01 Dec 2026 05:53:53 GMT"], ["Content-Type", "text/plain"],
                               ["Authorization", "BackendAI signMethod=HMAC-SHA256, credential=AK:bad"]])
        texts = [d for _, d in shapes.compare(load([SDK]), load([v7])).differences]
        self.assertIn("request version: 'v7.20230615' where the capture has 'v9.20250722'", texts)
        self.assertIn("request content-type: 'text/plain' where the capture has 'application/json'", texts)
        self.assertIn("request auth-form: False where the capture has True", texts)
        self.assertIn("request date-form: False where the capture has True", texts)

    def test_websocket_frames(self):
        def ws(first, frames):
            e = exchange("GET", "/stream/session/60947ca2-c654-4189-b5bd-562b585242a2/execute", status=101)
            e["ws"] = {"frames": [{"dir": "c2s", "type": "text", "json": first}] + frames}
            return e
        sdk = ws({"code": "x", "mode": "query", "options": {}},
                 [{"dir": "s2c", "type": "text", "json": {"status": "waiting-input", "console": [["stdout", "? "]], "exitCode": None, "options": {"is_password": False}, "files": []}},
                  {"dir": "c2s", "type": "text", "text": "ws"},
                  {"dir": "s2c", "type": "text", "json": {"status": "finished", "console": [["stdout", "x"]], "exitCode": 0, "options": None, "files": []}}])
        same = ws({"code": "y", "mode": "query", "options": {}},
                  [{"dir": "s2c", "type": "text", "json": {"status": "finished", "console": [], "exitCode": 0, "options": None, "files": []}}])
        self.assertEqual(shapes.compare(load([sdk]), load([same])).differences, [])
        json_input = ws({"code": "y", "mode": "query"},
                        [{"dir": "c2s", "type": "text", "json": {"input": "ws"}},
                         {"dir": "s2c", "type": "text", "json": {"status": "finished", "console": [], "exitCode": 0, "files": []}}])
        texts = [d for _, d in shapes.compare(load([sdk]), load([json_input])).differences]
        self.assertIn("websocket c2s first options: missing (wanted object)", texts)
        self.assertIn("websocket c2s later: ['json'] where the capture has ['text']", texts)
        self.assertIn("websocket s2c status=finished options: missing (wanted null)", texts)

    def test_expected_differences_need_a_reason_and_match_exactly(self):
        f = tempfile.NamedTemporaryFile("w", delete=False)
        f.write("26.09 | * | GET /folders/{folder:name}/files | request kind the official SDK never sends | by name\n")
        f.close()
        exp = shapes.load_expected(Path(f.name))
        self.assertTrue(shapes.is_expected(exp, "26.09", "vfolder_mount", "GET /folders/{folder:name}/files",
                                           "request kind the official SDK never sends"))
        self.assertFalse(shapes.is_expected(exp, "23.09", "vfolder_mount", "GET /folders/{folder:name}/files",
                                            "request kind the official SDK never sends"))
        self.assertFalse(shapes.is_expected(exp, "26.09", "vfolder_mount", "GET /folders/{folder:name}",
                                            "request kind the official SDK never sends"))
        bad = tempfile.NamedTemporaryFile("w", delete=False)
        bad.write("26.09 | * | GET / | something |\n")
        bad.close()
        with self.assertRaises(ValueError):
            shapes.load_expected(Path(bad.name))


if __name__ == "__main__":
    unittest.main()
