"""Knowledge and utility requests: intranet policy look-ups answered in the final answer, shell and
file work in the agent's home folder, the asset inventory (document store), sharing a document."""
from __future__ import annotations

from arena.tasks.handwritten import FamilySpec, field, row, says

# (question, search query, page, accepted spellings of the answer)
POLICY_QUESTIONS = [
    ("How many days a week may employees work remotely after probation?", "remote work",
     "http://intranet/policies/remote-work-policy", ["3 days", "three days"]),
    ("What is the hotel limit per night in the travel policy?", "hotel per night",
     "http://intranet/policies/travel-policy", ["180"]),
    ("Above which amount does an expense claim need the manager's approval before finance pays it?",
     "expense claim approval", "http://intranet/policies/expense-policy", ["500"]),
    ("How many days of Privilege Leave does an employee get per calendar year?", "leave allocation",
     "http://intranet/policies/leave-policy", ["18"]),
    ("What are the core collaboration hours for remote workers?", "core collaboration hours",
     "http://intranet/policies/remote-work-policy", ["10:00", "10 am", "10am"]),
    ("How many days ahead must travel be booked through the travel desk?", "travel desk booking",
     "http://intranet/policies/travel-policy", ["14 days", "fourteen days"]),
]


def intranet_policy(call, q, i):
    question, query, url, accepted = POLICY_QUESTIONS[i]
    call("browser.search_intranet", {"query": query})
    page = call("browser.browse", {"url": url})
    assert any(a.lower() in page["text"].lower() for a in accepted), (url, accepted)
    return {"intent": f"Check the company intranet: {question}", "category": "search_orchestration",
            "answer": f"According to {page['title']}: {accepted[0]}.",
            "checks": [{"type": "answer_matches_any", "values": accepted}]}


# (file, shell pipeline that counts, what is counted, report file)
SHELL = [("data/sales_q1.csv", "tail -n +2 data/sales_q1.csv | wc -l", "data rows (without the header)",
          "sales_q1_rows.txt"),
         ("logs/app-0001.log", "grep -c ERROR logs/app-0001.log", "lines containing ERROR", "app-0001_errors.txt"),
         ("logs/app-0002.log", "grep -c ERROR logs/app-0002.log", "lines containing ERROR", "app-0002_errors.txt"),
         ("data/exports/orders_0001.csv", "tail -n +2 data/exports/orders_0001.csv | wc -l",
          "data rows (without the header)", "orders_0001_rows.txt")]


def shell_report(call, q, i):
    src, cmd, what, report = SHELL[i]
    out = call("bash.run_command", {"command": cmd})
    n = out["stdout"].strip()
    if q("SELECT 1 FROM fs_files WHERE path = '/home/agent/reports'") == []:
        call("filesystem.create_directory", {"path": "/home/agent/reports"})
    path = f"/home/agent/reports/{report}"
    call("filesystem.write_file", {"path": path, "content": n})
    intent = (f"Using the shell in my home folder (/home/agent), count the {what} of {src}. Write just the "
              f"number (no newline) to {path}, creating the reports folder if needed, and tell me the number.")
    return {"intent": intent, "category": "crud", "answer": f"{src}: {n}",
            "checks": [row("fs_files", path=path, content=n)] + says(n)}


ASSETS = [("LT-00005", "in_stock"), ("LT-00012", "repair"), ("LT-00020", "retired")]


def asset_status(call, q, i):
    tag, status = ASSETS[i]
    found = call("docstore.find", {"collection": "assets", "filter": {"asset_tag": tag}})
    holder = (found["documents"][0].get("assigned_to") or {}).get("name", "nobody")
    call("docstore.update_one", {"collection": "assets", "filter": {"asset_tag": tag},
                                 "update": {"$set": {"status": status}}})
    intent = (f"In the asset inventory (document store collection 'assets'), set the status of asset {tag} to "
              f"'{status}' and tell me who it was assigned to.")
    probe = {"type": "probe", "tool": "docstore.find", "args": {"collection": "assets", "filter": {"asset_tag": tag}},
             "path": "documents.0.status", "equals": status}
    return {"intent": intent, "category": "crud", "answer": f"{tag} is now {status}; it was assigned to {holder}.",
            "checks": [probe] + says(holder)}


SHARES = [("/Shared/Company Policies/Expense Policy Summary.md", "clara.holm"),
          ("/Shared/Company Policies/Leave Policy Summary.md", "aiko.mendes"),
          ("/Shared/Company Policies/Brand Guidelines.md", "bruno.park")]


def share_document(call, q, i):
    path, user = SHARES[i]
    name = path.rsplit("/", 1)[-1]
    call("owncloud.search_files", {"query": name.split(".")[0]})
    share = call("owncloud.share_file", {"path": path, "share_type": "user", "share_with": user})
    msg = f"I shared '{name}' with you in ownCloud."
    call("rocketchat.send_direct_message", {"username": user, "message": msg})
    file_id = q("SELECT id FROM oc_files WHERE path = ?", path)[0]["id"]
    uid = q("SELECT id FROM users WHERE username = ?", user)[0]["id"]
    intent = (f"Find '{name}' in ownCloud, share it read-only with {user}, and send them the chat direct message "
              f"\"{msg}\"")
    return {"intent": intent, "category": "cross_functional", "answer": f"Shared (share {share['share_id']}) and told {user}.",
            "checks": [row("oc_shares", file_id=file_id, share_type="user", share_with_id=uid),
                       row("chat_messages", text=msg)]}


FAMILIES = [FamilySpec("intranet_policy", intranet_policy, len(POLICY_QUESTIONS)),
            FamilySpec("shell_report", shell_report, len(SHELL)),
            FamilySpec("asset_status", asset_status, len(ASSETS)),
            FamilySpec("share_document", share_document, len(SHARES))]
