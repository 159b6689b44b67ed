"""A small web terminal for the local server's "ttyd" app: an HTML page and a WebSocket
bridged to a shell on a real pseudo-terminal in the session's working directory.

Standard library only.  Usage: python3 webterm.py --port PORT --directory DIR
Frames (text, JSON): client -> {"type": "stdin", "data": "..."} / {"type": "resize",
"rows": R, "cols": C}; server -> {"type": "out", "data": "<base64>"}.
"""

import argparse
import base64
import fcntl
import hashlib
import http.server
import json
import os
import pty
import select
import signal
import socketserver
import struct
import termios
import threading

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>terminal</title>
<style>body{margin:0;background:#111;color:#ddd;font:14px monospace}
#out{white-space:pre-wrap;padding:8px;min-height:90vh;outline:none}</style></head>
<body><div id="out" tabindex="0">connecting...\\n</div>
<script>
const out = document.getElementById("out");
const base = location.pathname.endsWith("/") ? location.pathname : location.pathname + "/";
const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + base + "ws");
const strip = s => s.replace(/\\x1b\\[[0-9;?]*[a-zA-Z]/g, "");
ws.onopen = () => { out.textContent = ""; out.focus(); };
ws.onmessage = e => { const m = JSON.parse(e.data); if (m.type === "out") {
  out.textContent += strip(new TextDecoder().decode(Uint8Array.from(atob(m.data), c => c.charCodeAt(0))));
  window.scrollTo(0, document.body.scrollHeight); } };
ws.onclose = () => { out.textContent += "\\n[closed]\\n"; };
out.addEventListener("keydown", e => {
  let d = null;
  if (e.key === "Enter") d = "\\r"; else if (e.key === "Backspace") d = "\\x7f";
  else if (e.key === "Tab") d = "\\t"; else if (e.ctrlKey && e.key.length === 1) d = String.fromCharCode(e.key.toUpperCase().charCodeAt(0) - 64);
  else if (e.key.length === 1) d = e.key;
  if (d !== null) { ws.send(JSON.stringify({type: "stdin", data: d})); e.preventDefault(); }
});
</script></body></html>
"""


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def read_frame(sock):
    """Returns (opcode, payload) of one client frame (client frames are masked)."""
    b1, b2 = recv_exact(sock, 2)
    opcode = b1 & 0x0F
    length = b2 & 0x7F
    if length == 126:
        length = struct.unpack(">H", recv_exact(sock, 2))[0]
    elif length == 127:
        length = struct.unpack(">Q", recv_exact(sock, 8))[0]
    if length > 1 << 20:
        raise ConnectionError("frame too large")
    mask = recv_exact(sock, 4) if b2 & 0x80 else b"\0\0\0\0"
    data = bytearray(recv_exact(sock, length))
    for i in range(length):
        data[i] ^= mask[i % 4]
    return opcode, bytes(data)


def send_frame(sock, payload, opcode=0x1):
    n = len(payload)
    if n < 126:
        head = struct.pack(">BB", 0x80 | opcode, n)
    elif n < 1 << 16:
        head = struct.pack(">BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack(">BBQ", 0x80 | opcode, 127, n)
    sock.sendall(head + payload)


class Handler(http.server.BaseHTTPRequestHandler):
    directory = "."

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.rstrip("/").endswith("/ws") or self.path.rstrip("/") == "/ws":
            return self.terminal()
        body = PAGE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def terminal(self):
        key = self.headers.get("Sec-WebSocket-Key")
        if not key or self.headers.get("Upgrade", "").lower() != "websocket":
            self.send_error(400, "WebSocket upgrade expected")
            return
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        sock = self.connection
        pid, fd = pty.fork()
        if pid == 0:
            os.chdir(self.directory)
            os.environ["TERM"] = "xterm"
            os.execvp("bash", ["bash", "-i"])
        lock = threading.Lock()

        def pump():
            try:
                while True:
                    r, _, _ = select.select([fd], [], [], 1.0)
                    if not r:
                        continue
                    data = os.read(fd, 65536)
                    if not data:
                        break
                    msg = json.dumps({"type": "out", "data": base64.b64encode(data).decode()}).encode()
                    with lock:
                        send_frame(sock, msg)
            except OSError:
                pass
            try:
                with lock:
                    send_frame(sock, b"", 0x8)
            except OSError:
                pass

        threading.Thread(target=pump, daemon=True).start()
        try:
            while True:
                opcode, payload = read_frame(sock)
                if opcode == 0x8:
                    break
                if opcode == 0x9:
                    with lock:
                        send_frame(sock, payload, 0xA)
                    continue
                if opcode not in (0x1, 0x2):
                    continue
                try:
                    msg = json.loads(payload)
                except ValueError:
                    continue
                if msg.get("type") == "stdin":
                    os.write(fd, str(msg.get("data", "")).encode())
                elif msg.get("type") == "resize":
                    rows, cols = int(msg.get("rows", 24)), int(msg.get("cols", 80))
                    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        except (ConnectionError, OSError, ValueError):
            pass
        finally:
            try:
                os.kill(pid, signal.SIGHUP)
                os.waitpid(pid, 0)
            except OSError:
                pass
            os.close(fd)
        self.close_connection = True


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--directory", default=".")
    a = ap.parse_args()
    Handler.directory = os.path.abspath(a.directory)
    Server(("127.0.0.1", a.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
