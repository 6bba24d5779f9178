"""Seed vocabulary of the document store: hardware models, feedback phrasing, knowledge-base topics."""
LAPTOPS = [("Dell", "Latitude 7440", 1450), ("Lenovo", "ThinkPad T14 Gen 4", 1380), ("Apple", "MacBook Pro 14 M3", 2199),
           ("HP", "EliteBook 840 G10", 1320), ("Apple", "MacBook Air 13 M2", 1299)]
MONITORS = [("Dell", "U2723QE 27\"", 579), ("LG", "27UP850-W", 449), ("Samsung", "ViewFinity S8 32\"", 699)]
PHONES = [("Apple", "iPhone 15", 799), ("Google", "Pixel 8", 699), ("Samsung", "Galaxy S23", 749)]
PERIPHERALS = [("Logitech", "MX Keys", "keyboard", 109), ("Logitech", "MX Master 3S", "mouse", 99),
               ("Jabra", "Evolve2 65", "headset", 229), ("Anker", "USB-C Dock 13-in-1", "dock", 249)]
FEEDBACK_CHANNELS = ["email", "survey", "support_ticket", "app_store", "sales_call"]
FEEDBACK_POSITIVE = ["Setup took ten minutes and the onboarding guide was clear.",
                     "Support answered within the hour and fixed our issue.",
                     "The new dashboard saves our team hours every week.",
                     "Reliable for months now, no outages we noticed."]
FEEDBACK_NEGATIVE = ["The export keeps timing out for large accounts.",
                     "Billing charged us twice this month and nobody replied yet.",
                     "Login via SSO fails every Monday morning.",
                     "The mobile app crashes when uploading attachments."]
FEEDBACK_NEUTRAL = ["Works as expected, but the documentation could be more detailed.",
                    "Pricing is fine; we would like a yearly plan option.",
                    "Please add a dark mode to the web app."]
KB_CATEGORIES = ["how-to", "troubleshooting", "policy", "faq"]
KB_TOPICS = [("Reset your password", "Open https://intranet/account, choose 'Forgot password' and follow the e-mail link. "
              "The link expires after 30 minutes."),
             ("Connect to the VPN", "Install the WireGuard client, import the profile from the IT portal and connect "
              "before opening internal sites."),
             ("Request a new laptop", "Laptops are replaced every 4 years. Open an IT ticket with your asset tag; "
              "your manager approves the request."),
             ("Set up multi-factor authentication", "Enrol an authenticator app under Account > Security. "
              "Hardware keys are available from IT Operations."),
             ("Book a meeting room", "Use the calendar app, add the room as a guest; rooms free up after 10 minutes "
              "if nobody checks in."),
             ("Submit an expense claim", "Upload receipts within 30 days; claims above 500 EUR need your manager's "
              "approval before finance pays them."),
             ("Fix printer not found", "Re-add the printer from the print server and check that you are on the "
              "office Wi-Fi, not guest."),
             ("Share files with a customer", "Use an ownCloud public link with an expiry date; never attach "
              "confidential files to e-mail."),
             ("Restore a deleted file", "ownCloud keeps earlier versions; open the file's versions tab or ask IT "
              "within 30 days."),
             ("Report a phishing e-mail", "Forward it as an attachment to security@acme-corp.example and delete it.")]
