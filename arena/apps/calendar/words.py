"""Calendar seed vocabulary: meeting titles, rooms, and each office's time zone."""

MEETING_TITLES = ["Sprint planning", "Design review: {topic}", "Customer call: {company}", "Budget review",
                  "Retro", "Roadmap sync", "Incident review: {topic}", "Interview debrief", "Quarterly planning",
                  "Architecture review: {topic}", "Vendor demo: {company}", "Team sync", "Hiring sync"]
ROOMS = ["Room Ada (3rd floor)", "Room Turing (2nd floor)", "Room Hopper (4th floor)", "Video call",
         "Room Lovelace (ground floor)", "Video call", "Cafeteria corner"]
CITY_TIMEZONES = {"Berlin": "Europe/Berlin", "Paris": "Europe/Paris", "Madrid": "Europe/Madrid",
                  "Austin": "America/Chicago", "Toronto": "America/Toronto", "Lisbon": "Europe/Lisbon",
                  "Warsaw": "Europe/Warsaw", "Osaka": "Asia/Tokyo", "Dublin": "Europe/Dublin", "Oslo": "Europe/Oslo",
                  "Nairobi": "Africa/Nairobi", "Pune": "Asia/Kolkata"}
DEFAULT_TIMEZONE = "Europe/Berlin"
OUT_OF_OFFICE_TITLE = "Out of office"
