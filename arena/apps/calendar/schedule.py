"""Time handling and busy-time queries shared by the calendar's tools, seed and event handlers."""
from __future__ import annotations

import datetime as dt
from typing import Any

from arena.core.errors import ToolError

MAX_RANGE_DAYS = 62  # free/busy and listings look at most two months ahead


def parse_time(value: str, field: str) -> dt.datetime:
    """An ISO date-time in company-local time (an offset or Z is accepted and dropped)."""
    try:
        t = dt.datetime.fromisoformat(value.strip().replace(" ", "T"))
    except (ValueError, AttributeError):
        raise ToolError("invalid_arguments", f"{field}: {value!r} is not a date-time (YYYY-MM-DDTHH:MM[:SS])",
                        field=field, value=value) from None
    return t.replace(tzinfo=None, microsecond=0)


def parse_day(value: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        raise ToolError("invalid_arguments", f"{field}: {value!r} is not a date (YYYY-MM-DD)",
                        field=field, value=value) from None


def iso(t: dt.datetime) -> str:
    return t.isoformat(timespec="seconds")


def window(time_min: str | None, time_max: str | None, default_days: int, today: str) -> tuple[str, str]:
    """[time_min, time_max) as ISO strings; bare dates mean midnight; defaults to today + N days."""
    lo = parse_time(time_min, "time_min") if time_min else dt.datetime.fromisoformat(today)
    hi = parse_time(time_max, "time_max") if time_max else lo + dt.timedelta(days=default_days)
    if hi <= lo:
        raise ToolError("invalid_arguments", f"time_max {iso(hi)} must be after time_min {iso(lo)}", field="time_max")
    if hi - lo > dt.timedelta(days=MAX_RANGE_DAYS):
        raise ToolError("invalid_arguments", f"the time range may span at most {MAX_RANGE_DAYS} days",
                        field="time_max")
    return iso(lo), iso(hi)


def busy_events(ctx, user_ids: list[int], lo: str, hi: str, exclude_event: int | None = None) -> list[dict[str, Any]]:
    """Opaque events in [lo, hi) that the users attend (organizer or not declined)."""
    marks = ",".join("?" * len(user_ids))
    return ctx.all(
        f"SELECT a.user_id, e.id, e.title, e.start_at, e.end_at, e.kind FROM cal_attendees a "
        f"JOIN cal_events e ON e.id = a.event_id WHERE a.user_id IN ({marks}) AND a.response != 'declined' "
        f"AND e.busy = 1 AND e.start_at < ? AND e.end_at > ? AND e.id != ? ORDER BY e.start_at, e.id",
        *user_ids, hi, lo, exclude_event or 0)


def merge(intervals: list[tuple[str, str]]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def calendar_of(ctx, user_id: int) -> int:
    cid = ctx.scalar("SELECT id FROM cal_calendars WHERE owner_id = ?", user_id)
    if cid is None:  # people hired before the calendar app existed get one on first use
        from arena.apps.calendar import words

        user = ctx.get("users", user_id)
        cid = ctx.insert("cal_calendars", owner_id=user_id, name=user["full_name"],
                         timezone=words.CITY_TIMEZONES.get(user["location"] or "", words.DEFAULT_TIMEZONE))
    return cid
