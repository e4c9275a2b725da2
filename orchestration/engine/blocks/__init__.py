"""Block kinds: one module each, registered here by their graph ``kind``.

A block is stateless: ``enter(run, step, node)`` receives the runtime and either
returns the flow ids to follow (the step completes inline) or ``None`` when the
step waits (for a worker, people, a timer, a message or a child instance).
"""

from __future__ import annotations

from orchestration.engine.blocks import (
    call_activity,
    end,
    exclusive,
    message_catch,
    parallel,
    script,
    service_task,
    start,
    timer_catch,
    user_task,
)
from orchestration.engine.blocks.base import Block

BLOCKS: dict[str, Block] = {
    block.kind: block
    for block in (
        start.StartBlock(),
        end.EndBlock(),
        user_task.UserTaskBlock(),
        service_task.ServiceTaskBlock(),
        service_task.SendTaskBlock(),
        exclusive.ExclusiveBlock(),
        parallel.ParallelBlock(),
        script.ScriptBlock(),
        timer_catch.TimerCatchBlock(),
        message_catch.MessageCatchBlock(),
        call_activity.CallActivityBlock(),
    )
}


def block_for(kind: str) -> Block:
    """The block that runs nodes of ``kind``."""
    return BLOCKS[kind]
