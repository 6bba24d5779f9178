"""Calendar tables (prefix cal_). Times are company-local ISO strings (YYYY-MM-DDTHH:MM:SS), so
string comparison is time comparison. The organizer is also an attendee row (accepted)."""

SCHEMA = """
CREATE TABLE cal_calendars (
    id INTEGER PRIMARY KEY,
    owner_id INTEGER NOT NULL UNIQUE REFERENCES users(id),
    name TEXT NOT NULL,
    timezone TEXT NOT NULL
);
CREATE TABLE cal_events (
    id INTEGER PRIMARY KEY,
    calendar_id INTEGER NOT NULL REFERENCES cal_calendars(id),
    organizer_id INTEGER NOT NULL REFERENCES users(id),
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    location TEXT NOT NULL DEFAULT '',
    start_at TEXT NOT NULL,
    end_at TEXT NOT NULL,
    all_day INTEGER NOT NULL DEFAULT 0,
    busy INTEGER NOT NULL DEFAULT 1,          -- 1: blocks time in free/busy (opaque), 0: transparent
    kind TEXT NOT NULL DEFAULT 'meeting' CHECK (kind IN ('meeting', 'out_of_office', 'focus_time')),
    source_ref TEXT,                          -- e.g. the leave application that created it
    created_at TEXT NOT NULL,
    CHECK (end_at > start_at)
);
CREATE INDEX cal_events_calendar ON cal_events(calendar_id, start_at);
CREATE INDEX cal_events_source ON cal_events(source_ref);
CREATE TABLE cal_attendees (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES cal_events(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    response TEXT NOT NULL DEFAULT 'needsAction'
        CHECK (response IN ('needsAction', 'accepted', 'declined', 'tentative')),
    UNIQUE (event_id, user_id)
);
CREATE INDEX cal_attendees_user ON cal_attendees(user_id, event_id);
"""
