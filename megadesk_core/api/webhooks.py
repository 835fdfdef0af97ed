"""The webhook endpoint: one per installation, for upstreams to say what changed."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from megadesk_core.api.state import HostState
from megadesk_core.services.webhooks import WEBHOOK_PATH


@post(
    f"{WEBHOOK_PATH}/{{installation_id:str}}",
    operation_id="receiveWebhook",
    summary="An upstream's event for one tenant's integration (the URL is shown to the tenant's admin)",
    tags=["webhooks"],
    status_code=200,
    security=[],
)
async def receive_webhook(
    host: NamedDependency[HostState], request: Request[Any, Any, Any], installation_id: FromPath[str]
) -> Response[dict[str, Any]]:
    # No token: the sender is the upstream, which proves itself with the payload's signature
    # (checked by the plugin with the tenant's signing secret) at a URL nobody can guess.
    body = await request.body()
    outcome = await host.webhooks.receive(installation_id, body, dict(request.headers))
    return Response(outcome.body())
