"""Run the real app in a separate process, as `coach serve` does, for crash and multi-worker tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppProcess:
    """`uvicorn coach.main:app` on 127.0.0.1; stopped (or killed) by the test, never left running."""

    def __init__(self, env: dict[str, str], port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env}
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 180) -> AppProcess:
        """Start it and wait until it is ready to serve (/readyz: its database answers), for up to `timeout`
        seconds: imports and migrations alone took over 30 s on a loaded 2-core machine."""
        command = [sys.executable, "-m", "uvicorn", "coach.main:app", "--host", "127.0.0.1",
                   "--port", str(self.port), "--log-level", "warning"]
        self.process = subprocess.Popen(command, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.process.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not start in time")

    def kill(self) -> None:
        """kill -9: no shutdown handlers, no flushing, like a crash."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> AppProcess:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()
