"""A real HTTP server (http.server in a thread) speaking the OpenAI chat-completions API with
scripted answers: each step is (status, JSON body, headers, delay_s), served in order, the last
one forever. It records every request. Used for transport behaviour (retries, timeouts,
concurrency) and to drive the episode loop with exact model outputs, as an oracle policy would."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Script:
    """What the server answers, in order (then the last entry forever), and what it saw."""

    def __init__(self, steps):
        self.steps = list(steps)
        self.requests = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()

    def next(self):
        with self.lock:
            return self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]


def completion(content="hello", tool_calls=None):
    msg = {"role": "assistant", "content": content}
    if tool_calls:
        msg["tool_calls"] = tool_calls
    return {"id": "x", "object": "chat.completion", "choices": [
        {"index": 0, "finish_reason": "tool_calls" if tool_calls else "stop", "message": msg}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 3}}


class ScriptedServers:
    """Starts scripted OpenAI-compatible servers on 127.0.0.1 (ephemeral ports); `close()` stops them."""

    def __init__(self):
        self.servers = []

    def close(self):
        for s in self.servers:
            s.shutdown()
            s.server_close()

    def __call__(self, steps):
        script = Script(steps)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with script.lock:
                    script.requests.append({"path": self.path, "body": body,
                                            "auth": self.headers.get("Authorization")})
                    script.in_flight += 1
                    script.max_in_flight = max(script.max_in_flight, script.in_flight)
                try:
                    status, payload, headers, delay = script.next()
                    time.sleep(delay)
                    data = json.dumps(payload).encode()
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left
                finally:
                    with script.lock:
                        script.in_flight -= 1

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        self.servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}/v1", script


