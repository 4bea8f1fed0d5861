"""The administrator's "new user" page creates an agency hub worker with an agency type (as the CLI does)."""

from __future__ import annotations

from sqlalchemy import select

from tests.web.test_admin import admin, new_user, stored_user, user_count  # noqa: F401 - admin is a fixture
from triage.extensions import db
from triage.record.tables import Organisation


def test_the_page_offers_each_agency_type(admin):  # noqa: F811
    page = admin.get("/admin/users/new").get_data(as_text=True)
    assert "Agency type (agency hub workers only)" in page
    for kind in ("police", "health", "education", "probation", "housing", "other"):
        assert f'value="{kind}"' in page


def test_an_agency_hub_worker_is_created_with_its_organisations_agency_type(app, admin):  # noqa: F811
    response = new_user(admin, email="hub@police.example", role="agency", organisation="County Police",
                        agency_type="police")
    assert response.status_code == 302
    person = stored_user(app, "hub@police.example")
    assert person is not None and person.role == "agency"
    with app.app_context():
        org = db.session.scalar(select(Organisation).where(Organisation.name == "County Police"))
        assert org.agency_type == "police" and person.organisation_id == org.id
    assert "County Police, police" in admin.get(response.headers["Location"]).get_data(as_text=True)


def test_an_agency_account_without_a_type_is_refused_and_nothing_is_created(app, admin):  # noqa: F811
    before = user_count(app)
    response = new_user(admin, email="hub@health.example", role="agency", organisation="County Health")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Select an agency type" in page and 'href="#agency_type' in page
    assert user_count(app) == before


def test_an_agency_type_on_another_role_is_refused(app, admin):  # noqa: F811
    before = user_count(app)
    response = new_user(admin, email="worker@council.example", agency_type="police")
    assert response.status_code == 400 and "Only agency accounts have an agency type" in response.get_data(as_text=True)
    assert user_count(app) == before


def test_an_organisation_of_another_agency_type_is_refused(app, admin):  # noqa: F811
    assert new_user(admin, email="a@police.example", role="agency", organisation="County Police",
                    agency_type="police").status_code == 302
    response = new_user(admin, email="b@police.example", role="agency", organisation="County Police",
                        agency_type="health")
    assert response.status_code == 400 and "County Police is a police organisation" in response.get_data(as_text=True)
    assert stored_user(app, "b@police.example") is None
