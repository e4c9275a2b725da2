"""The engine's public actions. Views, API, admin and tasks call these; nothing else sets a status."""

from orchestration.engine.blocks.exclusive import chosen_words
from orchestration.engine.messages import MessageRefused, NoSubscription, correlate_message
from orchestration.engine.migration import MigrationPlan, migrate_instance
from orchestration.engine.operations import cancel_instance, move_token, retry_incident, skip_incident
from orchestration.engine.runtime import (
    REQUEST_INLINE_BLOCKS,
    InvalidState,
    StartDataError,
    locked_run,
    resume_in_run,
    resume_step,
    start_instance,
)

__all__ = [
    "REQUEST_INLINE_BLOCKS",
    "InvalidState",
    "MessageRefused",
    "MigrationPlan",
    "NoSubscription",
    "StartDataError",
    "cancel_instance",
    "chosen_words",
    "correlate_message",
    "locked_run",
    "migrate_instance",
    "move_token",
    "resume_in_run",
    "resume_step",
    "retry_incident",
    "skip_incident",
    "start_instance",
]
