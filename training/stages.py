"""The two-stage data: each contact encoded for screening and after checks, with both labels.

Shared by training and evaluation so the two can never encode differently; the encoding itself is
``triage.engine.features`` (the one feature module the service uses too).

Labels. The **consensus level** is the expert's reading before individual judgement
(``simulation.expert_reading``), cut at the generator's ``LEVEL_CUTS`` and raised to the guidance
floor: what a panel would decide. The issue sets its targets on it, and the models are trained on
it, as the README asks a council to train on quality-assured (audited, panel) decisions. A
council's export without the simulation block uses ``expert_level`` for both. The **expert
level** (one practitioner's decision, with judgement noise) is reported beside it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from scipy import sparse

from training.train import read_records, received
from triage.engine import features as F

MASK_SEED_OFFSET = 7919   # the after-checks training rows' "agency not asked" draws
MASK_RATE = 0.5           # share of agencies left unasked in a training row (see build)


@dataclass
class StageData:
    """Records with floors, both labels, the screening matrix and the values to re-encode after checks."""

    records: list[dict]
    floors: np.ndarray
    y: np.ndarray            # consensus level (the expert level where there is no simulation block)
    y_expert: np.ndarray
    groups: np.ndarray
    x_screen: sparse.csr_matrix
    x_after_all: sparse.csr_matrix   # every agency asked

    def subset(self, idx: np.ndarray) -> StageData:
        return StageData([self.records[i] for i in idx], self.floors[idx], self.y[idx], self.y_expert[idx],
                         self.groups[idx], self.x_screen[idx], self.x_after_all[idx])


def consensus_level(record: dict, floor: int) -> int:
    """The panel's level: the expert reading before judgement, cut and raised to the floor."""
    from training.generate import LEVEL_CUTS

    reading = (record.get("simulation") or {}).get("expert_reading")
    if reading is None:
        return int(record["expert_level"])
    return max(1 + sum(reading > cut for cut in LEVEL_CUTS), floor)


def values(fs: F.FeatureSet, record: dict, floor: int, checks: dict | None = None) -> dict:
    return fs.values(record["contact"], floor_level=floor, prior_marac_12m=bool(record.get("prior_marac_12m")),
                     history=record.get("known_history") or {}, checks=checks)


def check_codes(agencies_config) -> dict[str, tuple[str, ...]]:
    """agency -> finding codes, from the guidance's checks section (``ChecksConfig.agencies``)."""
    return {a: tuple(c.findings) for a, c in agencies_config.items()}


def build(records: list[dict], floor_fn: Callable[[dict, datetime, bool], int],
          codes: dict[str, tuple[str, ...]]) -> tuple[StageData, F.FeatureSet, F.FeatureSet]:
    """Floors from the guidance engine, labels, and the screening and all-agencies-asked matrices."""
    screen_fs, after_fs = F.feature_set(F.SCREENING_SET), F.feature_set(F.AFTER_CHECKS_SET, codes)
    floors = np.array([floor_fn(r["contact"], received(r["contact"]), bool(r.get("prior_marac_12m")))
                       for r in records], dtype=np.int64)
    y = np.array([consensus_level(r, int(f)) for r, f in zip(records, floors, strict=True)], dtype=np.int64)
    y_expert = np.array([r["expert_level"] for r in records], dtype=np.int64)
    groups = np.array([r["household_id"] for r in records])
    x_screen = screen_fs.encode_many([values(screen_fs, r, int(f)) for r, f in zip(records, floors, strict=True)])
    x_after = after_fs.encode_many([values(after_fs, r, int(f), r.get("checks") or {})
                                    for r, f in zip(records, floors, strict=True)])
    return StageData(records, floors, y, y_expert, groups, x_screen, x_after), screen_fs, after_fs


def masked_after_matrix(data: StageData, fs: F.FeatureSet, seed: int) -> sparse.csr_matrix:
    """The after-checks training matrix: each agency left unasked with probability MASK_RATE.

    In service only the agencies named are asked, so the model must know what "not asked" means;
    random masking (independent of everything, seeded) teaches it without biasing the findings.
    """
    rng = random.Random(seed + MASK_SEED_OFFSET)
    rows = []
    for r, f in zip(data.records, data.floors, strict=True):
        answers = r.get("checks") or {}
        asked = {a: answers[a] for a in fs.agencies if a in answers and rng.random() >= MASK_RATE}
        rows.append(values(fs, r, int(f), asked))
    return fs.encode_many(rows)


def asked_matrix(data: StageData, fs: F.FeatureSet, named: list[dict[str, bool]],
                 answers: list[dict] | None = None) -> sparse.csr_matrix:
    """The after-checks matrix when only the named agencies are asked (``answers`` overrides the records')."""
    rows = []
    for i, (r, f) in enumerate(zip(data.records, data.floors, strict=True)):
        got = (answers[i] if answers is not None else r.get("checks")) or {}
        rows.append(values(fs, r, int(f), {a: got[a] for a, ask in named[i].items() if ask and a in got}))
    return fs.encode_many(rows)


def load(data_path, floor_fn, codes):
    return build(read_records(data_path), floor_fn, codes)
