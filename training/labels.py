"""Which labels a training run learns from: every record, or only those an independent quality audit set.

The service's training export (``GET /api/v1/exports/training.jsonl``) says for each record where
its ``expert_level`` came from (``label_source``): ``audited``, the level a manager who took no part
in the decision would have decided in the monthly quality audit, or ``practice``, the manager-confirmed
decision. A model trained on practice decisions learns the practice, over-referral included (the
"selective labels" problem the inspectors' finding points at); ``--labels audited`` trains on the
audited levels only. Records without a ``label_source`` (the synthetic generator's) are neither.
"""

from __future__ import annotations

from collections import Counter

LABEL_CHOICES = ("all", "audited")
AUDITED = "audited"


def select(records: list[dict], labels: str) -> list[dict]:
    """The records a run with ``--labels labels`` learns from; an error when ``audited`` finds none."""
    if labels not in LABEL_CHOICES:
        raise ValueError(f"--labels must be one of {', '.join(LABEL_CHOICES)}")
    if labels == "all":
        return records
    kept = []
    for record in records:
        if record.get("label_source") == AUDITED:
            # the audited level is the label: no simulated panel reading stands in for it
            kept.append({k: v for k, v in record.items() if k != "simulation"})
    if not kept:
        raise ValueError("--labels audited: no record in the data has label_source \"audited\" "
                         "(export it from the service after the monthly quality audit)")
    return kept


def describe(labels: str, records: list[dict], total: int) -> str:
    """The manifest's (and so the model card's) words for the labels a run used."""
    if labels == AUDITED:
        return (f"audited levels only: {len(records)} of {total} records, each labelled with the level an independent "
                "manager would have decided in the monthly quality audit; practice decisions left out")
    sources = Counter(r.get("label_source") for r in records)
    if sources.get(AUDITED) or sources.get("practice"):
        return (f"labels as exported: {sources.get(AUDITED, 0)} audited levels and {sources.get('practice', 0)} "
                "confirmed practice decisions")
    return "consensus level (expert reading before judgement, cut, floored) where the data has it"
