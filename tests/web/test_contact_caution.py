"""The contact page says when a recommended level is a precaution, next to the level itself."""

from __future__ import annotations

import pytest
from markupsafe import escape

from tests.web.conftest import hours_ago, sign_in

CAUTION = ("Recommended Child protection as a precaution: the model gives Child protection 1.8%, above the 0.4% "
           "safety cut-off; the most likely level is Early help (91%). Check agency records before deciding.")


@pytest.fixture
def contact_id(store):
    return store(partner_reference="NP-CAUTION-1", received_at=hours_ago(1))


def _set_recommendation(app, contact_id: str, **changes) -> None:
    from triage.extensions import db
    from triage.record.tables import Contact

    with app.app_context():
        contact = db.session.get(Contact, contact_id)
        contact.recommendation = {**contact.recommendation, **changes}
        db.session.commit()


def _recommendation_section(page: str) -> str:
    start = page.index('id="recommendation"')
    return page[start:page.index("What the threshold guidance requires", start)]


def test_a_precautionary_level_shows_the_most_likely_level_and_the_caution_beside_it(app, client, people,
                                                                                     contact_id):
    _set_recommendation(app, contact_id, level=4, most_likely_level=2, caution=CAUTION,
                        probabilities={"1": 0.05, "2": 0.91, "3": 0.022, "4": 0.018})
    sign_in(client, people["practitioner"])
    section = _recommendation_section(client.get(f"/contacts/{contact_id}").get_data(as_text=True))
    assert "Child protection (level 4)" in section
    assert "Most likely level, according to the model" in section and "Early help (level 2)" in section
    assert str(escape(CAUTION)) in section


def test_a_level_the_model_finds_most_likely_shows_no_caution(app, client, people, contact_id):
    _set_recommendation(app, contact_id, level=2, most_likely_level=2, caution=None)
    sign_in(client, people["practitioner"])
    section = _recommendation_section(client.get(f"/contacts/{contact_id}").get_data(as_text=True))
    assert "as a precaution" not in section and "Most likely level" not in section
    assert 'id="recommendation-caution"' not in section
