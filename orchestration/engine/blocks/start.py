"""Start: the token leaves on every outgoing flow; start data was checked before."""

from orchestration.engine.blocks.base import Block


class StartBlock(Block):
    kind = "start"
