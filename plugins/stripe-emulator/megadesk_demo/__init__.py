"""The one-command demo: the host on SQLite, the seeded Stripe emulator, a demo tenant."""
