"""A stand-in e-signature service for demos and tests: Baton's e-signature connector posts here.

Clearly a demo: no authentication, no documents kept. It behaves like a real signing API
on the wire: it validates the envelope, requires an ``Idempotency-Key`` header (the same
key always gives the same envelope) and answers a refusal to sign as an envelope whose
status is ``declined``, with the reason, the way signing services report a signer's decline.
"""
