"""Seed vocabulary of Salesforce: account names, contact titles, deal and case wording."""
from __future__ import annotations

import random

from arena.core import fake

NAME_HEADS = ["Apex", "Brightwave", "Cascade", "Dynamo", "Everest", "Falcon", "Glacier", "Horizon", "Ignite", "Jetstream",
              "Keystone", "Lighthouse", "Momentum", "Nova", "Orion", "Pinnacle", "Quantum", "Radiant", "Sequoia",
              "Trident", "Vanguard", "Westwind", "Zephyr", "Atlas", "Beacon", "Catalyst", "Frontier", "Ironclad",
              "Monarch", "Sapphire"]
NAME_TAILS = ["Holdings", "Group", "Partners", "Industries", "Solutions", "Networks", "Healthcare", "Capital", "Foods",
              "Mobility", "Materials", "Robotics", "Outfitters", "Labs", "Systems", "Energy", "Logistics", "Studios"]
TITLES = ["CTO", "CIO", "VP Engineering", "Head of Procurement", "IT Manager", "Purchasing Lead", "CFO", "COO",
          "Director of Operations", "Data Platform Lead", "Security Officer", "Office Manager"]
DEAL_KINDS = ["Platform Expansion", "Renewal", "Pilot", "Enterprise License", "Support Upgrade", "Migration",
              "Analytics Add-on", "Multi-year Agreement", "Seat Expansion", "Onboarding Package"]
CASE_SUBJECTS = ["Cannot log in after password reset", "Invoice amount looks wrong", "Export to CSV fails",
                 "Request for additional licenses", "Integration returns 401", "Slow dashboard loading",
                 "Data missing after migration", "Need training session", "SSO configuration help",
                 "Billing address change", "API rate limit reached", "Feature request: bulk edit"]


def account_names(rng: random.Random, n: int) -> list[str]:
    """n distinct account names: core's famous companies first, then generated ones."""
    pool = list(fake.COMPANIES)
    extra = [f"{h} {t}" for h in NAME_HEADS for t in NAME_TAILS]
    rng.shuffle(extra)
    pool += extra
    if n > len(pool):
        pool += [f"{name} International" for name in extra] + [f"{name} Europe" for name in extra]
    unique = list(dict.fromkeys(pool))  # generated names may repeat a famous one ("Monarch Energy")
    return unique[:n]
