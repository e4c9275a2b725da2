"""The contract every connector fulfils."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from django import forms

from orchestration.expressions import VariableType


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


@dataclass(frozen=True)
class ConnectorField:
    """One value a connector takes (an input) or gives back (an output), as the designer shows it.

    ``name`` is the key in the step's data; ``label`` and ``help`` are plain words for a business
    user; ``type`` is the variable type later blocks see (``orchestration.expressions.VARIABLE_TYPES``).
    """

    name: str
    label: str
    type: VariableType = "string"
    required: bool = False
    help: str = ""
    # The value in scope a new step picks for this input when no value of the input's own name is
    # there, e.g. ``initiator`` for the person a request is for.
    suggested: str = ""


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
    # What the step takes and gives back; the designer builds one field per input from these and
    # offers the outputs to later blocks under their labels.
    inputs: ClassVar[tuple[ConnectorField, ...]] = ()
    outputs: ClassVar[tuple[ConnectorField, ...]] = ()
    # A plausible answer, used by a test run in the designer instead of calling the real system.
    example_output: ClassVar[dict[str, Any]] = {}
    # Business error codes ``run`` may raise (``BusinessError.code``) with a plain description,
    # offered by the "If it fails" panel.
    error_codes: ClassVar[dict[str, str]] = {}
    # Whether an Ask AI step may offer it to its model as a tool (``orchestration.connectors.ai_tools``).
    # Not when an input chooses where the data goes (an email's recipients): the model reads the
    # request's text, which may tell it to send the data elsewhere; a designer maps such inputs.
    ai_tool: ClassVar[bool] = True

    @abstractmethod
    def run(self, config: dict[str, Any], data: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """Do the work; return output data (JSON-serialisable) or raise ConnectorError (BusinessError with a code)."""

    @classmethod
    def check_config(cls, config: dict[str, Any]) -> list[str]:
        """What is missing or wrong in a block's settings, said when its workflow is published (nothing by default)."""
        return []

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, list[str]]:
        """Errors of ``config`` by field name, from the config form; empty when valid."""
        form = cls.config_form(data=config)
        if form.is_valid():
            return {}
        return {field: [str(e) for e in errs] for field, errs in form.errors.items()}
