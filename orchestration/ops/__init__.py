"""The operations console: every instance across the workflows a person may operate, and the fixes.

Pages under ``/operations/`` (``templates/ops/``); every fix is an engine action with its event,
and every page asks ``orchestration.access`` what the person may see and change.
"""
