"""Calendar (Google Calendar / CalDAV style): one calendar per person, events with attendees and
invitations, free/busy and free-slot search. Approved leave from Frappe HR (`leave.approved`)
blocks the employee's calendar with an "Out of office" event."""
from arena.apps.calendar.schema import SCHEMA
from arena.core.app import App

app = App("calendar", title="Calendar", domain="Human resources", schema=SCHEMA,
          description="Calendars, meetings, invitations, free/busy; out-of-office from approved leave.")

from arena.apps.calendar import seed, tools  # noqa: E402,F401  (registers tools and seeders on `app`)
