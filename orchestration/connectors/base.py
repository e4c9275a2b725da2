"""The contract every connector fulfils."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from django import forms


class ConnectorError(Exception):
    """A connector failed. ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class BusinessError(ConnectorError):
    """The system answered with a business reason not to do it ("budget exhausted"), under a ``code``.

    Never retried: an "If it fails" path for that code (or for any error) takes it; without
    one the step becomes an incident naming the code.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, retryable=False)
        self.code = code


class Connector(ABC):
    """Base class: subclass, set the class attributes, implement :meth:`run`.

    ``run`` executes on a Celery worker, outside any database transaction. It must
    pass ``idempotency_key`` on to the external system so that a step run twice
    (worker killed, message redelivered) has its side effect applied once.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    description: ClassVar[str] = ""
    # Literal settings shown in the designer's side panel (URLs, templates, ...).
    config_form: ClassVar[type[forms.Form]] = forms.Form
    # The most characters the external system takes per input: a start-form field passed straight
    # to such an input gets that limit, so a request is refused when it starts, not after approval.
    input_limits: ClassVar[dict[str, int]] = {}

    @abstractmethod
    def run(self, config: dict[str, Any], data: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """Do the work; return output data (JSON-serialisable) or raise ConnectorError (BusinessError with a code)."""

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, list[str]]:
        """Errors of ``config`` by field name, from the config form; empty when valid."""
        form = cls.config_form(data=config)
        if form.is_valid():
            return {}
        return {field: [str(e) for e in errs] for field, errs in form.errors.items()}
