"""HTTP-agnostic operations behind each endpoint.

Handlers take a :class:`~stripe_emulator.context.Call` (validated params, path args)
and return the stored object; they raise :class:`~stripe_emulator.errors.StripeError`.
The caller holds the store lock, serialises and expands.
"""
