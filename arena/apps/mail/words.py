"""Seed vocabulary for mail: subjects and bodies that read like a company's everyday mail."""
from __future__ import annotations

import random

from arena.core import fake

SUBJECTS = [
    "Status update: {topic}", "Question about the {noun}", "Meeting notes – {noun}", "Action needed: {noun}",
    "Quick sync on {noun}?", "Customer feedback on the {noun}", "Plan for next sprint: {noun}",
    "FYI: {topic}", "Review request: {noun}", "Budget approval for {noun}",
]
GREETINGS = ["Hi {first},", "Hello {first},", "Dear {first},", "Hey {first},"]
CLOSINGS = ["Best regards,", "Thanks,", "Cheers,", "Kind regards,"]


def subject(rng: random.Random) -> str:
    return rng.choice(SUBJECTS).format(topic=fake.topic(rng), noun=rng.choice(fake.TOPIC_NOUNS))


def body(rng: random.Random, to_first: str, from_name: str) -> str:
    return (f"{rng.choice(GREETINGS).format(first=to_first)}\n\n{fake.paragraph(rng, rng.randint(2, 4))}\n\n"
            f"{rng.choice(CLOSINGS)}\n{from_name}")
