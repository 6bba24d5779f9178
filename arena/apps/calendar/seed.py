"""Calendar seed: a calendar per person (provisioned on hire), out-of-office blocks for approved
leave (on `leave.approved`), and two weeks of meetings among colleagues."""
from __future__ import annotations

import datetime as dt

from arena.apps.calendar import app, schedule, words
from arena.core import fake


@app.on("employee.hired")
def provision_calendar(ctx, user_id: int) -> None:
    """Every new employee gets a personal calendar in their office's time zone."""
    user = ctx.get("users", user_id)
    ctx.insert("cal_calendars", owner_id=user_id, name=user["full_name"],
               timezone=words.CITY_TIMEZONES.get(user["location"] or "", words.DEFAULT_TIMEZONE))


@app.on("leave.approved")
def block_leave(ctx, user_id: int, from_date: str, to_date: str, leave_application_id: str) -> None:
    """Approved leave becomes one all-day, busy "Out of office" event spanning the leave. Like
    Google Calendar's out-of-office, it declines the person's meeting invitations in that span
    (their organizers are notified)."""
    start = f"{from_date}T00:00:00"
    end = schedule.iso(dt.datetime.fromisoformat(to_date) + dt.timedelta(days=1))
    eid = ctx.insert("cal_events", calendar_id=schedule.calendar_of(ctx, user_id), organizer_id=user_id,
                     title=words.OUT_OF_OFFICE_TITLE, description=f"On approved leave ({leave_application_id})",
                     location="", start_at=start, end_at=end, all_day=1, busy=1, kind="out_of_office",
                     source_ref=leave_application_id, created_at=ctx.now)
    ctx.insert("cal_attendees", event_id=eid, user_id=user_id, response="accepted")
    clashes = ctx.all("SELECT a.id, e.id AS event_id, e.title, e.start_at, e.organizer_id FROM cal_attendees a "
                      "JOIN cal_events e ON e.id = a.event_id WHERE a.user_id = ? AND e.organizer_id != ? "
                      "AND a.response != 'declined' AND e.start_at < ? AND e.end_at > ?", user_id, user_id, end, start)
    if clashes:
        name = ctx.scalar("SELECT full_name FROM users WHERE id = ?", user_id)
    for c in clashes:
        ctx.update("cal_attendees", c["id"], response="declined")
        ctx.notify(c["organizer_id"], "calendar", f"{name} declined '{c['title']}' ({c['start_at']}): out of office",
                   ref=f"event:{c['event_id']}")


@app.seeder(order=40)
def seed_meetings(ctx) -> None:
    rng = ctx.rng
    people = ctx.all("SELECT id, department_id FROM users WHERE status = 'active' ORDER BY id")
    by_dept: dict[int, list[int]] = {}
    for p in people:
        by_dept.setdefault(p["department_id"], []).append(p["id"])
    calendars = {r["owner_id"]: r["id"] for r in ctx.all("SELECT id, owner_id FROM cal_calendars")}
    away: dict[int, list[tuple[str, str]]] = {}
    for r in ctx.all("SELECT organizer_id, start_at, end_at FROM cal_events WHERE kind = 'out_of_office'"):
        away.setdefault(r["organizer_id"], []).append((r["start_at"], r["end_at"]))
    monday = dt.date.fromisoformat(ctx.today)
    monday -= dt.timedelta(days=monday.weekday())
    days = [monday + dt.timedelta(days=i) for i in range(12) if (monday + dt.timedelta(days=i)).weekday() < 5]
    next_id = (ctx.scalar("SELECT MAX(id) FROM cal_events") or 0) + 1
    events, attendees = [], []
    for _ in range(6 * ctx.k + 4):
        organizer = rng.choice(people)
        pool = [u for u in by_dept[organizer["department_id"]] if u != organizer["id"]]
        others = rng.sample(pool, min(len(pool), rng.randint(1, 4)))
        if rng.random() < 0.3:  # cross-team meetings
            others.append(rng.choice(people)["id"])
        day = rng.choice(days)
        start = dt.datetime.combine(day, dt.time(rng.randint(9, 16), rng.choice([0, 30])))
        end = start + dt.timedelta(minutes=rng.choice([30, 30, 60, 60, 90]))
        s, e = schedule.iso(start), schedule.iso(end)
        title = rng.choice(words.MEETING_TITLES).format(topic=rng.choice(fake.TOPIC_NOUNS),
                                                        company=rng.choice(fake.COMPANIES))
        eid = next_id
        next_id += 1
        events.append((eid, calendars[organizer["id"]], organizer["id"], title, fake.sentence(rng),
                       rng.choice(words.ROOMS), s, e, "2026-02-20T10:00:00"))
        attendees.append((eid, organizer["id"], "accepted"))
        for uid in dict.fromkeys(others):
            if uid == organizer["id"]:
                continue
            on_leave = any(a < e and b > s for a, b in away.get(uid, ()))
            response = "declined" if on_leave else rng.choices(
                ["accepted", "needsAction", "tentative", "declined"], [60, 25, 10, 5])[0]
            attendees.append((eid, uid, response))
    ctx.db.executemany("INSERT INTO cal_events (id, calendar_id, organizer_id, title, description, location, start_at, "
                       "end_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", events)
    ctx.db.executemany("INSERT INTO cal_attendees (event_id, user_id, response) VALUES (?, ?, ?)", attendees)
