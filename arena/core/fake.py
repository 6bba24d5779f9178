"""Deterministic, realistic-looking seed vocabulary. Every generator takes the caller's
`random.Random` so that (seed, scale) fully determines the world."""
from __future__ import annotations

import random

FIRST = ["Ava", "Liam", "Maya", "Noah", "Zoe", "Ethan", "Isla", "Omar", "Lena", "Ravi", "Sofia", "Kenji",
         "Amara", "Lucas", "Priya", "Mateo", "Hana", "Jonas", "Chloe", "Diego", "Elif", "Felix", "Grace",
         "Hugo", "Ines", "Jamal", "Keira", "Leon", "Mina", "Nils", "Olga", "Pedro", "Quinn", "Rosa",
         "Samir", "Tara", "Umar", "Vera", "Wei", "Yara", "Aiko", "Bruno", "Clara", "Dev", "Emma", "Farah"]
LAST = ["Chen", "Okafor", "Schmidt", "Garcia", "Novak", "Patel", "Kim", "Rossi", "Haddad", "Silva",
        "Nakamura", "Johansson", "Dubois", "Kowalski", "Ibrahim", "Murphy", "Costa", "Yilmaz", "Singh",
        "Andersen", "Moreau", "Tanaka", "Fischer", "Lopez", "Weber", "Ahmed", "Park", "Meyer", "Reyes",
        "Bauer", "Nguyen", "Ortiz", "Larsen", "Shah", "Varga", "Brennan", "Adeyemi", "Holm", "Mendes"]
DEPARTMENTS = [
    ("Engineering", "ENG"), ("Product", "PRD"), ("Sales", "SAL"), ("Customer Support", "SUP"),
    ("Human Resources", "HR"), ("Finance", "FIN"), ("Marketing", "MKT"), ("IT Operations", "ITO"),
]
DESIGNATIONS = {
    "ENG": ["Software Engineer", "Senior Software Engineer", "Staff Engineer", "QA Engineer", "DevOps Engineer"],
    "PRD": ["Product Manager", "Product Designer", "UX Researcher"],
    "SAL": ["Account Executive", "Sales Development Rep", "Solutions Consultant"],
    "SUP": ["Support Agent", "Senior Support Agent", "Support Engineer"],
    "HR": ["HR Generalist", "Recruiter", "People Partner"],
    "FIN": ["Accountant", "Financial Analyst", "Billing Specialist"],
    "MKT": ["Marketing Specialist", "Content Writer", "Growth Analyst"],
    "ITO": ["Systems Administrator", "IT Support Specialist", "Network Engineer"],
}
SKILLS = ["python", "go", "rust", "java", "typescript", "react", "kubernetes", "terraform", "aws", "gcp",
          "sql", "postgres", "kafka", "spark", "ml", "pytorch", "security", "networking", "linux", "ci/cd",
          "figma", "salesforce", "negotiation", "accounting", "excel", "sap", "recruiting", "copywriting",
          "seo", "customer-success", "zendesk", "itil", "bash", "docker", "graphql", "observability"]
COMPANIES = ["Northwind Traders", "Globex Systems", "Initech Labs", "Umbrella Health", "Stark Logistics",
             "Wayne Biotech", "Acme Robotics", "Hooli Cloud", "Vandelay Imports", "Soylent Foods",
             "Cyberdyne Analytics", "Tyrell Devices", "Gringotts Finance", "Wonka Confectionery",
             "Pied Piper Media", "Aperture Optics", "Oscorp Materials", "Monarch Energy", "Blue Sun Retail",
             "Massive Dynamic", "Nakatomi Trading", "Duff Beverages", "Sirius Cybernetics", "Zorg Industries"]
CITIES = [("Berlin", "DE", "10115"), ("Paris", "FR", "75001"), ("Madrid", "ES", "28001"), ("Austin", "US", "73301"),
          ("Toronto", "CA", "M5H"), ("Lisbon", "PT", "1100"), ("Warsaw", "PL", "00-001"), ("Osaka", "JP", "530-0001"),
          ("Dublin", "IE", "D01"), ("Oslo", "NO", "0150"), ("Nairobi", "KE", "00100"), ("Pune", "IN", "411001")]
PRODUCT_WORDS = ["Cloud", "Edge", "Insight", "Secure", "Flow", "Pulse", "Vault", "Sync", "Atlas", "Beacon",
                 "Nimbus", "Quantum", "Relay", "Summit", "Vector", "Harbor", "Orbit", "Prism", "Forge", "Lumen"]
PRODUCT_KINDS = ["License", "Support Plan", "Gateway", "Analytics Suite", "Backup", "Sensor Kit", "Consulting Day",
                 "Training Seat", "API Quota", "Storage Pack"]
TOPIC_NOUNS = ["login page", "billing export", "search index", "payment webhook", "mobile app", "VPN access",
               "SSO integration", "report scheduler", "data pipeline", "email notifications", "API rate limit",
               "dashboard", "CSV import", "audit log", "user onboarding", "invoice PDF", "cache layer",
               "deployment script", "password reset", "calendar sync", "file upload", "permissions model"]
TOPIC_PROBLEMS = ["times out", "returns 500 errors", "is slow under load", "shows stale data", "crashes on empty input",
                  "rejects valid users", "leaks memory", "double-sends messages", "loses attachments",
                  "needs a redesign", "lacks tests", "has a flaky test", "misreports totals", "ignores time zones"]
VERBS = ["Improve", "Fix", "Refactor", "Document", "Migrate", "Add monitoring for", "Speed up", "Harden",
         "Automate", "Review", "Clean up", "Redesign"]


def person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST), rng.choice(LAST)


def topic(rng: random.Random) -> str:
    return f"{rng.choice(TOPIC_NOUNS)} {rng.choice(TOPIC_PROBLEMS)}"


def task_title(rng: random.Random) -> str:
    return f"{rng.choice(VERBS)} {rng.choice(TOPIC_NOUNS)}"


def sentence(rng: random.Random) -> str:
    noun = rng.choice(TOPIC_NOUNS)
    return rng.choice([
        f"The {noun} {rng.choice(TOPIC_PROBLEMS)} since the last release.",
        f"Customers asked us to look at the {noun} again.",
        f"We should {rng.choice(VERBS).lower()} the {noun} before the end of the quarter.",
        f"Please check the {noun} logs and report back.",
        f"The {noun} change was reviewed and approved.",
        f"Next step: {rng.choice(VERBS).lower()} the {noun}.",
    ])


def paragraph(rng: random.Random, n: int = 3) -> str:
    return " ".join(sentence(rng) for _ in range(n))


def product_name(rng: random.Random) -> str:
    return f"{rng.choice(PRODUCT_WORDS)} {rng.choice(PRODUCT_KINDS)}"


def slug(text: str) -> str:
    out = "".join(ch.lower() if ch.isalnum() else "-" for ch in text)
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-")
