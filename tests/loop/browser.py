"""Open a page in a real headless Chromium (Debian's `chromium`) and collect what it logged:
console messages of level warning/error, JavaScript exceptions and failed resource loads."""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Dict, List

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--enable-logging=stderr", "--v=0"]
# chromium's stderr lines for page console output: "...:INFO:CONSOLE(12)] "msg", source: ... (12)"
CONSOLE = re.compile(r":(?:ERROR|WARNING|INFO):CONSOLE[^\]]*\]\s*\"(?P<msg>.*)\", source")
PAGE_ERROR = re.compile(r"Uncaught|Failed to load resource|net::ERR_|Refused to", re.I)


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        raise RuntimeError("Debian's chromium is not installed (apt-get install chromium)")
    return exe


def render(page: Path, timeout: float = 90) -> Dict[str, object]:
    """Load `page`, return {dom, errors: [..], screenshot: bytes}."""
    with tempfile.TemporaryDirectory(prefix="elab-chromium-") as profile:
        base = [chromium(), *FLAGS, f"--user-data-dir={profile}"]
        dom = subprocess.run(base + ["--dump-dom", page.resolve().as_uri()], capture_output=True,
                             text=True, timeout=timeout)
        shot = Path(profile) / "shot.png"
        subprocess.run(base + [f"--screenshot={shot}", "--window-size=1100,1400", page.resolve().as_uri()],
                       capture_output=True, text=True, timeout=timeout)
        errors: List[str] = []
        for line in dom.stderr.splitlines():
            m = CONSOLE.search(line)
            if m or ("CONSOLE" in line and PAGE_ERROR.search(line)):
                errors.append(line.strip())
        return {"dom": dom.stdout, "errors": errors, "returncode": dom.returncode,
                "screenshot": shot.read_bytes() if shot.is_file() else b""}
