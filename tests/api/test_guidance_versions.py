"""Guidance versions (issue 16): each recommendation names the guidance and model that produced it,
the service keeps every version it served, and a contact scored under version A still explains
itself in A's words after B is adopted.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from tests.decision_support import decide, review, submit
from triage.engine.recommend import load_recommender
from triage.extensions import db
from triage.record.tables import Event, GuidanceAdoption, GuidanceVersion
from triage.settings import PROJECT_ROOT

DEFAULT = PROJECT_ROOT / "config" / "thresholds.yaml"
OLD_WORDS = "Domestic abuse where a child lives with the person causing harm or was present."
NEW_WORDS = "Domestic abuse in a child's home (version B wording)."


def version_b(tmp_path):
    """The guidance with a new label and one indicator's words rewritten."""
    text = DEFAULT.read_text(encoding="utf-8")
    assert 'guidance_version: "2026.1"' in text
    old = ("Domestic abuse where a child lives with the person causing harm or was present. Even at\n"
           "      standard risk, the child's school should know and the family may need early help.")
    assert old in text
    path = tmp_path / "thresholds-b.yaml"
    path.write_text(text.replace('guidance_version: "2026.1"', 'guidance_version: "2026.2"')
                    .replace(old, NEW_WORDS), encoding="utf-8")
    return path


def restart_with(app, path) -> None:
    """What a restart after editing the file does: the factory's recommender on the new file."""
    app.extensions["recommender"] = load_recommender({"THRESHOLDS_PATH": str(path),
                                                      "MODELS_DIR": app.config["MODELS_DIR"]})


def get_contact(client, person, contact_id):
    response = client.get(f"/api/v1/contacts/{contact_id}", headers=person.headers)
    assert response.status_code == 200
    return response.get_json()


def test_a_recommendation_names_its_guidance_and_model_and_the_version_is_kept(app, client, people):
    contact_id = submit(client, people["partner"])
    rec = get_contact(client, people["practitioner"], contact_id)["recommendation"]
    sha = hashlib.sha256(DEFAULT.read_bytes()).hexdigest()
    assert (rec["guidance_version"], rec["guidance_sha256"]) == ("2026.1", sha)
    assert rec["model_version"] == app.extensions["recommender"].model.version
    with app.app_context():
        scored = db.session.scalar(select(Event).where(Event.kind == "scored", Event.contact_id == contact_id))
        assert (scored.data["guidance_version"], scored.data["guidance_sha256"]) == ("2026.1", sha)
        assert scored.data["model_version"] == rec["model_version"]
        kept = db.session.scalars(select(GuidanceVersion)).all()
        assert [(v.label, v.sha256, v.text) for v in kept] == [("2026.1", sha, DEFAULT.read_text(encoding="utf-8"))]
    submit(client, people["partner"])  # the same version again: nothing new kept
    with app.app_context():
        assert len(db.session.scalars(select(GuidanceAdoption)).all()) == 1
    history = client.get(f"/api/v1/contacts/{contact_id}/history", headers=people["manager"].headers).get_json()
    scored_event = next(e for e in history["events"] if e["kind"] == "scored")
    assert scored_event["what"]["guidance_version"] == "2026.1"


def test_a_contact_scored_under_a_keeps_a_s_words_after_b_is_adopted(app, client, people, tmp_path):
    partner, manager = people["partner"], people["manager"]
    under_a = submit(client, partner)
    assert client.get("/api/v1/guidance", headers=partner.headers).get_json()["in_force"]["label"] == "2026.1"

    restart_with(app, version_b(tmp_path))
    under_b = submit(client, partner)

    a, b = (get_contact(client, people["practitioner"], c)["recommendation"] for c in (under_a, under_b))
    assert (a["guidance_version"], b["guidance_version"]) == ("2026.1", "2026.2")
    assert OLD_WORDS in str(a["indicators"]) and NEW_WORDS not in str(a["indicators"])
    assert NEW_WORDS in str(b["indicators"])

    # The partner's feedback on A's contact cites A's words, though B is in force.
    for contact_id in (under_a, under_b):
        level = get_contact(client, manager, contact_id)["recommendation"]["level"]
        assert decide(client, people["practitioner"], contact_id, level=level).status_code == 201
        assert review(client, manager, contact_id).status_code == 201
    text_a = str(client.get(f"/api/v1/contacts/{under_a}/feedback/preview", headers=manager.headers).get_json())
    text_b = str(client.get(f"/api/v1/contacts/{under_b}/feedback/preview", headers=manager.headers).get_json())
    assert OLD_WORDS in text_a and NEW_WORDS not in text_a
    assert NEW_WORDS in text_b and OLD_WORDS not in text_b

    body = client.get("/api/v1/guidance", headers=partner.headers).get_json()
    assert body["in_force"]["label"] == "2026.2"
    assert [v["label"] for v in body["versions"]] == ["2026.2", "2026.1"]
    assert [v["in_force"] for v in body["versions"]] == [True, False]
    assert body["in_force"]["since"] == body["versions"][0]["adopted_at"][-1]


def test_going_back_to_an_earlier_version_brings_it_into_force_again(app, client, people, tmp_path):
    partner = people["partner"]
    submit(client, partner)
    first = app.extensions["recommender"]
    restart_with(app, version_b(tmp_path))
    submit(client, partner)
    app.extensions["recommender"] = first  # the council rolls back
    submit(client, partner)
    body = client.get("/api/v1/guidance", headers=partner.headers).get_json()
    assert body["in_force"]["label"] == "2026.1"
    a = next(v for v in body["versions"] if v["label"] == "2026.1")
    assert len(a["adopted_at"]) == 2 and body["in_force"]["since"] == a["adopted_at"][1]


def test_a_stored_text_that_was_altered_is_not_used_to_explain(app, tmp_path):
    from triage.engine.guidance_version import GuidanceConfigError, guidance_from_text

    text = DEFAULT.read_text(encoding="utf-8")
    sha = hashlib.sha256(text.encode()).hexdigest()
    assert guidance_from_text(text, "stored", expected_sha256=sha).config.label == "2026.1"
    try:
        guidance_from_text(text.replace("2026.1", "2026.9"), "stored", expected_sha256=sha)
    except GuidanceConfigError as exc:
        assert "altered" in str(exc)
    else:
        raise AssertionError("an altered text was accepted")
