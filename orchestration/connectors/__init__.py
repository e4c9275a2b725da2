"""Connectors: the integrations an Automated step or Notify block runs on a worker.

Each connector is one module that defines a :class:`~orchestration.connectors.base.Connector`
subclass and decorates it with :func:`~orchestration.connectors.registry.register`.
Modules are listed in the ``BATON_CONNECTOR_MODULES`` setting.
"""
