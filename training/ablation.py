"""Would our own records help? The model refitted with the household's history from the store.

A front door knows more than the contact: its own record of earlier contacts about the family. The
question for issue 4 was whether giving the model that history (how many contacts about the
household in the last 12 months, and the highest level decided on them) would cut inappropriate
referrals at the recall targets. This refits the same sign-constrained ordinal model with and
without six history columns, tunes the same rule on the validation households, and measures both
on the test households. It writes nothing: the bundled model is unchanged unless the figures say
the history earns its place.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
from scipy import sparse
from threadpoolctl import threadpool_limits

from training.evaluate import headline, operating_figures, rule_levels
from training.train import (
    build_dataset,
    fit_constrained_logistic,
    read_records,
    received,
    split,
    tune_thresholds,
)
from triage.engine import features as F
from triage.engine.classifier import ORDINAL_KS

HISTORY_COLUMNS = ("prior contacts >= 1", "prior contacts >= 2", "prior contacts >= 3",
                   "highest prior decision >= 2", "highest prior decision >= 3", "highest prior decision >= 4")


def history_matrix(records: list[dict]) -> sparse.csr_matrix:
    """Per contact, what the store held about its household in the 12 months before it arrived.

    The decision on an earlier contact is what the front door recorded (``historic_decision``), or
    the label when a council's export has no separate decision.
    """
    order = sorted(range(len(records)), key=lambda i: received(records[i]["contact"]))
    seen: dict[str, list[tuple[datetime, int]]] = {}
    rows = np.zeros((len(records), len(HISTORY_COLUMNS)))
    for i in order:
        r = records[i]
        when = received(r["contact"])
        prior = [lvl for t, lvl in seen.get(r["household_id"], []) if 0 <= (when - t).days <= 365]
        top = max(prior, default=0)
        rows[i] = [len(prior) >= 1, len(prior) >= 2, len(prior) >= 3, top >= 2, top >= 3, top >= 4]
        seen.setdefault(r["household_id"], []).append((when, int(r.get("historic_decision") or r["expert_level"])))
    return sparse.csr_matrix(rows)


def store_history(data_path: Path, seed: int, floor_fn: Callable[[dict, datetime, bool], int]) -> dict:
    """The headline on the test households for the model without and with the store's history."""
    records = read_records(data_path)
    data = build_dataset(records, floor_fn)
    tr, va, te = split(data.groups, seed)
    historic = np.array([r.get("historic_decision") or 0 for r in records])
    hist_rate = None
    if np.all(historic[te] > 0):
        hist_rate = headline(data.y[te], historic[te])["inappropriate_referral_rate"]
    with_history = sparse.hstack([data.x, history_matrix(records)]).tocsr()
    signs = np.concatenate([F.SIGNS, np.ones(len(HISTORY_COLUMNS), dtype=F.SIGNS.dtype)])
    out = {"n_test": int(len(te)), "historic_inappropriate_referral_rate": hist_rate}
    for name, x, s in (("contact_only", data.x, F.SIGNS), ("with_store_history", with_history, signs)):
        with threadpool_limits(limits=1):   # as training.train.fit, so the contact-only arm is the bundled fit
            fitted = [fit_constrained_logistic(x[tr], (data.y[tr] >= k).astype(np.int64), s) for k in ORDINAL_KS]

        def logits(idx: np.ndarray, x=x, fitted=fitted) -> np.ndarray:
            return np.stack([x[idx] @ w + b for w, b in fitted], axis=1)

        th = tune_thresholds(logits(va), data.floors[va], data.y[va])
        out[name] = operating_figures(data.y[te], rule_levels(logits(te), data.floors[te], th), hist_rate)
    return out
