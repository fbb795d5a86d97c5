"""The one request pipeline every front door calls: settings, validation, budget, conversations,
the exchange log and cache, interpolation, then the HTTP client. ``session.LlamaSession`` is it.
"""
