"""A stand-in procurement system (ERP) for demos and tests: Baton's procurement connector posts here.

It is clearly a demo: no authentication, no approval logic. It does behave like a careful
real API: it validates orders, requires an ``Idempotency-Key`` header and answers a repeated
key with the order it already placed.
"""
