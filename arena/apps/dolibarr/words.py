"""Seed vocabulary of Dolibarr: company names beyond core's list, a product catalogue, project titles."""
from __future__ import annotations

import random

from arena.core import fake

NAME_HEADS = ["Alpine", "Baltic", "Cobalt", "Delta", "Ember", "Fjord", "Granite", "Helix", "Iris", "Juniper",
              "Kestrel", "Lumen", "Meridian", "Nordic", "Onyx", "Pioneer", "Quarry", "Riverside", "Sable", "Tundra",
              "Union", "Verdant", "Willow", "Xenon", "Yellowstone", "Zenith", "Harbor", "Crescent", "Silverline",
              "Bright", "Evergreen", "Redwood", "Northgate", "Eastbay", "Summit", "Clearwater", "Ironwood", "Maple",
              "Sterling", "Oakridge"]
NAME_TAILS = ["Logistics", "Foods", "Pharma", "Textiles", "Engineering", "Consulting", "Retail", "Energy", "Media",
              "Software", "Hotels", "Motors", "Construction", "Insurance", "Telecom", "Dental", "Architects",
              "Printing", "Security", "Farms"]
LEGAL_FORMS = ["SAS", "GmbH", "Ltd", "Inc", "BV", "SpA"]
STREETS = ["Rue de la Paix", "Hauptstrasse", "Calle Mayor", "Main Street", "King Street", "Avenida da Liberdade",
           "Ulica Prosta", "Dotonbori", "Grafton Street", "Karl Johans gate", "Kenyatta Avenue", "FC Road"]
SERVICE_KINDS = ["Consulting Day", "Training Seat", "Support Plan", "Installation", "Audit", "Maintenance Contract"]
PROJECT_KINDS = ["Rollout", "Migration", "Pilot", "Integration", "Upgrade", "Audit", "Onboarding", "Redesign"]
TASKS = ["Analysis", "Development", "Testing", "Meetings", "Documentation", "Deployment", "Support", "Training"]


def company_names(rng: random.Random, n: int) -> list[str]:
    """n distinct company names, core's famous ones first."""
    pool = list(fake.COMPANIES)
    extra = [f"{h} {t}" for h in NAME_HEADS for t in NAME_TAILS]
    rng.shuffle(extra)
    pool += extra
    if n > len(pool):
        pool += [f"{name} {form}" for form in LEGAL_FORMS for name in extra]
    unique = list(dict.fromkeys(pool))  # generated names may repeat a famous one ("Monarch Energy")
    return unique[:n]


def address(rng: random.Random) -> tuple[str, str, str, str]:
    """(street address, zip, town, country code)."""
    town, country, zip_code = rng.choice(fake.CITIES)
    return f"{rng.randint(1, 180)} {rng.choice(STREETS)}", zip_code, town, country


def catalogue(rng: random.Random, n: int) -> list[tuple[str, bool]]:
    """n distinct (label, is_service) items; past the word combinations, later generations (" Gen 2")."""
    items = [(f"{w} {kind}", False) for w in fake.PRODUCT_WORDS for kind in fake.PRODUCT_KINDS]
    items += [(f"{w} {kind}", True) for w in fake.PRODUCT_WORDS for kind in SERVICE_KINDS
              if kind not in fake.PRODUCT_KINDS]
    rng.shuffle(items)
    out = list(items)
    gen = 2
    while len(out) < n:
        out += [(f"{label} Gen {gen}", service) for label, service in items]
        gen += 1
    return out[:n]
