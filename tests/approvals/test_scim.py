"""SCIM 2.0 provisioning: identity providers create, read, change and deactivate people and queues."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from approvals.changes import person_changes
from approvals.models import Profile, ProvisioningToken
from approvals.scim import create_provisioning_token

pytestmark = pytest.mark.django_db

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SCIM = "application/scim+json"


@pytest.fixture
def idp() -> Any:
    admin = get_user_model().objects.create_superuser("admin", "admin@example.com", "pw")
    token, secret = create_provisioning_token("Okta", admin)
    # CSRF is enforced as in production: the SCIM views are exempt because they take no session.
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {secret}")
    client.token = token  # type: ignore[attr-defined]
    return client


def _send(client: Client, method: str, url: str, body: Any) -> Any:
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return getattr(client, method)(url, data=data, content_type=SCIM)


def _create(client: Client, username: str, **extra: Any) -> dict[str, Any]:
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": username,
        "name": {"givenName": username.title(), "familyName": "Person"},
        "emails": [{"value": f"{username}@example.com", "primary": True}],
        "active": True,
        **extra,
    }
    response = _send(client, "post", "/scim/v2/Users", body)
    assert response.status_code == 201, response.content
    return dict(response.json())


def test_create_and_get_a_person_with_manager_and_department(idp):
    boss = _create(idp, "dana")
    made = _create(
        idp,
        "jdoe",
        externalId="00u1",
        title="Buyer",
        **{ENTERPRISE: {"department": "Procurement", "costCenter": "CC-7", "manager": {"value": boss["id"]}}},
    )

    user = get_user_model().objects.get(username="jdoe")
    assert (user.first_name, user.email, user.is_active) == ("Jdoe", "jdoe@example.com", True)
    profile = Profile.objects.get(user=user)
    assert profile.manager.username == "dana"
    assert (profile.department, profile.cost_centre, profile.title, profile.external_id) == (
        "Procurement",
        "CC-7",
        "Buyer",
        "00u1",
    )
    record = Profile.history.filter(user=user).first()
    assert (
        record.history_user == idp.token.account
        and record.history_change_reason == "Identity provider (SCIM)"
    )

    got = idp.get(f"/scim/v2/Users/{made['id']}").json()
    assert got["userName"] == "jdoe" and got["externalId"] == "00u1"
    assert got[ENTERPRISE]["manager"]["displayName"] == "Dana Person"
    assert got[ENTERPRISE]["department"] == "Procurement"
    listed = idp.get('/scim/v2/Users?filter=userName eq "jdoe"').json()
    assert [r["userName"] for r in listed["Resources"]] == ["jdoe"]
    everyone = idp.get("/scim/v2/Users").json()
    assert sorted(r["userName"] for r in everyone["Resources"]) == ["admin", "dana", "jdoe"]


def test_patch_changes_the_manager_and_deactivates_without_deleting(idp):
    dana = _create(idp, "dana")
    carl = _create(idp, "carl")
    jdoe = _create(idp, "jdoe", **{ENTERPRISE: {"manager": {"value": dana["id"]}}})
    url = f"/scim/v2/Users/{jdoe['id']}"

    moved = _send(
        idp,
        "patch",
        url,
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": carl["id"]}}
            ],
        },
    )
    assert moved.status_code == 200, moved.content
    assert Profile.objects.get(user_id=jdoe["id"]).manager.username == "carl"

    # Entra ID's way: no path, and the boolean as text.
    off = _send(idp, "patch", url, {"Operations": [{"op": "Replace", "value": {"active": "False"}}]})
    assert off.status_code == 200 and off.json()["active"] is False
    assert not get_user_model().objects.get(pk=jdoe["id"]).is_active

    gone = idp.delete(url)
    assert gone.status_code == 204
    assert get_user_model().objects.filter(pk=jdoe["id"], is_active=False).exists()
    whats = [(c.who, c.what) for c in person_changes(get_user_model().objects.get(pk=jdoe["id"]))]
    assert ("Okta (identity provider)", "deactivated") in whats
    assert ("Okta (identity provider)", "manager Dana Person → Carl Person") in whats
    assert ("Okta (identity provider)", "account created") in whats


def test_a_manager_loop_is_refused_with_400(idp):
    dana = _create(idp, "dana")
    jdoe = _create(idp, "jdoe", **{ENTERPRISE: {"manager": {"value": dana["id"]}}})

    loop = _send(
        idp,
        "patch",
        f"/scim/v2/Users/{dana['id']}",
        {"Operations": [{"op": "replace", "path": f"{ENTERPRISE}:manager", "value": jdoe["id"]}]},
    )

    assert loop.status_code == 400
    assert "loops" in loop.json()["detail"]
    assert Profile.objects.get(user_id=dana["id"]).manager is None


def test_groups_are_queues_with_members_added_and_removed(idp):
    ann = _create(idp, "ann")
    bob = _create(idp, "bob")
    made = _send(
        idp, "post", "/scim/v2/Groups", {"displayName": "Finance", "members": [{"value": ann["id"]}]}
    )
    assert made.status_code == 201, made.content
    url = f"/scim/v2/Groups/{made.json()['id']}"
    finance = Group.objects.get(name="Finance")
    assert [u.username for u in finance.user_set.all()] == ["ann"]

    added = _send(
        idp, "patch", url, {"Operations": [{"op": "add", "path": "members", "value": [{"value": bob["id"]}]}]}
    )
    assert added.status_code == 200
    assert {m["display"] for m in added.json()["members"]} == {"Ann Person", "Bob Person"}
    removed = _send(
        idp, "patch", url, {"Operations": [{"op": "remove", "path": f'members[value eq "{ann["id"]}"]'}]}
    )
    assert removed.status_code == 200
    assert [u.username for u in finance.user_set.all()] == ["bob"]
    assert idp.get(f"/scim/v2/Users/{bob['id']}").json()["groups"][0]["display"] == "Finance"

    assert idp.delete(url).status_code == 204
    assert Group.objects.filter(name="Finance").exists() and not finance.user_set.exists()


def test_no_or_a_wrong_or_revoked_token_is_401_and_a_session_is_not_enough(idp):
    assert Client().get("/scim/v2/Users").status_code == 401
    wrong = Client(HTTP_AUTHORIZATION="Bearer nope").get("/scim/v2/Users")
    assert wrong.status_code == 401
    assert wrong.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert wrong["WWW-Authenticate"].startswith("Bearer")

    admin = Client()
    admin.force_login(get_user_model().objects.get(username="admin"))
    assert admin.get("/scim/v2/Users").status_code == 401

    ProvisioningToken.objects.update(active=False)
    assert idp.get("/scim/v2/Users").status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        b"\xff\xfe",
        "[1, 2]",
        "[" * 5000 + "]" * 5000,
        {"userName": ""},
        {"userName": "x", "name": "Just a string"},
        {"userName": "x", "emails": "not-an-email"},
        {"userName": "x", "emails": [{"value": "nope"}]},
        {"userName": "x", "active": "perhaps"},
        {"userName": "x", ENTERPRISE: {"manager": {"value": "999999"}}},
        {"userName": "x", ENTERPRISE: []},
        {"userName": "x" * 200},
        {"userName": "x\u0000y"},
        {"userName": "x y"},
    ],
)
def test_malformed_users_are_400_with_a_scim_error(idp, body):
    response = _send(idp, "post", "/scim/v2/Users", body)

    assert response.status_code == 400, response.content
    error = response.json()
    assert error["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"] and error["detail"]
    assert not get_user_model().objects.filter(username="x").exists()


@pytest.mark.parametrize(
    "operations",
    [
        None,
        "replace",
        [1],
        [{"op": "explode", "path": "active", "value": False}],
        [{"op": "replace", "path": "active", "value": "maybe"}],
        [{"op": "replace", "path": "shoeSize", "value": 42}],
        [{"op": "remove"}],
        [{"op": "replace", "path": 7, "value": 1}],
        [{"op": "replace", "value": ["not", "a", "dict"]}],
        [{"op": "add"}],
    ],
)
def test_malformed_patches_are_400_and_change_nothing(idp, operations):
    jdoe = _create(idp, "jdoe")

    response = _send(idp, "patch", f"/scim/v2/Users/{jdoe['id']}", {"Operations": operations})

    assert response.status_code == 400, response.content
    assert get_user_model().objects.get(pk=jdoe["id"]).is_active


def test_unknown_ids_are_404_and_a_taken_username_is_409(idp):
    _create(idp, "jdoe")

    assert idp.get("/scim/v2/Users/abc").status_code == 404
    assert idp.get("/scim/v2/Users/999999").status_code == 404
    assert idp.get("/scim/v2/Groups/x y").status_code == 404
    assert idp.get('/scim/v2/Users?filter=userName eq "a%00b"').status_code == 400
    assert idp.get("/scim/v2/Users?filter=userName eq").status_code == 400
    assert _send(idp, "post", "/scim/v2/Users", {"userName": "jdoe"}).status_code == 409


@pytest.mark.parametrize("key", ["²", "\u0661", "0²"])
def test_ids_in_other_digits_are_404_never_a_server_error(idp, key):
    # str.isdigit takes them; int() refuses "²" and reads the Arabic-Indic one as 1.
    for method, url, body in (
        ("get", f"/scim/v2/Users/{key}", None),
        ("put", f"/scim/v2/Users/{key}", {"userName": "x"}),
        ("patch", f"/scim/v2/Groups/{key}", {"Operations": [{"op": "add", "path": "members", "value": []}]}),
    ):
        assert _send(idp, method, url, body or "").status_code == 404, (method, url)


def test_members_and_managers_in_other_digits_are_400(idp):
    queue = _send(idp, "post", "/scim/v2/Groups", {"displayName": "Finance"}).json()
    patch = {"Operations": [{"op": "add", "path": "members", "value": [{"value": "²"}]}]}

    assert (
        _send(idp, "post", "/scim/v2/Groups", {"displayName": "g", "members": [{"value": "²"}]}).status_code
        == 400
    )
    assert _send(idp, "patch", f"/scim/v2/Groups/{queue['id']}", patch).status_code == 400
    remove = {"Operations": [{"op": "remove", "path": 'members[value eq "²"]'}]}
    assert _send(idp, "patch", f"/scim/v2/Groups/{queue['id']}", remove).status_code == 400
    with_manager = {"userName": "jdoe", ENTERPRISE: {"manager": "²"}}
    assert _send(idp, "post", "/scim/v2/Users", with_manager).status_code == 400


def test_a_patch_to_a_taken_name_is_409_and_changes_nothing(idp):
    _create(idp, "jdoe")
    mary = _create(idp, "mary")
    _send(idp, "post", "/scim/v2/Groups", {"displayName": "Finance"})
    legal = _send(idp, "post", "/scim/v2/Groups", {"displayName": "Legal"}).json()
    rename = {"Operations": [{"op": "replace", "path": "userName", "value": "jdoe"}]}
    to_finance = {"Operations": [{"op": "replace", "path": "displayName", "value": "Finance"}]}

    assert _send(idp, "patch", f"/scim/v2/Users/{mary['id']}", rename).status_code == 409
    assert _send(idp, "patch", f"/scim/v2/Groups/{legal['id']}", to_finance).status_code == 409
    assert get_user_model().objects.get(pk=mary["id"]).username == "mary"
    assert Group.objects.get(pk=legal["id"]).name == "Legal"


def test_a_filter_nested_too_deeply_is_400(idp):
    deep = " and ".join(['userName eq "a"'] * 400)

    assert idp.get("/scim/v2/Users", {"filter": deep}).status_code == 400
    assert (
        idp.get("/scim/v2/Groups", {"filter": " and ".join(['displayName eq "a"'] * 400)}).status_code == 400
    )


def test_the_identity_providers_own_account_is_not_found_by_filter_or_id(idp):
    account = idp.token.account
    by_name = idp.get("/scim/v2/Users", {"filter": f'userName eq "{account.username}"'}).json()

    assert by_name["totalResults"] == 0
    assert idp.get(f"/scim/v2/Users/{account.pk}").status_code == 404
    assert (
        _send(
            idp,
            "patch",
            f"/scim/v2/Users/{account.pk}",
            {"Operations": [{"op": "replace", "path": "active", "value": True}]},
        ).status_code
        == 404
    )
    assert (
        _send(
            idp, "post", "/scim/v2/Groups", {"displayName": "g", "members": [{"value": str(account.pk)}]}
        ).status_code
        == 400
    )


def test_an_administrator_creates_a_token_shown_once_and_it_works(admin_client):
    page = admin_client.post("/admin/approvals/provisioningtoken/add/", {"name": "Entra ID"})

    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    secret = page.context["secret"]
    html = page.content.decode()
    assert secret in html and "http://testserver/scim/v2/" in html
    token = ProvisioningToken.objects.get(name="Entra ID")
    assert secret not in (token.digest, token.hint) and secret.startswith(token.hint)
    assert not token.account.is_active and not token.account.has_usable_password()
    listed = admin_client.get("/admin/approvals/provisioningtoken/").content.decode()
    assert secret not in listed and f"{token.hint}…" in listed

    idp = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    config = idp.get("/scim/v2/ServiceProviderConfig")
    assert config.status_code == 200
    assert config.json()["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_put_replaces_a_person_and_groups_are_found_by_name(idp):
    jdoe = _create(idp, "jdoe", title="Buyer")
    url = f"/scim/v2/Users/{jdoe['id']}"

    replaced = _send(
        idp,
        "put",
        url,
        {
            "userName": "jane.doe@example.com",
            "name": {"givenName": "Jane", "familyName": "Doe"},
            "emails": [{"value": "other@example.com"}, {"value": "jane@example.com", "primary": True}],
            "active": False,
            ENTERPRISE: {"department": "Legal"},
        },
    )

    assert replaced.status_code == 200, replaced.content
    user = get_user_model().objects.get(pk=jdoe["id"])
    assert (user.username, user.get_full_name(), user.email, user.is_active) == (
        "jane.doe@example.com",
        "Jane Doe",
        "jane@example.com",
        False,
    )
    assert (user.profile.department, user.profile.title) == ("Legal", "Buyer")
    _send(idp, "post", "/scim/v2/Groups", {"displayName": "Legal"})
    found = idp.get('/scim/v2/Groups?filter=displayName eq "Legal"').json()
    assert [g["displayName"] for g in found["Resources"]] == ["Legal"]
