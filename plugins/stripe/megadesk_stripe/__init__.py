"""Stripe for Megadesk: a customer's Stripe billing in the ticket sidebar, with refund and
cancel actions.

Installed, the plugin registers under the ``megadesk.integrations`` entry point group::

    [project.entry-points."megadesk.integrations"]
    stripe = "megadesk_stripe.plugin"

Tenant settings: :class:`~megadesk_stripe.settings.StripeSettings`; process options:
:class:`~megadesk_stripe.settings.StripeOptions`; the permissions a restricted key needs:
:mod:`megadesk_stripe.permissions`; how a ticket finds its customer:
:mod:`megadesk_stripe.resolution`.
"""

from __future__ import annotations
