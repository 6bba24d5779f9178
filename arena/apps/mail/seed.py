"""Seed mail: conversations between colleagues (mostly within a department), some replies, read
flags and archived mail, so that inboxes look lived-in. Bulk inserts: large scale seeds in < 1 s."""
from __future__ import annotations

from arena.apps.mail import app, words


@app.seeder(order=40)
def seed_mail(ctx) -> None:
    rng = ctx.rng
    people = ctx.all("SELECT u.id, u.first_name, u.full_name, u.department_id AS dept, a.address "
                     "FROM users u JOIN mail_accounts a ON a.user_id = u.id WHERE u.status = 'active' ORDER BY u.id")
    if len(people) < 2:
        return
    by_dept: dict[int, list[dict]] = {}
    for p in people:
        by_dept.setdefault(p["dept"], []).append(p)
    next_id = (ctx.scalar("SELECT MAX(id) FROM mail_messages") or 0) + 1
    rows: list[tuple] = []
    sent: list[tuple[dict, list[dict], str, str, str]] = []  # sender, recipients, key, thread, subject
    n_mails = 15 * ctx.k
    for n in range(n_mails):
        day, hour, minute = 1 + n * 27 // n_mails, 8 + n % 10, (n * 7) % 60
        at = f"2026-02-{day:02d}T{hour:02d}:{minute:02d}:00"
        parent = sent[rng.randrange(len(sent))] if sent and rng.random() < 0.3 else None
        if parent is not None:  # a recipient answers the original sender
            sender = rng.choice(parent[1])
            to = [parent[0]]
            subject, thread, in_reply_to = f"Re: {parent[4]}", parent[3], parent[2]
        else:
            # the default actor (user 1, first by id) is in every fourth conversation: tasks start there
            sender = people[0] if n % 8 == 0 else rng.choice(people)
            pool = by_dept[sender["dept"]] if rng.random() < 0.7 and len(by_dept[sender["dept"]]) > 1 else people
            to = [p for p in rng.sample(pool, min(len(pool), rng.randint(1, 3))) if p["id"] != sender["id"]]
            if n % 8 == 4 and sender["id"] != people[0]["id"] and people[0] not in to:
                to.append(people[0])
            if not to:
                continue
            subject, thread, in_reply_to = words.subject(rng), None, None
        key = f"<{next_id}.{sender['address'].split('@')[0]}@acme-corp.example>"
        thread = thread or key
        body = words.body(rng, to[0]["first_name"], sender["full_name"])
        recipients = ", ".join(p["address"] for p in to)
        rows.append((next_id, sender["id"], "Sent", key, thread, in_reply_to, sender["id"], sender["address"],
                     recipients, subject, body, 1, at))
        next_id += 1
        for p in to:
            r = rng.random()
            folder, read = ("Archive", 1) if r < 0.1 else ("Trash", 1) if r < 0.13 else ("INBOX", int(r < 0.6))
            rows.append((next_id, p["id"], folder, key, thread, in_reply_to, sender["id"], sender["address"],
                         recipients, subject, body, read, at))
            next_id += 1
        sent.append((sender, to, key, thread, subject.removeprefix("Re: ")))
    ctx.db.executemany(
        "INSERT INTO mail_messages (id, owner_id, folder, message_key, thread_key, in_reply_to, sender_id, "
        "sender_address, recipients, subject, body, is_read, sent_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
