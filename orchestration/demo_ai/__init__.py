"""A stand-in AI model server for demos and tests: Baton's Ask AI connector talks to it offline.

Clearly a demo: it understands no language. It speaks the OpenAI-compatible chat-completions
protocol on the wire (``POST …/v1/chat/completions`` with a bearer key, JSON schema or JSON
mode) and answers with deterministic rules: the vendor from a "From:"/"Vendor:" line, the
amount after "Total", the category from keywords, and a recommendation from the amount
usual for that category. Any other field it is asked for gets an empty value of its type.

Offered tools (an Ask AI step's ``tools``), it first calls the first one taking a ``vendor``
with the vendor's name, then answers with what came back: the vendor's name as the ERP spells
it, its status and terms in the reason, and "reject" for a blocked vendor.
"""
