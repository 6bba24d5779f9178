"""Mail: one mailbox per employee (address = users.email), the folders INBOX, Sent, Archive and
Trash, threads, read flags. Tools follow the common mail MCP servers / IMAP+SMTP verbs
(send_email, list_emails, read_email, search_emails, reply_email, forward_email, move_email, ...).
Other apps send mail with `ctx.emit("mail.send", sender_id=..., to=[...], subject=..., body=...)`."""
from arena.apps.mail.schema import SCHEMA
from arena.core.app import App

app = App("mail", title="Mail", domain="Communication", schema=SCHEMA,
          description="Company e-mail: mailboxes, folders, threads, search; the delivery path other apps use.")

from arena.apps.mail import delivery, seed, tools  # noqa: E402,F401  (registers tools, handlers, seeders)
