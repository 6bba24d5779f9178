"""Operations requests: helpdesk ticket triage (Zammad), escalating a ticket to engineering
(Zammad → GitLab), sprint planning (Plane)."""
from __future__ import annotations

from arena.tasks.handwritten import FamilySpec, count, field, row, says

# ticket number, priority to set, agent to own it
TRIAGE = [("31002", "3 high", "wei.tanaka"), ("31003", "2 normal", "lucas.tanaka"),
          ("31005", "3 high", "samir.haddad"), ("31006", "1 low", "isla.meyer")]


def ticket_triage(call, q, i):
    number, prio, owner = TRIAGE[i]
    t = q("SELECT id, title FROM zm_tickets WHERE number = ?", number)
    if not t:
        return None
    found = call("zammad.zammad_search_tickets", {"query": number})
    tid = found["tickets"][0]["id"] if "tickets" in found else t[0]["id"]
    call("zammad.zammad_update_ticket", {"ticket_id": tid, "group": "Support L2", "priority": prio,
                                         "owner": owner, "state": "open"})
    call("zammad.zammad_add_ticket_tag", {"ticket_id": tid, "tag": "triaged"})
    intent = (f"Triage helpdesk ticket #{number} ('{t[0]['title']}') in Zammad: move it to the 'Support L2' "
              f"group, set priority '{prio}', assign it to {owner}, set it to open and tag it 'triaged'.")
    owner_id = q("SELECT id FROM zm_users WHERE login = ?", owner)[0]["id"]
    return {"intent": intent, "category": "crud", "answer": f"Ticket #{number} triaged.",
            "checks": [row("zm_tickets", number=number, priority=prio, state="open", owner_id=owner_id,
                           group_id=q("SELECT id FROM zm_groups WHERE name = 'Support L2'")[0]["id"]),
                       row("zm_tags", ticket_id=t[0]["id"], tag="triaged")]}


def ticket_to_issue(call, q, i):
    number = ["31002", "31003", "31005"][i]
    t = q("SELECT id, title FROM zm_tickets WHERE number = ?", number)[0]
    ticket = call("zammad.zammad_get_ticket", {"ticket_id": t["id"]})
    title = f"[Zammad #{number}] {ticket['title']}"
    issue = call("gitlab.create_issue", {"project_id": "acme/billing-service", "title": title,
                                         "labels": ["customer-report"]})
    body = f"Escalated to engineering as GitLab issue #{issue['iid']}."
    call("zammad.zammad_add_article", {"ticket_id": t["id"], "body": body, "internal": True})
    intent = (f"Customer ticket #{number} in Zammad is a product bug. Open a GitLab issue in acme/billing-service "
              f"titled '[Zammad #{number}] <the ticket's title>' with the label 'customer-report', then add an "
              f"internal note to the ticket saying exactly 'Escalated to engineering as GitLab issue #<iid>.' "
              f"with the new issue's number.")
    return {"intent": intent, "category": "cross_functional", "answer": f"GitLab issue #{issue['iid']} opened.",
            "checks": [row("gl_issues", project_id=1, title=title, state="opened"),
                       row("zm_articles", ticket_id=t["id"], body=body, internal=1)] + says(issue["iid"])}


# project identifier, sprint name, start, end, priority pulled in
SPRINTS = [("WEB", "Sprint 4", "2026-03-23", "2026-04-05", "urgent"),
           ("MOB", "Sprint 4", "2026-03-23", "2026-04-05", "high"),
           ("ITH", "Sprint 4", "2026-03-23", "2026-04-05", "high")]


def sprint_planning(call, q, i):
    ident, name, start, end, prio = SPRINTS[i]
    call("plane.list_cycles", {"project_id": ident})
    cycle = call("plane.create_cycle", {"project_id": ident, "name": name, "start_date": start, "end_date": end})
    issues = call("plane.list_project_issues", {"project_id": ident, "priority": prio})["issues"]
    if not issues:
        return None
    ids = [str(x["id"]) for x in issues]
    call("plane.add_cycle_issues", {"project_id": ident, "cycle_id": str(cycle["id"]), "issues": ",".join(ids)})
    pid = q("SELECT id FROM pl_projects WHERE identifier = ?", ident)[0]["id"]
    intent = (f"Plan the next sprint in Plane project {ident}: create cycle '{name}' from {start} to {end} and "
              f"add every issue with priority '{prio}' to it. Tell me which issues you added (identifiers).")
    checks = [row("pl_cycles", project_id=pid, name=name, start_date=start, end_date=end),
              count("pl_cycle_issues", {"cycle_id": cycle["id"]}, "==", len(ids))]
    checks += [row("pl_cycle_issues", cycle_id=cycle["id"], issue_id=int(x)) for x in ids]
    return {"intent": intent, "category": "multi_entity",
            "answer": "Added " + ", ".join(x["identifier"] for x in issues) + f" to {name}.",
            "checks": checks + says(*[x["identifier"] for x in issues])}



FAMILIES = [FamilySpec("ticket_triage", ticket_triage, len(TRIAGE)),
            FamilySpec("ticket_to_issue", ticket_to_issue, 3),
            FamilySpec("sprint_planning", sprint_planning, len(SPRINTS))]
