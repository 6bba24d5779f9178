"""Bash app: real commands in a bubblewrap sandbox over the agent's disk. Escape attempts, network,
runaway processes and output floods are stopped with clear results, and nothing outside the work
directory changes; bash and the filesystem tools see one disk."""
from __future__ import annotations

import hashlib
import os
import socket
import time
from pathlib import Path

import pytest

from arena.apps.bash import limits, sandbox
from arena.core.registry import load_apps
from arena.core.world import World

pytestmark = pytest.mark.skipif(sandbox.bwrap_path() is None, reason="bubblewrap (bwrap) is not installed")


@pytest.fixture(scope="module")
def world() -> World:
    w = World(load_apps(["bash"]), seed=0, scale="small")
    w.image
    return w


@pytest.fixture
def ep(world):
    with world.episode() as e:
        yield e


def run(ep, command, timeout=5):
    return ep.call("bash.run_command", {"command": command, "timeout_seconds": timeout})


def ok(ep, command, timeout=5):
    obs = run(ep, command, timeout)
    assert obs.ok, obs.error
    return obs.result


def sha(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def sandbox_processes(ep) -> int:
    uid = sandbox.sandbox_uid(ep.workdir)
    return sum(1 for e in os.scandir("/proc") if e.name.isdigit() and _uid(e) == uid)


def _uid(entry) -> int | None:
    try:
        return entry.stat().st_uid
    except OSError:
        return None


def test_bash_and_filesystem_share_one_disk(ep):
    res = ok(ep, "mkdir -p out && python3 projects/q1-report/analyze.py data/sales_q1.csv > out/totals.txt && "
                 "chmod +x scripts/backup.sh && rm notes/todo.md && echo done")
    assert res["exit_code"] == 0 and res["stdout"] == "done\n"
    assert res["files_changed"] == {"created": ["/home/agent/out", "/home/agent/out/totals.txt"],
                                    "deleted": ["/home/agent/notes/todo.md"]}
    totals = ep.call("filesystem.read_file", {"path": "out/totals.txt"}).result["content"]
    assert [line.split(":")[0] for line in totals.splitlines()] == ["APAC", "EMEA", "LATAM", "NA"]
    assert ep.call("filesystem.read_file", {"path": "notes/todo.md"}).error["code"] == "not_found"
    # and the other way round: a file written by the filesystem tools is there for the next command
    ep.call("filesystem.write_file", {"path": "notes/new.md", "content": "from the file tool\n"})
    ep.call("filesystem.edit_file", {"path": "out/totals.txt", "edits": [{"oldText": "APAC", "newText": "Asia"}]})
    res = ok(ep, "cat notes/new.md && head -1 out/totals.txt && whoami && pwd")
    assert res["stdout"].splitlines() == ["from the file tool", totals.splitlines()[0].replace("APAC", "Asia"),
                                          "agent", "/home/agent"]
    assert "files_changed" not in res
    diff = ep.diff()["fs_files"]
    assert {r["path"] for r in diff["inserted"]} == {"/home/agent/out", "/home/agent/out/totals.txt",
                                                     "/home/agent/notes/new.md"}
    assert [r["path"] for r in diff["deleted"]] == ["/home/agent/notes/todo.md"]


def test_reading_outside_the_work_dir_fails_and_changes_nothing(ep, tmp_path):
    sentinel = tmp_path / "outside.txt"
    sentinel.write_text("keep me")
    watched = {p: sha(p) for p in ("/etc/passwd", "/etc/hostname") if os.path.exists(p)}
    before = ep.state_hash()
    res = ok(ep, f"cat /etc/shadow; ls /root; cat ../../../etc/shadow; cat {sentinel}; ls {tmp_path}; "
                 f"rm -rf {tmp_path} /etc/passwd 2>&1; echo hacked > /etc/passwd; touch /usr/bin/evil; echo end")
    assert "root:" not in res["stdout"].replace("root:x:0:0:root:/root:/bin/bash", "")  # no shadow hashes
    assert "keep me" not in res["stdout"]
    assert "No such file or directory" in res["stderr"] and res["stdout"].endswith("end\n")
    assert sentinel.read_text() == "keep me"
    assert all(sha(p) == h for p, h in watched.items())
    assert not os.path.exists("/usr/bin/evil")
    assert ep.state_hash() == before


def test_no_network_even_to_a_listening_local_port(ep):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        res = ok(ep, f"python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)\"; "
                     f"curl -sS -m 2 http://127.0.0.1:{port}/ ; echo rc=$?")
        assert "ConnectionRefusedError" in res["stderr"] or "Network is unreachable" in res["stderr"]
        assert "rc=7" in res["stdout"]  # curl: could not connect
        server.settimeout(0.1)
        with pytest.raises(socket.timeout):
            server.accept()
    finally:
        server.close()


def test_timeout_kills_and_rolls_back(ep):
    before = ep.state_hash()
    t0 = time.monotonic()
    obs = run(ep, "echo partial > partial.txt; sleep 1000", timeout=1)
    assert time.monotonic() - t0 < 5
    assert obs.error["code"] == "sandbox_error" and obs.error["details"]["reason"] == "timeout"
    assert "longer than 1 s" in obs.error["message"]
    assert ep.state_hash() == before
    assert ok(ep, "ls partial.txt 2>&1; echo x")["stdout"].startswith("ls: cannot access")
    assert sandbox_processes(ep) == 0


def test_fork_bomb_is_contained(ep):
    t0 = time.monotonic()
    obs = run(ep, ":(){ :|:& };:", timeout=3)
    assert time.monotonic() - t0 < 8
    assert obs.ok or obs.error["code"] == "sandbox_error"
    time.sleep(0.2)
    assert sandbox_processes(ep) == 0
    assert ok(ep, "echo alive")["stdout"] == "alive\n"  # the machine and the sandbox still work


def test_output_flood_is_stopped(ep):
    before = ep.state_hash()
    obs = run(ep, "yes", timeout=10)
    err = obs.error
    assert err["code"] == "sandbox_error" and err["details"]["reason"] == "output_limit"
    assert err["details"]["output_truncated"] is True and len(err["details"]["stdout"]) <= 4096
    assert ep.state_hash() == before


def test_memory_and_file_size_limits(ep):
    res = ok(ep, "python3 -c 'x = bytearray(3 * 1024**3)' 2>&1 | tail -1")
    assert "MemoryError" in res["stdout"]
    res = ok(ep, f"head -c {2 * limits.OUTPUT_LIMIT_BYTES + (9 << 20)} /dev/zero > big.bin; echo rc=$?")
    assert "File size limit exceeded" in res["stderr"] or "rc=153" in res["stdout"]
    size = ep.query("SELECT size FROM fs_files WHERE path = '/home/agent/big.bin'")[0]["size"]
    assert size <= 8 << 20


def test_shell_info(ep):
    info = ep.call("bash.get_shell_info").result
    assert info["sandbox"] == "bubblewrap" and info["network"] is False and info["cwd"] == "/home/agent"


def test_run_command_refused_without_bwrap(ep, monkeypatch):
    monkeypatch.setenv(sandbox.BWRAP_ENV, "/nonexistent/bwrap")
    monkeypatch.delenv(sandbox.UNSAFE_ENV, raising=False)
    before = ep.state_hash()
    obs = run(ep, "echo hi > x.txt")
    assert obs.error["code"] == "sandbox_error" and obs.error["details"]["reason"] == "no_sandbox"
    assert "bubblewrap" in obs.error["message"] and sandbox.UNSAFE_ENV in obs.error["message"]
    assert ep.state_hash() == before
    monkeypatch.setenv(sandbox.UNSAFE_ENV, "1")  # the documented opt-out runs without isolation
    res = ok(ep, "echo hi > x.txt && cat x.txt")
    assert res["stdout"] == "hi\n" and "WITHOUT sandbox" in res["warning"]
    assert ep.query("SELECT content FROM fs_files WHERE path = '/home/agent/x.txt'")[0]["content"] == "hi\n"
