"""Seed vocabulary for Plane: project names, labels, issue types, modules."""
from __future__ import annotations

# (name, identifier, department code that owns it)
PROJECTS = [("Website Revamp", "WEB", "ENG"), ("Mobile App", "MOB", "ENG"), ("IT Helpdesk Automation", "ITH", "ITO"),
            ("Data Platform", "DATA", "ENG"), ("Billing Service", "BILL", "FIN"), ("Customer Portal", "PORT", "PRD"),
            ("Security Hardening", "SEC", "ITO"), ("Marketing Site", "MKT", "MKT"), ("Onboarding Flow", "ONB", "HR"),
            ("Sales Enablement", "SALE", "SAL"), ("Support Tooling", "SUP", "SUP"), ("Internal Tools", "TOOL", "ENG")]
LABELS = [("bug", "#E5484D"), ("feature", "#3A86FF"), ("improvement", "#46A758"), ("documentation", "#8E4EC6"),
          ("security", "#F76B15"), ("tech-debt", "#9AA4BC")]
ISSUE_TYPES = [("Bug", "Something is broken"), ("Feature", "New user-facing capability")]
MODULES = ["Authentication", "Reporting", "Integrations", "Performance", "Onboarding", "Notifications", "Payments",
           "Search", "Admin Console", "Data Export"]
COMMENTS = ["<p>I can reproduce this on staging.</p>", "<p>Fix is in review, should land this sprint.</p>",
            "<p>Blocked on the API change from the platform team.</p>", "<p>Added logs, will check tomorrow.</p>",
            "<p>Customer confirmed the workaround helps.</p>", "<p>Split the remaining work into a follow-up.</p>"]
WORKLOG_NOTES = ["Investigation", "Implementation", "Code review", "Testing", "Pairing session", "Deployment"]
