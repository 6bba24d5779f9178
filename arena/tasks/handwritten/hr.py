"""HR requests: recruitment shortlist, leave approval with a calendar block, expense claims,
onboarding a new hire (Frappe HR, ownCloud, calendar, mail, chat)."""
from __future__ import annotations

import re

from arena.tasks.handwritten import FamilySpec, field, row, says

OPENINGS = ["HR-OPN-2026-0001", "HR-OPN-2026-0002", "HR-OPN-2026-0003", "HR-OPN-2026-0004", "HR-OPN-2026-0005"]


def recruitment(call, q, i):
    """The published example: JD from ownCloud, applicants from HR, top three by required skills,
    shortlist e-mailed to the hiring manager."""
    oid = OPENINGS[i]
    opening = call("frappe.get_job_opening_details", {"job_opening_id": oid})
    title = opening["job_title"]
    found = call("owncloud.search_files", {"query": oid, "path": "/HR"})
    jd = call("owncloud.read_file_content", {"remote_path": found["results"][0]["path"]})
    section = jd.get("content", "").split("## Required skills", 1)[-1].split("\n## ", 1)[0]
    required = [s.strip().lower() for s in re.findall(r"^[-*]\s*(.+)$", section, re.M)]
    applicants = call("frappe.get_job_applicants", {"job_opening": oid, "status": "Open", "limit": 50})["job_applicants"]
    ranked = sorted(applicants, key=lambda a: (-len(set(a.get("skills") or []) & set(required)), a["applicant_id"]))
    top = [a["applicant_name"] for a in ranked[:3]]
    manager = call("frappe.get_employee", {"employee_id": opening["hiring_manager"]})
    subject = f"Interview shortlist: {title}"
    call("mail.send_email", {"to": [manager["company_email"]], "subject": subject,
                             "body": f"Hi {manager['first_name']}, please interview: {', '.join(top)}."})
    mgr_id = q("SELECT id FROM users WHERE username = ?", manager["user_id"])[0]["id"]
    intent = (f"Read the job description of the {title} opening ({oid}) in ownCloud, fetch its open "
              f"applicants from Frappe HR and pick the top three by how many of the required skills they "
              f"have (ties: lower applicant id first). E-mail the hiring manager with the subject "
              f"'{subject}' naming the three, and tell me who they are.")
    return {"intent": intent, "category": "cross_functional",
            "answer": f"Shortlist sent to {manager['employee_name'] if 'employee_name' in manager else manager['first_name']}: {', '.join(top)}.",
            "checks": [row("mail_messages", owner_id=mgr_id, subject=subject, folder="INBOX")] + says(*top)}


# employees who report to jordan.lee (the acting admin), so the approval is legitimate
LEAVES = [("zoe.murphy", "Casual Leave", "2026-05-04", "2026-05-05"),
          ("omar.park", "Privilege Leave", "2026-06-15", "2026-06-19"),
          ("wei.tanaka", "Casual Leave", "2026-04-20", "2026-04-20"),
          ("lena.schmidt", "Privilege Leave", "2026-07-06", "2026-07-10")]


def leave_with_calendar(call, q, i):
    user, kind, start, end = LEAVES[i]
    u = q("SELECT id, full_name, employee_id FROM users WHERE username = ?", user)[0]
    applied = call("frappe.apply_leave", {"employee_id": u["employee_id"], "leave_type": kind,
                                          "from_date": start, "to_date": end, "reason": "planned time off"})
    call("frappe.approve_leave", {"leave_application_id": applied["leave_application_id"]})
    title = f"Cover for {u['full_name']}"
    call("calendar.create_event", {"title": title, "start": f"{start}T09:00", "end": f"{end}T17:00"})
    intent = (f"{u['full_name']} asked for {kind} from {start} to {end}. File the leave application in "
              f"Frappe HR on their behalf, approve it, and block the time in my calendar (I stand in for them) "
              f"with an event '{title}' from 09:00 on {start} to 17:00 on {end}.")
    return {"intent": intent, "category": "multi_entity", "answer": f"{kind} for {u['full_name']} approved and blocked.",
            "checks": [row("hr_leave_applications", employee_id=u["id"], from_date=start, to_date=end, status="Approved"),
                       row("cal_events", title=title, start_at=f"{start}T09:00:00", end_at=f"{end}T17:00:00")]}


def expense_claims(call, q, i):
    """Approve a submitted claim within the policy limit, reject one above it."""
    claims = q("SELECT c.name, c.amount, c.expense_type, u.full_name FROM hr_expense_claims c "
               "JOIN users u ON u.id = c.employee_id WHERE c.status = 'Submitted' ORDER BY c.id")
    if i >= len(claims):
        return None
    c = claims[i]
    limit = 300.0
    call("frappe.get_expense_claims", {"status": "Submitted"})
    if c["amount"] <= limit:
        call("frappe.approve_expense_claim", {"expense_claim_id": c["name"], "remarks": "within policy"})
        verdict = "Approved"
    else:
        call("frappe.reject_expense_claim", {"expense_claim_id": c["name"], "remarks": "above the 300 limit"})
        verdict = "Rejected"
    intent = (f"Look at the submitted expense claims in Frappe HR. The {c['expense_type']} claim of "
              f"{c['full_name']}: approve it if it is at most 300, otherwise reject it with a remark. "
              f"Tell me the amount and what you decided.")
    return {"intent": intent, "category": "crud", "answer": f"{c['name']}: {c['amount']} → {verdict}",
            "checks": [field("hr_expense_claims", {"name": c["name"]}, "status", verdict)] + says(c["amount"])}


HIRES = [("Nadia", "Rahman", "Engineering", "Software Engineer", "engineering"),
         ("Tomas", "Berg", "Sales", "Account Executive", "sales"),
         ("Priya", "Iyer", "Finance", "Financial Analyst", "general")]


def onboarding(call, q, i):
    first, last, dept, title, channel = HIRES[i]
    emp = call("frappe.create_employee", {"first_name": first, "last_name": last, "department": dept,
                                          "designation": title, "date_of_joining": "2026-04-01"})
    call("calendar.create_event", {"title": f"Onboarding: {first} {last}", "start": "2026-04-01T09:00",
                                   "end": "2026-04-01T10:00"})
    call("rocketchat.join_channel", {"channel": channel})
    call("rocketchat.send_channel_message", {"channel": channel,
                                             "message": f"Please welcome {first} {last}, our new {title}!"})
    intent = (f"We hired {first} {last} as {title} in {dept}, starting 2026-04-01. Create the employee "
              f"record in Frappe HR, put a one-hour 'Onboarding: {first} {last}' event at 09:00 on their first "
              f"day in my calendar, and post 'Please welcome {first} {last}, our new {title}!' in the "
              f"#{channel} chat channel. Tell me the new employee id.")
    return {"intent": intent, "category": "cross_functional", "answer": f"Created {emp['employee_id']}.",
            "checks": [row("users", first_name=first, last_name=last, designation=title),
                       row("cal_events", title=f"Onboarding: {first} {last}"),
                       row("chat_messages", text=f"Please welcome {first} {last}, our new {title}!")]
            + says(emp["employee_id"])}


FAMILIES = [FamilySpec("recruitment", recruitment, len(OPENINGS)),
            FamilySpec("leave_with_calendar", leave_with_calendar, len(LEAVES)),
            FamilySpec("expense_claims", expense_claims, 5),
            FamilySpec("onboarding", onboarding, len(HIRES))]
