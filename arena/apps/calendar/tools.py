"""Calendar tools, shaped like the Google Calendar / CalDAV MCP servers (list_events, get_event,
create_event, update_event, delete_event, respond_to_event, get_free_busy, find_free_slots).

Times are company-local ISO date-times (YYYY-MM-DDTHH:MM[:SS]); an event's end must be after its
start. Conflict policy: an attendee who is out of office (approved leave) cannot be booked — the
call is refused with rule_violation; any other overlap is allowed (as in real calendars) and
reported in the result's `conflicts` list so the caller can decide to move the meeting.
Out-of-office events come from Frappe HR's approved leave and can only change through HR."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import Field

from arena.apps.calendar import app, schedule
from arena.core.errors import ToolError, not_found

# invitation responses: current -> responses it may change to (needsAction is never chosen again)
RESPONSE_TRANSITIONS = {"needsAction": {"accepted", "declined", "tentative"},
                        "accepted": {"declined", "tentative"},
                        "declined": {"accepted", "tentative"},
                        "tentative": {"accepted", "declined"}}

UserList = Annotated[list[str], Field(description="People, each as username, email or employee id (HR-EMP-00007)",
                                      min_length=1, max_length=50)]
EventId = Annotated[int, Field(description="Event id (from list_events or create_event)")]


def _people(ctx, idents: list[str]) -> list[dict[str, Any]]:
    out, seen = [], set()
    for ident in idents:
        user = ctx.user_by(ident)
        if user["id"] not in seen:
            seen.add(user["id"])
            out.append(user)
    return out


def _event(ctx, event_id: int) -> dict[str, Any]:
    row = ctx.one("SELECT * FROM cal_events WHERE id = ?", event_id)
    if row is None:
        raise not_found("event", event_id)
    return row


def _can_see(ctx, event: dict[str, Any]) -> bool:
    me = ctx.actor
    return me["role"] in ("admin", "hr") or bool(ctx.one(
        "SELECT 1 FROM cal_attendees WHERE event_id = ? AND user_id = ?", event["id"], me["id"])) or \
        ctx.scalar("SELECT manager_id FROM users WHERE id = ?", event["organizer_id"]) == me["id"]


def _view(ctx, e: dict[str, Any], with_attendees: bool = True) -> dict[str, Any]:
    out = {"event_id": e["id"], "title": e["title"], "start": e["start_at"], "end": e["end_at"],
           "all_day": bool(e["all_day"]), "location": e["location"], "description": e["description"],
           "organizer": ctx.scalar("SELECT username FROM users WHERE id = ?", e["organizer_id"]),
           "kind": e["kind"], "busy": bool(e["busy"])}
    if e["source_ref"]:
        out["source"] = e["source_ref"]
    if with_attendees:
        out["attendees"] = ctx.all("SELECT u.username, u.email, a.response FROM cal_attendees a JOIN users u "
                                   "ON u.id = a.user_id WHERE a.event_id = ? ORDER BY a.id", e["id"])
    return out


def _check_times(start: str, end: str) -> tuple[str, str]:
    s, e = schedule.parse_time(start, "start"), schedule.parse_time(end, "end")
    if e <= s:
        raise ToolError("invalid_arguments", f"end {schedule.iso(e)} must be after start {schedule.iso(s)}",
                        field="end")
    if e - s > dt.timedelta(days=31):
        raise ToolError("invalid_arguments", "an event may last at most 31 days", field="end")
    return schedule.iso(s), schedule.iso(e)


def _conflicts(ctx, user_ids: list[int], start: str, end: str, exclude: int | None = None) -> list[dict[str, Any]]:
    """Overlapping busy events per attendee; out-of-office ones refuse the booking."""
    rows = schedule.busy_events(ctx, user_ids, start, end, exclude)
    names = {r["id"]: r["username"] for r in ctx.all(
        "SELECT id, username FROM users WHERE id IN (%s)" % ",".join("?" * len(user_ids)), *user_ids)}
    away = [r for r in rows if r["kind"] == "out_of_office"]
    if away:
        who = sorted({names[r["user_id"]] for r in away})
        raise ToolError("rule_violation", f"{', '.join(who)} out of office between {start} and {end} (approved "
                        "leave); pick another time or leave them out", out_of_office=who)
    return [{"user": names[r["user_id"]], "event_id": r["id"], "title": r["title"], "start": r["start_at"],
             "end": r["end_at"]} for r in rows]


def _own(ctx, event: dict[str, Any], action: str) -> None:
    if event["kind"] == "out_of_office" and event["source_ref"]:
        raise ToolError("rule_violation", f"event {event['id']} is the out-of-office block of leave "
                        f"{event['source_ref']}; it changes only through Frappe HR", source=event["source_ref"])
    if event["organizer_id"] != ctx.actor["id"] and ctx.actor["role"] != "admin":
        raise ToolError("permission_denied", f"only the organizer may {action} event {event['id']}")


@app.tool(read_only=True)
def list_calendars(ctx) -> dict:
    """Your calendar (id, name, time zone) and how many events it holds."""
    cid = ctx.scalar("SELECT id FROM cal_calendars WHERE owner_id = ?", ctx.actor["id"])
    if cid is None:
        return {"calendars": []}
    row = ctx.one("SELECT id AS calendar_id, name, timezone FROM cal_calendars WHERE id = ?", cid)
    row["events"] = ctx.scalar("SELECT COUNT(*) FROM cal_events WHERE calendar_id = ?", cid)
    return {"calendars": [{**row, "owner": ctx.actor["username"], "primary": True}]}


@app.tool(read_only=True)
def list_events(
    ctx,
    user: Annotated[str | None, Field(description="Whose calendar (username, email or employee id); default: yours. "
                                                  "Others' calendars: their manager, HR or admin")] = None,
    time_min: Annotated[str | None, Field(description="Start of the range, YYYY-MM-DDTHH:MM; default: today 00:00")] = None,
    time_max: Annotated[str | None, Field(description="End of the range (exclusive); default: 14 days after "
                                                      "time_min")] = None,
    query: Annotated[str | None, Field(description="Only events whose title contains this text")] = None,
    max_results: Annotated[int, Field(description="Maximum number of events", ge=1, le=250)] = 50,
) -> dict:
    """Events a person organizes or is invited to in a time range, earliest first, with their response."""
    target = ctx.user_by(user) if user else ctx.actor
    if target["id"] != ctx.actor["id"] and ctx.actor["role"] not in ("admin", "hr") \
            and target["manager_id"] != ctx.actor["id"]:
        raise ToolError("permission_denied", f"you may not read {target['username']}'s calendar; "
                        "use get_free_busy to see when they are busy")
    lo, hi = schedule.window(time_min, time_max, 14, ctx.today)
    sql = ("SELECT e.*, a.response FROM cal_attendees a JOIN cal_events e ON e.id = a.event_id "
           "WHERE a.user_id = ? AND e.start_at < ? AND e.end_at > ?")
    args: list[Any] = [target["id"], hi, lo]
    if query:
        sql += " AND e.title LIKE ?"
        args.append(f"%{query}%")
    rows = ctx.all(sql + " ORDER BY e.start_at, e.id LIMIT ?", *args, max_results)
    return {"user": target["username"], "time_min": lo, "time_max": hi,
            "events": [{**_view(ctx, r, with_attendees=False), "response": r["response"]} for r in rows]}


@app.tool(read_only=True)
def get_event(ctx, event_id: EventId) -> dict:
    """One event with its attendees and their responses (attendees, the organizer's manager, HR, admin)."""
    e = _event(ctx, event_id)
    if not _can_see(ctx, e):
        raise ToolError("permission_denied", f"you are not invited to event {event_id}")
    return _view(ctx, e)


@app.tool(returns={"event_id": "integer", "start": "string", "end": "string", "conflicts": "array"})
def create_event(
    ctx,
    title: Annotated[str, Field(description="Event title", min_length=1, max_length=200)],
    start: Annotated[str, Field(description="Start, YYYY-MM-DDTHH:MM[:SS] (company-local time)")],
    end: Annotated[str, Field(description="End, YYYY-MM-DDTHH:MM[:SS]; must be after start")],
    attendees: Annotated[list[str] | None, Field(
        description="People to invite: usernames, emails or employee ids (you are added as organizer)")] = None,
    description: Annotated[str | None, Field(description="Agenda or notes")] = None,
    location: Annotated[str | None, Field(description="Room or video link")] = None,
    all_day: Annotated[bool, Field(description="An all-day event (start/end are taken as whole days)")] = False,
    busy: Annotated[bool, Field(description="Show as busy in free/busy (false: free/transparent)")] = True,
) -> dict:
    """Create an event on your calendar and invite attendees (they get a notification and must
    accept or decline). Refused (rule_violation) if an attendee is out of office then; other
    overlaps are allowed and returned as `conflicts`."""
    s, e = _check_times(start, end)
    if all_day:  # whole days: midnight of the first day to midnight after the last
        first, last = dt.date.fromisoformat(s[:10]), dt.datetime.fromisoformat(e)
        last_day = last.date() if last.time() == dt.time() and last.date() > first else last.date() + dt.timedelta(days=1)
        s, e = f"{first}T00:00:00", f"{last_day}T00:00:00"
    me = ctx.actor
    guests = [u for u in _people(ctx, attendees or []) if u["id"] != me["id"]]
    left = [u["username"] for u in guests if u["status"] != "active"]
    if left:
        raise ToolError("rule_violation", f"{', '.join(left)} no longer work here and cannot be invited")
    conflicts = _conflicts(ctx, [me["id"]] + [u["id"] for u in guests], s, e) if busy else []
    eid = ctx.insert("cal_events", calendar_id=schedule.calendar_of(ctx, me["id"]), organizer_id=me["id"],
                     title=title.strip(), description=description or "", location=location or "", start_at=s,
                     end_at=e, all_day=int(all_day), busy=int(busy), kind="meeting", created_at=ctx.now)
    ctx.insert("cal_attendees", event_id=eid, user_id=me["id"], response="accepted")
    for u in guests:
        ctx.insert("cal_attendees", event_id=eid, user_id=u["id"], response="needsAction")
        ctx.notify(u["id"], "calendar", f"{me['full_name']} invited you to '{title.strip()}' at {s}",
                   ref=f"event:{eid}", kind="action")
    return {"event_id": eid, "title": title.strip(), "start": s, "end": e,
            "attendees": [u["username"] for u in guests], "conflicts": conflicts}


@app.tool(idempotent=True)
def update_event(
    ctx,
    event_id: EventId,
    title: Annotated[str | None, Field(description="New title", min_length=1, max_length=200)] = None,
    start: Annotated[str | None, Field(description="New start, YYYY-MM-DDTHH:MM[:SS]")] = None,
    end: Annotated[str | None, Field(description="New end, YYYY-MM-DDTHH:MM[:SS]")] = None,
    description: Annotated[str | None, Field(description="New description")] = None,
    location: Annotated[str | None, Field(description="New location")] = None,
    attendees: Annotated[list[str] | None, Field(
        description="The full new guest list (usernames, emails or employee ids); kept guests keep their response")] = None,
) -> dict:
    """Change an event you organize. Moving it asks every guest to respond again; the same
    out-of-office rule and conflict report as create_event apply."""
    ev = _event(ctx, event_id)
    _own(ctx, ev, "change")
    changes: dict[str, Any] = {}
    if title is not None:
        changes["title"] = title.strip()
    if description is not None:
        changes["description"] = description
    if location is not None:
        changes["location"] = location
    s, e = _check_times(start or ev["start_at"], end or ev["end_at"])
    moved = (s, e) != (ev["start_at"], ev["end_at"])
    if moved:
        changes.update(start_at=s, end_at=e)
    current = {r["user_id"]: r for r in ctx.all("SELECT * FROM cal_attendees WHERE event_id = ?", ev["id"])}
    if attendees is not None:
        guests = [u for u in _people(ctx, attendees) if u["id"] != ev["organizer_id"]]
        new_ids = [ev["organizer_id"]] + [u["id"] for u in guests]
    else:
        new_ids = list(current)
    if not changes and set(new_ids) == set(current):
        raise ToolError("invalid_arguments", "nothing to update: give at least one changed field")
    conflicts = _conflicts(ctx, new_ids, s, e, exclude=ev["id"]) if ev["busy"] and (moved or attendees is not None) \
        else []
    if changes:
        ctx.update("cal_events", ev["id"], **changes)
    for uid, row in current.items():
        if uid not in new_ids:
            ctx.delete("cal_attendees", row["id"])
            ctx.notify(uid, "calendar", f"You were removed from '{ev['title']}'", ref=f"event:{ev['id']}")
        elif moved and uid != ev["organizer_id"]:
            ctx.update("cal_attendees", row["id"], response="needsAction")
    for uid in new_ids:
        if uid not in current:
            ctx.insert("cal_attendees", event_id=ev["id"], user_id=uid, response="needsAction")
    for uid in new_ids:
        if uid != ev["organizer_id"] and (moved or uid not in current):
            ctx.notify(uid, "calendar", f"'{changes.get('title', ev['title'])}' is at {s}; please respond",
                       ref=f"event:{ev['id']}", kind="action")
    return {**_view(ctx, _event(ctx, ev["id"])), "conflicts": conflicts}


@app.tool(destructive=True, idempotent=False)
def delete_event(ctx, event_id: EventId) -> dict:
    """Delete an event you organize; its guests are notified."""
    ev = _event(ctx, event_id)
    _own(ctx, ev, "delete")
    guests = [r["user_id"] for r in ctx.all("SELECT user_id FROM cal_attendees WHERE event_id = ? AND user_id != ?",
                                            ev["id"], ev["organizer_id"])]
    ctx.db.execute("DELETE FROM cal_attendees WHERE event_id = ?", (ev["id"],))
    ctx.delete("cal_events", ev["id"])
    for uid in guests:
        ctx.notify(uid, "calendar", f"'{ev['title']}' ({ev['start_at']}) was cancelled", ref=f"event:{ev['id']}")
    return {"event_id": ev["id"], "deleted": True, "notified": len(guests)}


@app.tool(idempotent=True)
def respond_to_event(
    ctx,
    event_id: EventId,
    response: Annotated[Literal["accepted", "declined", "tentative"], Field(description="Your answer to the invitation")],
    comment: Annotated[str | None, Field(description="Note to the organizer")] = None,
) -> dict:
    """Accept, decline or tentatively accept an invitation you received."""
    ev = _event(ctx, event_id)
    row = ctx.one("SELECT * FROM cal_attendees WHERE event_id = ? AND user_id = ?", ev["id"], ctx.actor["id"])
    if row is None:
        raise ToolError("permission_denied", f"you are not invited to event {event_id}")
    if ev["organizer_id"] == ctx.actor["id"]:
        raise ToolError("rule_violation", "the organizer does not respond to their own event; update or delete it")
    if row["response"] == response:
        return {"event_id": ev["id"], "response": response, "changed": False}
    if response not in RESPONSE_TRANSITIONS[row["response"]]:
        raise ToolError("invalid_transition", f"cannot change response from {row['response']} to {response}")
    if response != "declined" and ev["busy"]:
        away = [r for r in schedule.busy_events(ctx, [ctx.actor["id"]], ev["start_at"], ev["end_at"], ev["id"])
                if r["kind"] == "out_of_office"]
        if away:
            raise ToolError("rule_violation", f"you are out of office during event {event_id} (approved leave)")
    ctx.update("cal_attendees", row["id"], response=response)
    ctx.notify(ev["organizer_id"], "calendar", f"{ctx.actor['full_name']} {response} '{ev['title']}'"
               + (f": {comment}" if comment else ""), ref=f"event:{ev['id']}")
    return {"event_id": ev["id"], "response": response, "changed": True}


@app.tool(read_only=True)
def list_invitations(ctx) -> dict:
    """Upcoming invitations you have not answered yet."""
    rows = ctx.all("SELECT e.* FROM cal_attendees a JOIN cal_events e ON e.id = a.event_id WHERE a.user_id = ? "
                   "AND a.response = 'needsAction' AND e.end_at > ? ORDER BY e.start_at LIMIT 100",
                   ctx.actor["id"], ctx.now)
    return {"invitations": [_view(ctx, r, with_attendees=False) for r in rows]}


@app.tool(read_only=True)
def get_free_busy(
    ctx,
    users: UserList,
    time_min: Annotated[str, Field(description="Start of the range, YYYY-MM-DDTHH:MM")],
    time_max: Annotated[str, Field(description="End of the range (exclusive), YYYY-MM-DDTHH:MM; at most 62 days on")],
) -> dict:
    """When each person is busy in a range (merged busy intervals; no event details). Anyone may ask."""
    people = _people(ctx, users)
    lo, hi = schedule.window(time_min, time_max, 1, ctx.today)
    rows = schedule.busy_events(ctx, [p["id"] for p in people], lo, hi)
    out = {}
    for p in people:
        spans = [(max(r["start_at"], lo), min(r["end_at"], hi)) for r in rows if r["user_id"] == p["id"]]
        out[p["username"]] = {"busy": [{"start": s, "end": e} for s, e in schedule.merge(spans)],
                              "out_of_office": any(r["kind"] == "out_of_office" for r in rows
                                                   if r["user_id"] == p["id"])}
    return {"time_min": lo, "time_max": hi, "calendars": out}


@app.tool(read_only=True)
def find_free_slots(
    ctx,
    users: UserList,
    date: Annotated[str, Field(description="The day to search, YYYY-MM-DD")],
    duration_minutes: Annotated[int, Field(description="Meeting length in minutes", ge=5, le=600)],
    work_start: Annotated[str, Field(description="Start of working hours, HH:MM", pattern=r"^\d{2}:\d{2}$")] = "09:00",
    work_end: Annotated[str, Field(description="End of working hours, HH:MM", pattern=r"^\d{2}:\d{2}$")] = "17:00",
) -> dict:
    """Time windows on one working day when all the given people are free for at least
    duration_minutes (within working hours), and the earliest such start."""
    people = _people(ctx, users)
    day = schedule.parse_day(date, "date")
    try:
        lo = dt.datetime.combine(day, dt.time.fromisoformat(work_start))
        hi = dt.datetime.combine(day, dt.time.fromisoformat(work_end))
    except ValueError:
        raise ToolError("invalid_arguments", f"work_start/work_end must be valid HH:MM times ({work_start}, "
                        f"{work_end})", field="work_start") from None
    if hi <= lo:
        raise ToolError("invalid_arguments", "work_end must be after work_start", field="work_end")
    names = [p["username"] for p in people]
    if day.weekday() >= 5:
        return {"date": date, "users": names, "slots": [], "earliest": None, "note": "weekend: no working hours"}
    busy = schedule.merge([(r["start_at"], r["end_at"]) for r in schedule.busy_events(
        ctx, [p["id"] for p in people], schedule.iso(lo), schedule.iso(hi))])
    need = dt.timedelta(minutes=duration_minutes)
    slots, cursor = [], lo
    for s, e in busy + [(schedule.iso(hi), schedule.iso(hi))]:
        bs = max(dt.datetime.fromisoformat(s), lo)
        if bs - cursor >= need:
            slots.append({"start": schedule.iso(cursor), "end": schedule.iso(bs)})
        cursor = max(cursor, min(dt.datetime.fromisoformat(e), hi))
    return {"date": date, "users": names, "duration_minutes": duration_minutes, "slots": slots,
            "earliest": slots[0]["start"] if slots else None}
