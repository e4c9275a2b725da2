"""The one place connectors are registered and looked up."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings

from orchestration.connectors.base import Connector

_connectors: dict[str, type[Connector]] = {}


class UnknownConnector(LookupError):
    pass


def register(cls: type[Connector]) -> type[Connector]:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    existing = _connectors.get(cls.name)
    if existing is not None and existing is not cls:
        raise ValueError(f"Connector name {cls.name!r} is already taken by {existing.__module__}.")
    _connectors[cls.name] = cls
    return cls


def get(name: str) -> Connector:
    """An instance of the connector registered as ``name``."""
    try:
        return _connectors[name]()
    except KeyError:
        raise UnknownConnector(f"Unknown connector {name!r}.") from None


def is_registered(name: str) -> bool:
    return name in _connectors


def all_connectors() -> list[type[Connector]]:
    return sorted(_connectors.values(), key=lambda c: c.name)


def autodiscover() -> None:
    """Import every module in ``BATON_CONNECTOR_MODULES`` so each registers itself."""
    for module in settings.BATON_CONNECTOR_MODULES:
        import_module(module)
