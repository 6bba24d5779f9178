"""Calendar on a real arena world (calendar + frappe, small scale): a scripted meeting lifecycle
checked against the database, free/busy and free-slot search, and every rule refused with the
right code and an unchanged state (end before start, out-of-office attendees, organizer-only
changes, invitation responses, HR-managed out-of-office blocks)."""
from __future__ import annotations

import pytest

from arena.core.registry import load_apps
from arena.core.world import World
from tests.arena.calls import ok, refused


@pytest.fixture(scope="module")
def world() -> World:
    w = World(load_apps(["calendar", "frappe"]), seed=0, scale="small")
    w.image
    return w


@pytest.fixture
def ep(world):
    with world.episode() as episode:
        yield episode


def free_people(ep, n):
    """n plain employees with nothing in their calendars on 2026-03-18 (a Wednesday)."""
    rows = ep.query("SELECT u.username, u.employee_id FROM users u WHERE u.role = 'employee' AND NOT EXISTS "
                    "(SELECT 1 FROM cal_attendees a JOIN cal_events e ON e.id = a.event_id WHERE a.user_id = u.id "
                    "AND e.start_at < '2026-03-19' AND e.end_at > '2026-03-18') ORDER BY u.id LIMIT ?", n)
    assert len(rows) == n
    return rows


def test_every_person_has_one_calendar(ep):
    assert ep.query("SELECT COUNT(*) AS n FROM users") == ep.query("SELECT COUNT(DISTINCT owner_id) AS n "
                                                                   "FROM cal_calendars")
    mine = ok(ep, "calendar.list_calendars")["calendars"]
    assert [c["owner"] for c in mine] == ["jordan.lee"] and mine[0]["timezone"] == "Europe/Berlin"


def test_meeting_lifecycle(ep):
    a, b, c = free_people(ep, 3)
    ep.as_user(a["username"])
    made = ok(ep, "calendar.create_event", {"title": "Design review: search index", "start": "2026-03-18T10:00",
                                            "end": "2026-03-18T11:00", "attendees": [b["username"], c["employee_id"]],
                                            "location": "Room Ada (3rd floor)"})
    assert made["conflicts"] == [] and made["attendees"] == [b["username"], c["username"]]
    eid = made["event_id"]
    ep.as_user(b["username"])
    assert eid in [i["event_id"] for i in ok(ep, "calendar.list_invitations")["invitations"]]
    assert ok(ep, "calendar.respond_to_event", {"event_id": eid, "response": "accepted"})["changed"] is True
    assert ok(ep, "calendar.respond_to_event", {"event_id": eid, "response": "accepted"})["changed"] is False
    seen = ok(ep, "calendar.list_events", {"time_min": "2026-03-18T00:00", "time_max": "2026-03-19T00:00"})
    assert [(e["event_id"], e["response"]) for e in seen["events"]] == [(eid, "accepted")]
    ep.as_user(a["username"])
    moved = ok(ep, "calendar.update_event", {"event_id": eid, "start": "2026-03-18T14:00", "end": "2026-03-18T15:30",
                                             "attendees": [b["username"]]})
    assert (moved["start"], moved["end"]) == ("2026-03-18T14:00:00", "2026-03-18T15:30:00")
    # moving asks guests again; the removed guest is gone
    assert [(x["username"], x["response"]) for x in moved["attendees"]] == [(a["username"], "accepted"),
                                                                            (b["username"], "needsAction")]
    fb = ok(ep, "calendar.get_free_busy", {"users": [b["username"], c["username"]], "time_min": "2026-03-18T08:00",
                                           "time_max": "2026-03-18T18:00"})
    assert fb["calendars"][b["username"]]["busy"] == [{"start": "2026-03-18T14:00:00", "end": "2026-03-18T15:30:00"}]
    assert fb["calendars"][c["username"]]["busy"] == []
    row = ep.query("SELECT title, start_at, end_at FROM cal_events WHERE id = ?", eid)[0]
    assert row == {"title": "Design review: search index", "start_at": "2026-03-18T14:00:00",
                   "end_at": "2026-03-18T15:30:00"}
    assert ok(ep, "calendar.delete_event", {"event_id": eid}) == {"event_id": eid, "deleted": True, "notified": 1}
    assert ep.query("SELECT COUNT(*) AS n FROM cal_attendees WHERE event_id = ?", eid) == [{"n": 0}]
    assert ep.diff().get("cal_events", {"inserted": []})["inserted"] == []  # created then deleted: no net change
    ep.as_user(c["username"])
    texts = [r["text"] for r in ep.query("SELECT text FROM notifications n JOIN users u ON u.id = n.user_id "
                                         "WHERE u.username = ? AND n.app = 'calendar'", c["username"])]
    assert any("invited you" in t for t in texts) and any("removed" in t for t in texts)


def test_find_free_slots_intersects_everyones_busy_time(ep):
    a, b = free_people(ep, 2)
    ep.as_user(a["username"])
    ok(ep, "calendar.create_event", {"title": "Focus", "start": "2026-03-18T09:00", "end": "2026-03-18T10:30"})
    ep.as_user(b["username"])
    ok(ep, "calendar.create_event", {"title": "Dentist", "start": "2026-03-18T12:00", "end": "2026-03-18T13:00"})
    ok(ep, "calendar.create_event", {"title": "Not blocking", "start": "2026-03-18T15:00", "end": "2026-03-18T16:00",
                                     "busy": False})
    got = ok(ep, "calendar.find_free_slots", {"users": [a["username"], b["username"]], "date": "2026-03-18",
                                              "duration_minutes": 60})
    assert got["slots"] == [{"start": "2026-03-18T10:30:00", "end": "2026-03-18T12:00:00"},
                            {"start": "2026-03-18T13:00:00", "end": "2026-03-18T17:00:00"}]
    assert got["earliest"] == "2026-03-18T10:30:00"
    longer = ok(ep, "calendar.find_free_slots", {"users": [a["username"], b["username"]], "date": "2026-03-18",
                                                 "duration_minutes": 120})
    assert longer["slots"] == [{"start": "2026-03-18T13:00:00", "end": "2026-03-18T17:00:00"}]
    assert ok(ep, "calendar.find_free_slots", {"users": [a["username"]], "date": "2026-03-21",
                                               "duration_minutes": 30})["slots"] == []  # Saturday
    refused(ep, "calendar.find_free_slots", {"users": ["nobody.here"], "date": "2026-03-18", "duration_minutes": 30},
            "not_found")


def test_bad_times_and_overlaps(ep):
    a, b = free_people(ep, 2)
    ep.as_user(a["username"])
    refused(ep, "calendar.create_event", {"title": "Backwards", "start": "2026-03-18T11:00", "end": "2026-03-18T10:00"},
            "invalid_arguments")
    refused(ep, "calendar.create_event", {"title": "Zero", "start": "2026-03-18T11:00", "end": "2026-03-18T11:00"},
            "invalid_arguments")
    refused(ep, "calendar.create_event", {"title": "Garbled", "start": "next tuesday", "end": "2026-03-18T11:00"},
            "invalid_arguments")
    refused(ep, "calendar.create_event", {"title": "Ghost", "start": "2026-03-18T10:00", "end": "2026-03-18T11:00",
                                          "attendees": ["no.such.person"]}, "not_found")
    first = ok(ep, "calendar.create_event", {"title": "1:1", "start": "2026-03-18T10:00", "end": "2026-03-18T11:00",
                                             "attendees": [b["username"]]})
    second = ok(ep, "calendar.create_event", {"title": "Retro", "start": "2026-03-18T10:30",
                                              "end": "2026-03-18T11:30", "attendees": [b["username"]]})
    assert {(c["user"], c["event_id"]) for c in second["conflicts"]} == {(a["username"], first["event_id"]),
                                                                         (b["username"], first["event_id"])}
    refused(ep, "calendar.update_event", {"event_id": first["event_id"], "end": "2026-03-18T09:00"},
            "invalid_arguments")
    refused(ep, "calendar.update_event", {"event_id": first["event_id"]}, "invalid_arguments")


def test_out_of_office_attendees_cannot_be_booked(ep):
    emp = ep.query("SELECT u.username, u.employee_id, m.username AS manager FROM users u JOIN users m "
                   "ON m.id = u.manager_id WHERE u.role = 'employee' AND NOT EXISTS (SELECT 1 FROM "
                   "hr_leave_applications l WHERE l.employee_id = u.id) ORDER BY u.id LIMIT 1")[0]
    ep.as_user(emp["username"])
    leave = ok(ep, "frappe.apply_leave", {"leave_type": "Privilege Leave", "from_date": "2026-03-23",
                                          "to_date": "2026-03-24"})
    ep.as_user(emp["manager"])
    ok(ep, "frappe.approve_leave", {"leave_application_id": leave["leave_application_id"]})
    err = refused(ep, "calendar.create_event", {"title": "Planning", "start": "2026-03-24T10:00",
                                                "end": "2026-03-24T11:00", "attendees": [emp["employee_id"]]},
                  "rule_violation")
    assert err["details"]["out_of_office"] == [emp["username"]]
    ooo = ep.query("SELECT e.id FROM cal_events e JOIN users u ON u.id = e.organizer_id WHERE u.username = ? "
                   "AND e.kind = 'out_of_office' AND e.source_ref = ?", emp["username"],
                   leave["leave_application_id"])[0]["id"]
    ep.as_user(emp["username"])
    refused(ep, "calendar.delete_event", {"event_id": ooo}, "rule_violation")  # only through HR
    refused(ep, "calendar.update_event", {"event_id": ooo, "title": "Actually in"}, "rule_violation")
    # the day after the leave is bookable again
    ep.as_user(emp["manager"])
    ok(ep, "calendar.create_event", {"title": "Planning", "start": "2026-03-25T10:00", "end": "2026-03-25T11:00",
                                     "attendees": [emp["employee_id"]]})


def test_permissions_and_response_rules(ep):
    a, b, c = free_people(ep, 3)
    ep.as_user(a["username"])
    eid = ok(ep, "calendar.create_event", {"title": "Budget review", "start": "2026-03-18T09:00",
                                           "end": "2026-03-18T09:30", "attendees": [b["username"]]})["event_id"]
    refused(ep, "calendar.respond_to_event", {"event_id": eid, "response": "accepted"}, "rule_violation")  # organizer
    ep.as_user(b["username"])
    refused(ep, "calendar.update_event", {"event_id": eid, "title": "Mine now"}, "permission_denied")
    refused(ep, "calendar.delete_event", {"event_id": eid}, "permission_denied")
    refused(ep, "calendar.respond_to_event", {"event_id": eid, "response": "maybe"}, "invalid_arguments")
    ok(ep, "calendar.respond_to_event", {"event_id": eid, "response": "declined", "comment": "On a customer call"})
    assert ep.query("SELECT response FROM cal_attendees a JOIN users u ON u.id = a.user_id WHERE a.event_id = ? "
                    "AND u.username = ?", eid, b["username"]) == [{"response": "declined"}]
    ep.as_user(c["username"])
    refused(ep, "calendar.respond_to_event", {"event_id": eid, "response": "accepted"}, "permission_denied")
    refused(ep, "calendar.get_event", {"event_id": eid}, "permission_denied")
    refused(ep, "calendar.list_events", {"user": a["username"]}, "permission_denied")
    refused(ep, "calendar.get_event", {"event_id": 999999}, "not_found")
    refused(ep, "calendar.list_events", {"time_min": "2026-03-01T00:00", "time_max": "2026-06-01T00:00"},
            "invalid_arguments")  # more than 62 days
