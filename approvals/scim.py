"""People from identity providers: SCIM 2.0 Users and Groups (django-scim2) with provisioning tokens.

An identity provider (Okta, Entra ID…) calls ``/scim/v2/`` with ``Authorization: Bearer
<token>``, a token an administrator creates in the admin (*Provisioning tokens*); only
its hash is kept. Sessions are not accepted there, and only those views are exempt from
CSRF (a bearer token is not sent by browsers on their own).

Users map onto people: ``userName``, ``name``, ``emails``, ``active``, ``title``,
``externalId`` and the enterprise extension's ``manager``, ``department`` and
``costCenter`` onto the user and their org chart profile. Groups are Django groups (the
approval queues). Nobody is deleted: ``DELETE`` on a user deactivates them, on a group
empties it. A payload that does not follow the schema is answered 400 with a SCIM error.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import re_path
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.text import slugify
from django.views.decorators.csrf import csrf_exempt
from django_scim import constants, exceptions, views
from django_scim.adapters import SCIMGroup, SCIMUser
from django_scim.filters import GroupFilterQuery, UserFilterQuery

from approvals.changes import account_snapshot, record_account_change
from approvals.models import Profile, ProvisioningToken, person

__all__ = [
    "PersonAdapter",
    "PersonFilter",
    "QueueAdapter",
    "QueueFilter",
    "authenticate",
    "base_location",
    "create_provisioning_token",
    "hidden_accounts",
    "is_provisioning",
    "urlpatterns",
]

ENTERPRISE = constants.SchemaURI.ENTERPRISE_USER
# Why, in the history of a person an identity provider changed.
_REASON = "Identity provider (SCIM)"
# last_used_at is written at most this often: an IdP syncing thousands of people needs no write per call.
_TOUCH_EVERY = timedelta(minutes=1)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_provisioning_token(name: str, by: Any) -> tuple[ProvisioningToken, str]:
    """A new token for the identity provider ``name``, and its secret (shown once, never stored).

    Changes made with it are recorded as made by a new account named after the
    identity provider, which cannot sign in.
    """
    secret = secrets.token_urlsafe(32)
    users = get_user_model()._default_manager
    base = f"idp-{slugify(name)}"[:140] or "idp"
    username, n = base, 1
    while users.filter(username=username).exists():
        n += 1
        username = f"{base}-{n}"
    with transaction.atomic():
        account = users.model(
            username=username, first_name=name[:150], last_name="(identity provider)", is_active=False
        )
        account.set_unusable_password()
        account.save()
        token = ProvisioningToken.objects.create(
            name=name, digest=_digest(secret), hint=secret[:6], account=account, created_by=by
        )
    return token, secret


def authenticate(request: HttpRequest) -> ProvisioningToken | None:
    """The active token the request carries as ``Authorization: Bearer …``, else ``None``."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    token = (
        ProvisioningToken.objects.select_related("account")
        .filter(digest=_digest(secret.strip()), active=True)
        .first()
    )
    if token is not None:
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > _TOUCH_EVERY:
            ProvisioningToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def is_provisioning(user: Any) -> bool:
    """django-scim2's check: the request was authenticated by an active provisioning token."""
    token = getattr(user, "provisioning_token", None) if getattr(user, "pk", None) else None
    return token is not None and token.active


def base_location(request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> str:
    """Where resources' ``location`` URLs start: the address the identity provider called."""
    if request is None:
        from django_scim.utils import default_base_scim_location_getter

        return str(default_base_scim_location_getter())
    return request.build_absolute_uri("/")


def hidden_accounts(model: Any) -> Any:
    """django-scim2's exclude hook: identity providers' own accounts are not people to provision."""

    def exclude(request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"provisioning_token__isnull": False} if model is get_user_model() else {}

    return exclude


def _bad(message: str) -> exceptions.BadRequestError:
    return exceptions.BadRequestError(message, scim_type="invalidValue")


def _text(value: Any, name: str, size: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or "\x00" in value:
        raise _bad(f'"{name}" should be text.')
    if len(value) > size:
        raise _bad(f'"{name}" has at most {size} characters.')
    return value.strip()


def _bool(value: Any, name: str) -> bool:
    # Entra ID sends "True"/"False" as text in PATCH operations.
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise _bad(f'"{name}" should be true or false.')
    return value


def _scim_id(value: Any) -> int | None:
    """A SCIM id as Baton gives them (the primary key in ASCII digits), else None.

    ``str.isdigit`` also takes "²" (which ``int`` refuses) and other scripts' digits.
    """
    text = str(value)
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None


def _dict(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad(f'"{name}" should be an object.')
    return value


def _filtered(search: Any, filter_query: Any, request: HttpRequest | None) -> Any:
    try:
        return search(filter_query, request)
    except RecursionError:  # a filter of hundreds of "and"s: the parser recurses once per term
        raise ValueError("the filter nests too deeply") from None


class PersonFilter(UserFilterQuery):
    attr_map = {
        **UserFilterQuery.attr_map,
        ("emails", "value", None): "email",
        ("emails", None, None): "email",
    }

    @classmethod
    def search(cls, filter_query: Any, request: HttpRequest | None = None) -> Any:
        """The people the filter finds, without identity providers' own accounts (as in lists)."""
        found = _filtered(super().search, filter_query, request)
        hidden = set(ProvisioningToken.objects.values_list("account_id", flat=True))
        return [user for user in found if user.pk not in hidden]


class QueueFilter(GroupFilterQuery):
    attr_map = {("displayName", None, None): "name"}

    @classmethod
    def search(cls, filter_query: Any, request: HttpRequest | None = None) -> Any:
        return _filtered(super().search, filter_query, request)


class PersonAdapter(SCIMUser):
    """A Baton person as a SCIM User (core schema and enterprise extension)."""

    id_field = "pk"
    ATTR_MAP = PersonFilter.attr_map

    def __init__(self, obj: Any, request: HttpRequest | None = None) -> None:
        super().__init__(obj, request)
        self._profile_values: dict[str, Any] = {}

    @property
    def profile(self) -> Profile | None:
        return (
            Profile.objects.filter(user_id=self.obj.pk).select_related("manager").first()
            if self.obj.pk
            else None
        )

    @property
    def groups(self) -> list[dict[str, Any]]:
        return [
            {"value": str(g.pk), "$ref": QueueAdapter(g, self.request).location, "display": g.name}
            for g in self.obj.groups.order_by("name")
        ]

    @property
    def meta(self) -> dict[str, Any]:
        return {
            "resourceType": self.resource_type,
            "created": self.obj.date_joined.isoformat(),
            "location": self.location,
        }

    def to_dict(self) -> dict[str, Any]:
        profile = self.profile
        enterprise: dict[str, Any] = {
            "department": profile.department if profile else "",
            "costCenter": profile.cost_centre if profile else "",
        }
        if profile and profile.manager:
            enterprise["manager"] = {
                "value": str(profile.manager.pk),
                "$ref": PersonAdapter(profile.manager, self.request).location,
                "displayName": person(profile.manager),
            }
        return {
            "schemas": [constants.SchemaURI.USER, ENTERPRISE],
            "id": self.id,
            "externalId": profile.external_id if profile else "",
            "userName": self.obj.username,
            "name": {
                "givenName": self.obj.first_name,
                "familyName": self.obj.last_name,
                "formatted": self.name_formatted,
            },
            "displayName": self.display_name,
            "title": profile.title if profile else "",
            "emails": [{"value": self.obj.email, "primary": True}] if self.obj.email else [],
            "active": self.obj.is_active,
            "groups": self.groups,
            ENTERPRISE: enterprise,
            "meta": self.meta,
        }

    def validate_dict(self, d: Any) -> None:
        if not isinstance(d, dict):
            raise _bad("The body should be a SCIM User object.")
        if not isinstance(d.get("userName"), str) or not d["userName"].strip():
            raise _bad('"userName" is required.')

    def from_dict(self, d: dict[str, Any]) -> None:
        """Read a whole User (POST, PUT); nothing is saved until :meth:`save`."""
        self._set("userName", d.get("userName"))
        name = _dict(d.get("name"), "name")
        self._set("name.givenName", name.get("givenName"))
        self._set("name.familyName", name.get("familyName"))
        self._set("emails", d.get("emails"))
        if d.get("active") is not None:
            self._set("active", d["active"])
        for key in ("externalId", "title"):
            if key in d:
                self._set(key, d[key])
        enterprise = _dict(d.get(ENTERPRISE), ENTERPRISE)
        for key in ("department", "costCenter", "manager"):
            if key in enterprise:
                self._set(f"{ENTERPRISE}:{key}", enterprise[key])

    def _set(self, path: str, value: Any) -> None:
        """Set one attribute by its SCIM path (as PATCH names it; case does not matter)."""
        key = path.lower()
        user = self.obj
        if key == "username":
            username = _text(value, "userName", 150)
            if not username:
                raise _bad('"userName" is required.')
            try:
                get_user_model().username_validator(username)
            except ValidationError:
                raise _bad('"userName" may hold letters, digits and @ . + - _ only.') from None
            user.username = username
        elif key == "name.givenname":
            user.first_name = _text(value, "name.givenName", 150)
        elif key == "name.familyname":
            user.last_name = _text(value, "name.familyName", 150)
        elif key == "name":
            name = _dict(value, "name")
            user.first_name = _text(name.get("givenName"), "name.givenName", 150)
            user.last_name = _text(name.get("familyName"), "name.familyName", 150)
        elif key in ("emails", 'emails[type eq "work"].value', "emails.value"):
            user.email = self._email(value)
        elif key == "active":
            user.is_active = _bool(value, "active")
        elif key == "externalid":
            self._profile_values["external_id"] = _text(value, "externalId", 200)
        elif key == "title":
            self._profile_values["title"] = _text(value, "title", 100)
        elif key in (f"{ENTERPRISE}:department".lower(), "department"):
            self._profile_values["department"] = _text(value, "department", 100)
        elif key in (f"{ENTERPRISE}:costcenter".lower(), "costcenter"):
            self._profile_values["cost_centre"] = _text(value, "costCenter", 50)
        elif key in (f"{ENTERPRISE}:manager".lower(), "manager", f"{ENTERPRISE}:manager.value".lower()):
            self._profile_values["manager"] = self._manager(value)
        elif key == ENTERPRISE.lower():
            for attribute, item in _dict(value, ENTERPRISE).items():
                self._set(f"{ENTERPRISE}:{attribute}", item)
        elif key in ("displayname", "name.formatted", "groups", "password", "schemas", "id", "meta"):
            pass  # derived, kept through Groups, or not Baton's to keep (people sign in through their IdP)
        else:
            raise exceptions.BadRequestError(f'Baton does not keep "{path}".', scim_type="invalidPath")

    def _email(self, value: Any) -> str:
        if isinstance(value, str):
            candidates = [value]
        elif isinstance(value, list):
            if not all(isinstance(e, dict) for e in value):
                raise _bad('"emails" should be a list of objects with a "value".')
            ordered = sorted(value, key=lambda e: not e.get("primary"))
            candidates = [e.get("value") for e in ordered]
        elif value is None:
            candidates = [""]
        else:
            raise _bad('"emails" should be a list of objects with a "value".')
        email = _text(candidates[0] if candidates else "", "emails.value", 254)
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raise _bad(f'"{email}" is not an email address.') from None
        return email

    def _manager(self, value: Any) -> Any:
        if isinstance(value, dict):
            value = value.get("value")
        if value in (None, ""):
            return None
        users = get_user_model()._default_manager.filter(provisioning_token__isnull=True)
        pk = _scim_id(value)
        manager = users.filter(pk=pk).first() if pk is not None else None
        if manager is None:
            raise _bad(f'The manager "{value}" is not a user Baton knows (give their SCIM id).')
        return manager

    def save(self) -> None:
        """Save the person and their org chart entry, refusing a manager loop."""
        with transaction.atomic():
            stored = get_user_model()._default_manager.filter(pk=self.obj.pk).first() if self.obj.pk else None
            self.obj.save()
            before = account_snapshot(stored) if stored is not None else None
            record_account_change(self.obj, before, self.request.user, _REASON)
            if not self._profile_values and Profile.objects.filter(user_id=self.obj.pk).exists():
                return
            profile = Profile.objects.filter(user_id=self.obj.pk).first() or Profile(user=self.obj)
            for name, value in self._profile_values.items():
                setattr(profile, name, value)
            try:
                profile.clean()
            except ValidationError as exc:
                raise _bad(" ".join(exc.messages)) from None
            profile._change_reason = _REASON  # type: ignore[attr-defined]
            profile.save()
            self._profile_values = {}

    def delete(self) -> None:
        # Baton never deletes people: their decisions and requests stay theirs.
        if self.obj.is_active:
            self.obj.is_active = False
            self.obj.save(update_fields=["is_active"])
            record_account_change(
                self.obj, {**account_snapshot(self.obj), "is_active": True}, self.request.user, _REASON
            )

    def handle_operations(self, operations: Any) -> None:
        """PATCH: add / replace set attributes, remove clears them; ``value`` without ``path`` sets each key."""
        if not isinstance(operations, list):
            raise _bad('"Operations" should be a list.')
        for operation in operations:
            op, path, value = _operation(operation)
            if not path:
                if not isinstance(value, dict):
                    raise exceptions.BadRequestError(
                        'Without a "path", "value" should be an object of attributes.', scim_type="noTarget"
                    )
                for key, item in value.items():
                    self._set(key, None if op == "remove" else item)
            else:
                self._set(path, None if op == "remove" else value)
        self.save()


def _operation(operation: Any) -> tuple[str, str, Any]:
    if not isinstance(operation, dict):
        raise _bad("Each operation should be an object with op, path and value.")
    op = operation.get("op")
    if not isinstance(op, str) or op.lower() not in constants.VALID_PATCH_OPS:
        raise _bad('"op" should be add, remove or replace.')
    path = operation.get("path") or ""
    if not isinstance(path, str):
        raise _bad('"path" should be text.')
    if op.lower() == "remove" and not path:
        raise exceptions.BadRequestError('"path" is needed to remove.', scim_type="noTarget")
    return op.lower(), path, operation.get("value")


class QueueAdapter(SCIMGroup):
    """A Django group (an approval queue) as a SCIM Group."""

    id_field = "pk"
    ATTR_MAP = QueueFilter.attr_map

    def to_dict(self) -> dict[str, Any]:
        return {
            "schemas": [constants.SchemaURI.GROUP],
            "id": self.id,
            "displayName": self.obj.name,
            "members": self.members,
            "meta": self.meta,
        }

    def validate_dict(self, d: Any) -> None:
        if not isinstance(d, dict):
            raise _bad("The body should be a SCIM Group object.")
        name = _text(d.get("displayName"), "displayName", 150)
        if not name:
            raise _bad('"displayName" is required.')

    def from_dict(self, d: dict[str, Any]) -> None:
        self.obj.name = _text(d.get("displayName"), "displayName", 150)
        self._members = self._people(d["members"], "members") if "members" in d else None

    def save(self) -> None:
        with transaction.atomic():
            self.obj.save()
            members = getattr(self, "_members", None)
            if members is not None:
                self.obj.user_set.set(members)

    def delete(self) -> None:
        # Queues hold tasks and limits: the group stays, without members.
        self.obj.user_set.clear()

    def _people(self, value: Any, name: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(m, dict) for m in value):
            raise _bad(f'"{name}" should be a list of objects with a "value".')
        given = [_scim_id(m.get("value", "")) for m in value]
        ids = {pk for pk in given if pk is not None}
        if len(ids) != len(set(given)):
            raise _bad(f'Each of "{name}" should give a user\'s SCIM id.')
        users = list(get_user_model()._default_manager.filter(pk__in=ids, provisioning_token__isnull=True))
        if len(users) != len(ids):
            raise _bad("Some members are not users Baton knows.")
        return users

    def handle_operations(self, operations: Any) -> None:
        if not isinstance(operations, list):
            raise _bad('"Operations" should be a list.')
        for operation in operations:
            op, path, value = _operation(operation)
            key = path.lower()
            if not path and isinstance(value, dict):
                # {"op": "replace", "value": {"displayName": …, "members": […]}}
                if "displayName" in value:
                    self.obj.name = _text(value["displayName"], "displayName", 150) or self.obj.name
                if "members" in value:
                    self._change_members(op, value["members"])
            elif key == "displayname":
                self.obj.name = _text(value, "displayName", 150) or self.obj.name
            elif key == "members":
                self._change_members(op, value)
            elif key.startswith("members[value eq ") and op == "remove":
                # Entra ID: remove one member by filter, members[value eq "12"]
                member = key.removeprefix("members[value eq ").rstrip("]").strip("\"' ")
                self._change_members("remove", [{"value": member}])
            else:
                raise exceptions.BadRequestError(f'Baton does not keep "{path}".', scim_type="invalidPath")
        self.obj.save()

    def _change_members(self, op: str, value: Any) -> None:
        if op == "remove" and value is None:
            self.obj.user_set.clear()
            return
        people = self._people(value, "members")
        if op == "add":
            self.obj.user_set.add(*people)
        elif op == "remove":
            self.obj.user_set.remove(*people)
        else:
            self.obj.user_set.set(people)


class _TokenOnly:
    """Authenticate by provisioning token only; answer any payload error with a SCIM 400, never a 500."""

    @method_decorator(csrf_exempt)
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = authenticate(request)
        # A signed-in admin's session is not a provisioning token.
        request.user = token.account if token else AnonymousUser()
        if token is None:
            error = exceptions.AuthorizationError("Give a provisioning token: Authorization: Bearer <token>.")
            response = HttpResponse(
                json.dumps(error.to_dict()), content_type=constants.SCIM_CONTENT_TYPE, status=401
            )
            response["WWW-Authenticate"] = 'Bearer realm="baton-scim"'
            return response
        if "\x00" in request.get_full_path() or "%00" in request.get_full_path():
            # PostgreSQL refuses NUL in text: a filter or id holding one is no query.
            error = exceptions.BadRequestError(
                "The address holds a NUL character.", scim_type="invalidFilter"
            )
            return HttpResponse(
                json.dumps(error.to_dict()), content_type=constants.SCIM_CONTENT_TYPE, status=400
            )
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    def load_body(self, body: bytes) -> Any:
        try:
            data = json.loads(body.decode(constants.ENCODING).strip() or "{}")
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise exceptions.BadRequestError("The body is not JSON.", scim_type="invalidSyntax") from None
        if not isinstance(data, dict):
            raise exceptions.BadRequestError("The body should be a JSON object.", scim_type="invalidSyntax")
        return data

    def get_object(self) -> Any:
        key = str(getattr(self, "kwargs", {}).get("uuid", ""))
        if _scim_id(key) is None:
            raise exceptions.NotFoundError(key)
        found = super().get_object()  # type: ignore[misc]
        # An identity provider's own account is no person to provision: not found, as in lists.
        hidden = hidden_accounts(type(found))()
        if hidden and type(found)._default_manager.filter(pk=found.pk, **hidden).exists():
            raise exceptions.NotFoundError(key)
        return found

    def patch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # POST and PUT answer a name already taken with 409; django-scim2's PATCH lets it out as a 500.
        try:
            return super().patch(request, *args, **kwargs)  # type: ignore[misc]
        except IntegrityError:
            raise exceptions.IntegrityError("Another person or group already has that name.") from None


def _person_filter() -> type[PersonFilter]:
    return PersonFilter


def _queue_filter() -> type[QueueFilter]:
    return QueueFilter


# The filters are given to the views here, not in settings: settings naming this module would import it in a loop.
class UsersView(_TokenOnly, views.UsersView):
    parser_getter = _person_filter


class GroupsView(_TokenOnly, views.GroupsView):
    parser_getter = _queue_filter


class UserSearchView(_TokenOnly, views.UserSearchView):
    parser_getter = _person_filter


class GroupSearchView(_TokenOnly, views.GroupSearchView):
    parser_getter = _queue_filter


class ServiceProviderConfigView(_TokenOnly, views.ServiceProviderConfigView):
    pass


class ResourceTypesView(_TokenOnly, views.ResourceTypesView):
    pass


class SchemasView(_TokenOnly, views.SchemasView):
    pass


class NotImplementedView(_TokenOnly, views.SCIMView):
    implemented = False


# django-scim2's URL names (adapters reverse "scim:users"…), with the token-only views; include as "scim".
urlpatterns = [
    re_path(r"^$", NotImplementedView.as_view(), name="root"),
    re_path(r"^Users/\.search$", UserSearchView.as_view(), name="users-search"),
    re_path(r"^Users(?:/(?P<uuid>[^/]+))?$", UsersView.as_view(), name="users"),
    re_path(r"^Groups/\.search$", GroupSearchView.as_view(), name="groups-search"),
    re_path(r"^Groups(?:/(?P<uuid>[^/]+))?$", GroupsView.as_view(), name="groups"),
    re_path(r"^ServiceProviderConfig$", ServiceProviderConfigView.as_view(), name="service-provider-config"),
    re_path(r"^ResourceTypes(?:/(?P<uuid>[^/]+))?$", ResourceTypesView.as_view(), name="resource-types"),
    re_path(r"^Schemas(?:/(?P<uuid>[^/]+))?$", SchemasView.as_view(), name="schemas"),
    re_path(r"^(?:\.search|Me|Bulk)$", NotImplementedView.as_view(), name="not-implemented"),
]
