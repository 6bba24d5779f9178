"""`elab-hpc demo`: play one scripted cross-app episode on the embedded defaults and show what
happened — the recruitment workflow of the published system, done by a scripted agent:

  job description from ownCloud → applicants from HR → rank by required skills → hiring manager
  from the org chart → free interview slot in the calendar → invitation event, e-mail to the
  manager, applicants moved on in HR, a note in the team's chat channel.

Every step is a real tool call on a fresh arena episode; the end shows the episode's state diff.
"""
from __future__ import annotations

import argparse
import json
import re
import time
from datetime import datetime, timedelta


def register(sub: argparse._SubParsersAction, name: str, help_text: str) -> None:
    p = sub.add_parser(name, help=help_text, description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=0, help="seed of the company data (default 0)")
    p.add_argument("--scale", choices=["small", "medium", "large"], default="small")
    p.add_argument("--opening", default="Senior Backend Engineer", help="job opening to staff")
    p.add_argument("--json", action="store_true", help="print the step log as JSON instead of tables")
    p.set_defaults(func=run)


class _Player:
    """Calls tools, stops on the first error (a scripted agent knows what it expects)."""

    def __init__(self, ep, console, as_json: bool):
        self.ep = ep
        self.console = console
        self.as_json = as_json
        self.log: list[dict] = []

    def __call__(self, tool: str, args: dict, why: str) -> dict:
        t0 = time.perf_counter()
        obs = self.ep.call(tool, args)
        ms = (time.perf_counter() - t0) * 1e3
        self.log.append({"step": len(self.log) + 1, "why": why, "tool": tool, "args": args,
                         "ok": obs.ok, "ms": round(ms, 3), **({"result": obs.result} if obs.ok else {"error": obs.error})})
        if not self.as_json:
            mark = "[green]ok[/]" if obs.ok else "[red]error[/]"
            self.console.print(f"[bold]{len(self.log):>2}.[/] {why}\n    [cyan]{tool}[/]"
                               f"({_short(args)}) → {mark} {_short(obs.result if obs.ok else obs.error, 110)}")
        if not obs.ok:
            raise RuntimeError(f"{tool} failed: {obs.error}")
        return obs.result


def _short(obj, width: int = 90) -> str:
    text = json.dumps(obj, default=str, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from arena import Arena

    console = Console()
    t0 = time.perf_counter()
    arena = Arena(seed=args.seed, scale=args.scale)
    world = arena.world
    if not args.json:
        console.rule("[bold]EnterpriseArena demo: the recruitment workflow")
        console.print(f"world: seed={args.seed} scale={args.scale}, {len(world.apps) - 1} apps, "
                      f"{len(world.index.by_qualified)} tools, {world.record_count()} records "
                      f"(built in {time.perf_counter() - t0:.2f} s); acting as jordan.lee\n")
    with arena.episode() as ep:
        call = _Player(ep, console, args.json)
        opening = call("frappe.get_job_opening_details", {"job_opening_id": args.opening},
                       f"look up the '{args.opening}' opening in Frappe HR")
        oid, title = opening["job_opening_id"], opening["job_title"]
        found = call("owncloud.search_files", {"query": oid, "path": "/HR"},
                     "find its job description in ownCloud")
        path = found["results"][0]["path"]
        jd = call("owncloud.read_file_content", {"remote_path": path}, "read the job description")
        section = jd.get("content", "").split("## Required skills", 1)[-1].split("\n## ", 1)[0]
        required = [s.strip().lower() for s in re.findall(r"^[-*]\s*(.+)$", section, re.M)]
        applicants = call("frappe.get_job_applicants", {"job_opening": oid, "status": "Open", "limit": 50},
                          "fetch the open applicants and their resumes from HR")["job_applicants"]

        def score(a: dict) -> int:
            have = set(a.get("skills") or [])
            return len(have & set(required))

        ranked = sorted(applicants, key=lambda a: (-score(a), a["applicant_id"]))
        top = ranked[:3]
        manager = call("frappe.get_employee", {"employee_id": opening["hiring_manager"]},
                       "who is the hiring manager?")
        mgr_user = manager["user_id"]
        slots = call("calendar.find_free_slots", {"users": [mgr_user, "jordan.lee"], "date": "2026-03-04",
                                                   "duration_minutes": 60},
                     "find a free hour for the manager and me on Wednesday")["slots"]
        start = datetime.fromisoformat(slots[0]["start"])  # the earliest free window
        slot = {"start": start.isoformat(timespec="minutes"),
                "end": (start + timedelta(minutes=60)).isoformat(timespec="minutes")}
        names = ", ".join(f"{a['applicant_name']} ({score(a)}/{len(required)} skills)" for a in top)
        event = call("calendar.create_event", {
            "title": f"Interview panel: {title}", "start": slot["start"], "end": slot["end"],
            "attendees": [mgr_user], "description": f"Shortlist: {names}"},
            "book the interview panel")
        call("mail.send_email", {
            "to": [manager["company_email"]], "subject": f"Shortlist for {title} ({oid})",
            "body": f"Hi {manager['first_name']},\n\nthe top three applicants by "
                    f"required skills ({', '.join(required)}) are: {names}.\nI booked the panel for "
                    f"{slot['start']} (event {event.get('event_id')}).\n\nJordan"},
            "e-mail the shortlist to the hiring manager")
        for a in top:
            call("frappe.update_job_applicant", {"applicant_id": a["applicant_id"], "status": "Replied"},
                 f"move {a['applicant_name']} on in HR")
        call("rocketchat.join_channel", {"channel": "engineering"}, "join #engineering (posting needs membership)")
        call("rocketchat.send_channel_message", {"channel": "engineering", "message":
             f"Interview panel for *{title}* booked ({slot['start']}); shortlist sent to the hiring manager."},
             "tell the team in chat")
        # the propagation, seen from the manager's side
        ep.as_user(mgr_user)
        inbox = call("mail.list_emails", {"folder": "INBOX", "unread_only": True, "limit": 5},
                     f"(as {mgr_user}) the shortlist arrived in the manager's inbox")
        ep.as_user("jordan.lee")
        diff = ep.diff()
        state = ep.state_hash()
    if args.json:
        print(json.dumps({"steps": call.log, "diff_tables": {t: {k: len(v) for k, v in d.items()} for t, d in diff.items()},
                          "state_hash": state}, indent=1, default=str))
        return 0
    assert any(m.get("subject", "").startswith("Shortlist") for m in inbox.get("emails", []))
    table = Table(title="what changed in the enterprise state (episode diff)")
    for col in ("table", "inserted", "updated", "deleted"):
        table.add_column(col)
    for t, d in sorted(diff.items()):
        table.add_row(t, str(len(d["inserted"])), str(len(d["updated"])), str(len(d["deleted"])))
    console.print(table)
    total_ms = sum(s["ms"] for s in call.log)
    console.print(f"{len(call.log)} tool calls across {len({s['tool'].split('.')[0] for s in call.log})} apps "
                  f"in {total_ms:.1f} ms; final state hash {state[:16]}…")
    console.print("Next: `elab-hpc arena tools`, `elab-hpc arena serve --all --transport http`, "
                  "`elab-hpc cluster up`; see README.md.")
    return 0
