"""Intranet page content. Policy numbers agree with the HR app (Frappe): leave allocations per
year, who approves leave and expenses."""
LEAVE_DAYS = {"Casual Leave": 12, "Sick Leave": 10, "Privilege Leave": 18}
EXPENSE_RECEIPT_DAYS = 30
EXPENSE_MANAGER_APPROVAL_ABOVE_EUR = 500
PASSWORD_MIN_LENGTH = 14
LAPTOP_REPLACEMENT_YEARS = 4

POLICIES = {
    "leave-policy": ("Leave Policy", f"""
<h1>Leave Policy</h1>
<p>Effective 1 January 2026. Applies to all permanent employees of Acme Corp.</p>
<h2>Annual allocation</h2>
<table><tr><th>Leave type</th><th>Days per calendar year</th></tr>
<tr><td>Casual Leave</td><td>{LEAVE_DAYS['Casual Leave']}</td></tr>
<tr><td>Sick Leave</td><td>{LEAVE_DAYS['Sick Leave']}</td></tr>
<tr><td>Privilege Leave</td><td>{LEAVE_DAYS['Privilege Leave']}</td></tr></table>
<p>Leave Without Pay may be granted when the balance is used up; it needs HR's agreement.</p>
<h2>How to apply</h2>
<ul><li>Apply in Frappe HR before the leave starts (sick leave: on the first day).</li>
<li>Your leave approver is your manager. Nobody can approve their own leave.</li>
<li>A leave that would make your balance negative is rejected; request Leave Without Pay instead.</li>
<li>Approved leave appears in the team calendar automatically.</li></ul>
<p>See also the <a href="/policies/remote-work-policy">remote work policy</a> and the
<a href="/hr/holiday-calendar">holiday calendar</a>.</p>"""),
    "expense-policy": ("Expense Policy", f"""
<h1>Expense Policy</h1>
<p>Business expenses are reimbursed through expense claims in Frappe HR.</p>
<ul><li>Submit receipts within {EXPENSE_RECEIPT_DAYS} days of the expense.</li>
<li>Claims are approved by your manager, HR or finance &mdash; never by the claimant.</li>
<li>Claims above {EXPENSE_MANAGER_APPROVAL_ABOVE_EUR} EUR need your manager's approval before finance pays them.</li>
<li>Travel: economy class for flights under 6 hours; trains preferred under 4 hours.</li>
<li>Meals with customers: up to 60 EUR per person; alcohol is not reimbursed.</li></ul>
<p>Questions: <a href="/teams/finance">Finance team</a>.</p>"""),
    "security-policy": ("Information Security Policy", f"""
<h1>Information Security Policy</h1>
<h2>Accounts</h2>
<ul><li>Passwords have at least {PASSWORD_MIN_LENGTH} characters; multi-factor authentication is mandatory.</li>
<li>Never share credentials, not even with IT. IT will never ask for your password.</li></ul>
<h2>Devices</h2>
<ul><li>Laptops are encrypted and replaced every {LAPTOP_REPLACEMENT_YEARS} years.</li>
<li>Report a lost device to IT Operations within 24 hours.</li></ul>
<h2>Data</h2>
<ul><li>Confidential files are shared with ownCloud links that expire; never by e-mail attachment.</li>
<li>Report phishing to security@acme-corp.example.</li></ul>
<p>Related: <a href="/kb/report-a-phishing-e-mail">Report a phishing e-mail</a>.</p>"""),
    "remote-work-policy": ("Remote Work Policy", """
<h1>Remote Work Policy</h1>
<p>Employees may work remotely up to 3 days a week after their probation period.</p>
<p>Core collaboration hours are 10:00&ndash;15:00 in the team's time zone.</p>
<p>Working from another country for more than 20 days a year needs HR approval.</p>"""),
    "travel-policy": ("Travel Policy", """
<h1>Travel Policy</h1>
<p>Book travel through the travel desk at least 14 days ahead. Hotels up to 180 EUR per night.</p>
<p>Expenses follow the <a href="/policies/expense-policy">expense policy</a>.</p>"""),
    "code-of-conduct": ("Code of Conduct", """
<h1>Code of Conduct</h1>
<p>We treat colleagues, customers and partners with respect. Harassment is never tolerated.</p>
<p>Report concerns to HR or anonymously through the ethics hotline.</p>"""),
}

ONBOARDING = f"""
<h1>Onboarding Guide</h1>
<p>Welcome to Acme Corp! Your first week, step by step.</p>
<h2>Day 1</h2>
<ol><li>Collect your laptop from IT Operations (it is already assigned to you in the asset inventory).</li>
<li>Set up multi-factor authentication (see the <a href="/policies/security-policy">security policy</a>).</li>
<li>Join #general in Rocket.Chat and introduce yourself.</li></ol>
<h2>Week 1</h2>
<ul><li>Read the <a href="/policies/leave-policy">leave policy</a> and the <a href="/policies/expense-policy">expense policy</a>.</li>
<li>Meet your manager and agree on your first goals.</li>
<li>Find your team page under <a href="/teams">Teams</a>.</li></ul>
<p>You have {LEAVE_DAYS['Casual Leave']} days of casual leave, {LEAVE_DAYS['Sick Leave']} days of sick leave and
{LEAVE_DAYS['Privilege Leave']} days of privilege leave per year.</p>"""

HOLIDAYS = [("2026-01-01", "New Year's Day"), ("2026-04-03", "Good Friday"), ("2026-04-06", "Easter Monday"),
            ("2026-05-01", "Labour Day"), ("2026-10-03", "Day of German Unity"), ("2026-12-25", "Christmas Day"),
            ("2026-12-26", "Boxing Day")]

ANNOUNCEMENT_KINDS = [
    ("Office closure", "The {city} office is closed on {date} for maintenance. Please work from home."),
    ("Welcome", "Please welcome our new colleagues joining {dept} this month."),
    ("Town hall", "The quarterly town hall takes place on {date}; questions can be sent in advance to HR."),
    ("Security notice", "A phishing campaign targets {dept}. Never enter your password after clicking an e-mail link."),
    ("Release", "{product} {version} is live. Release notes are in the wiki."),
    ("Benefits", "Open enrolment for health benefits ends on {date}."),
]
