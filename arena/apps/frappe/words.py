"""Frappe HR seed vocabulary and fixed HR settings (leave policy, pay scale, shift types,
open positions). Data, not logic: seed.py and domain.py read it."""

# Annual leave policy: leave type -> days allocated per calendar year
LEAVE_POLICY = {"Casual Leave": 12, "Sick Leave": 10, "Privilege Leave": 18}
LEAVE_WITHOUT_PAY = "Leave Without Pay"  # no balance is kept for it

EXPENSE_TYPES = ["Travel", "Food", "Accommodation", "Medical", "Calls", "Software", "Training", "Others"]
EXPENSE_DESCRIPTIONS = {
    "Travel": ["Train to the Paris customer workshop", "Taxi to the airport", "Flight to the Lisbon offsite"],
    "Food": ["Team lunch after the release", "Dinner with the Globex delegation", "Client breakfast meeting"],
    "Accommodation": ["Hotel, two nights, Madrid conference", "Hotel near the Berlin office"],
    "Medical": ["Annual eye test", "Flu vaccination"],
    "Calls": ["Roaming charges during the customer visit", "Conference call dial-in"],
    "Software": ["JetBrains licence renewal", "Figma seat for the design sprint"],
    "Training": ["Kubernetes certification exam", "Online course: advanced SQL"],
    "Others": ["Ergonomic keyboard", "Office supplies for the workshop"],
}
ACTIVITY_TYPES = ["Development", "Code Review", "Planning", "Meeting", "Documentation", "Testing", "Support"]

SHIFT_TYPES = [("General Shift", "09:00", "17:00"), ("Morning Shift", "06:00", "14:00"),
               ("Evening Shift", "14:00", "22:00"), ("Night Shift", "22:00", "06:00")]

# monthly base pay (EUR) by designation; anything unlisted earns DEFAULT_BASE
BASE_PAY = {
    "Operations Manager": 7800, "Engineering Manager": 8200, "Staff Engineer": 8000,
    "Senior Software Engineer": 6900, "Software Engineer": 5400, "QA Engineer": 4700, "DevOps Engineer": 5800,
    "Product Manager": 6200, "Product Designer": 5100, "UX Researcher": 4900,
    "Account Executive": 5000, "Sales Development Rep": 3900, "Solutions Consultant": 5600,
    "Support Agent": 3400, "Senior Support Agent": 3900, "Support Engineer": 4600,
    "HR Generalist": 4200, "Recruiter": 4300, "People Partner": 5200,
    "Accountant": 4500, "Financial Analyst": 5200, "Billing Specialist": 3900,
    "Marketing Specialist": 4300, "Content Writer": 3800, "Growth Analyst": 4800,
    "Systems Administrator": 4900, "IT Support Specialist": 3700, "Network Engineer": 5300,
}
HEAD_BASE = 9000  # "Head of ..." designations
DEFAULT_BASE = 4500
# salary slip components, as shares of the base
HRA_SHARE = 0.20          # house rent allowance (earning)
INCOME_TAX_SHARE = 0.18   # deduction, of gross
SOCIAL_SECURITY_SHARE = 0.09  # deduction, of gross

# Open positions: (job title, department code, designation, required skills). Four or more
# required skills each, so applicants can be ranked by how many they have.
JOB_OPENINGS = [
    ("Senior Backend Engineer", "ENG", "Senior Software Engineer", "python,postgres,kafka,kubernetes"),
    ("DevOps Engineer", "ENG", "DevOps Engineer", "terraform,kubernetes,aws,observability"),
    ("Frontend Engineer", "ENG", "Software Engineer", "typescript,react,graphql,figma"),
    ("Data Engineer", "ENG", "Software Engineer", "python,spark,sql,kafka,aws"),
    ("Support Engineer", "SUP", "Support Engineer", "zendesk,sql,linux,customer-success"),
    ("Account Executive", "SAL", "Account Executive", "salesforce,negotiation,excel,customer-success"),
    ("Financial Analyst", "FIN", "Financial Analyst", "excel,accounting,sap,sql"),
    ("Network Engineer", "ITO", "Network Engineer", "networking,linux,security,bash"),
]
CLOSED_OPENINGS = {"Financial Analyst"}  # filled last quarter; still holds its applicants

APPLICANT_SUMMARIES = [
    "{years} years of experience as {role}, most recently at {company}.",
    "{role} with {years} years in fast-growing teams; currently at {company}.",
    "Hands-on {role} ({years} years), looking for a team with strong engineering culture. Now at {company}.",
]
EXPERIENCE_LINES = [
    "Led the migration of a monolith to services",
    "Owned on-call and cut incident volume by a third",
    "Built the internal reporting pipeline",
    "Mentored two junior colleagues",
    "Shipped a customer-facing feature used by 40k users",
    "Automated the quarterly close checklist",
]
LEAVE_REASONS = ["Family event", "Medical appointment", "Short holiday", "Moving flat", "Feeling unwell",
                 "Child care", "Wedding of a friend", "Personal errands"]
