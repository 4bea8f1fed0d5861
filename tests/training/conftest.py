"""Shared fixtures for the model tests: the guidance floor and a small generated sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.generate import generate, guidance_floor_fn

ROOT = Path(__file__).resolve().parents[2]
THRESHOLDS = ROOT / "config" / "thresholds.yaml"


@pytest.fixture(scope="session")
def floor_fn():
    return guidance_floor_fn(THRESHOLDS)


@pytest.fixture(scope="session")
def sample(floor_fn) -> list[dict]:
    return list(generate(1500, seed=11, floor_fn=floor_fn))
