"""Fixtures for arena tests: one full world (all 15 apps, small scale) per session."""
from __future__ import annotations

import pytest

from arena.core.registry import load_apps
from arena.core.world import World


@pytest.fixture(scope="session")
def full_world() -> World:
    world = World(load_apps(), seed=0, scale="small")
    world.image  # build once for the session
    return world
