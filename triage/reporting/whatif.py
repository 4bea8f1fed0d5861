"""The what-if report's CSV (issue 16): the moved contacts, one a row, safe to open in a spreadsheet."""

from __future__ import annotations

from triage.reporting.spreadsheet import to_csv

CSV_COLUMNS = (
    ("contact_id", "Contact"), ("accepted_at", "Accepted at (UTC)"), ("source_code", "Source code"),
    ("organisation", "Partner"), ("floor_now", "Floor now"), ("floor_draft", "Floor under the draft"),
    ("level_now", "Recommended now"), ("level_draft", "Recommended under the draft"),
    ("next_step_now", "Next step now"), ("next_step_draft", "Next step under the draft"),
    ("checks_now", "Agencies asked now"), ("checks_draft", "Agencies asked under the draft"),
    ("decided_level", "Level decided"), ("flags", "For a manager to look at"),
)


def report_csv(report: dict) -> str:
    """The moved contacts (floor, level, next step or checks changed, or named for a manager), one a row."""
    rows = ([("; ".join(row[key]) if key == "flags" else ("" if row[key] is None else row[key]))
             for key, _ in CSV_COLUMNS] for row in report["moved"])
    return to_csv([title for _, title in CSV_COLUMNS], rows)


def _pct(share: float | None) -> str:
    return "no data" if share is None else f"{share * 100:.1f}%"


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else str(n)


def report_lines(report: dict, level_name, source_name) -> list[str]:
    """The report as plain text (the command line's output): every figure the page shows."""
    floors, recs, steps, checks = report["floors"], report["recommendations"], report["next_steps"], report["checks"]
    rate, decided = report["referral_rate"], report["decided"]
    lines = [
        f"What if: guidance {report['guidance']['label']} (SHA-256 {report['guidance']['sha256'][:12]}) "
        f"with model {report['model']}, in place of {report['in_force']['label']} with {report['served_model']}",
        f"Window: contacts accepted from {report['window']['from']} to before {report['window']['to']}",
        f"Contacts: {report['contacts']} ({report['scored']} with a recommendation to compare, "
        f"{report['not_scored']} never scored)",
    ]
    if report["scored_under_other_versions"]:
        lines.append(f"Note: {report['scored_under_other_versions']} of them were scored under another guidance "
                     "version or model than the one in use now; their 'now' is what the service recommended then.")
    lines += [
        "",
        f"Floors changed: {floors['changed']} ({floors['raised']} raised, {floors['lowered']} lowered)",
        f"Recommendations changed: {recs['changed']} ({recs['raised']} raised, {recs['lowered']} lowered)",
        f"Next steps changed: {steps['changed']}",
        "",
        "By level                       floor now  floor draft  recommended now  recommended draft",
    ]
    for key in ("0", "1", "2", "3", "4"):
        name = "No floor" if key == "0" else f"{key} {level_name(int(key))}"
        rec = recs["by_level"].get(key, {"now": "", "draft": ""})
        lines.append(f"  {name:<29}{floors['by_level'][key]['now']:>9}  {floors['by_level'][key]['draft']:>11}  "
                     f"{rec['now']!s:>15}  {rec['draft']!s:>17}")
    lines += ["", "Next step                      now    draft"]
    for step in ("refer", "checks", "decide"):
        lines.append(f"  {step:<29}{steps['now'][step]:>3}  {steps['draft'][step]:>7}")
    lines += [
        f"Agency checks asked: {checks['now']} now, {checks['draft']} under the draft "
        f"({_signed(checks['difference'])})",
        f"Referral rate (recommended level 3 or 4): {_pct(rate['now'])} now, {_pct(rate['draft'])} under the draft; "
        f"people decided {_pct(rate['decided'])} of {decided['contacts']} decided contacts",
        f"Decided contacts: {decided['as_recommended_now']} decided at the level recommended now, "
        f"{decided['as_draft_recommends']} at the level the draft recommends",
        "",
    ]
    for title, key, name in (("By source", "by_source", source_name), ("By partner", "by_partner", str)):
        lines.append(f"{title}: contacts, floors changed, recommendations changed, referral rate now -> draft")
        for group, t in report[key].items():
            lines.append(f"  {name(group)}: {t['contacts']}, {t['floors_changed']}, {t['recommendations_changed']}, "
                         f"{_pct(t['referral_rate_now'])} -> {_pct(t['referral_rate_draft'])}")
        lines.append("")
    lines.append(f"Decided contacts whose decision would be below the draft's floor: {len(report['below_new_floor'])}")
    lines += [f"  {r['contact_id']}: decided level {r['decided_level']}, draft floor {r['draft_floor']}"
              for r in report["below_new_floor"]]
    lines.append("Decided contacts the draft would recommend below the floor they had: "
                 f"{len(report['draft_below_floor'])}")
    lines += [f"  {r['contact_id']}: floor {r['floor']}, draft recommends {r['draft_level']}"
              for r in report["draft_below_floor"]]
    return lines
