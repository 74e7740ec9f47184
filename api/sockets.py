"""GraphQL websockets (subscriptions): the context of a connection, and its authentication at
``connection_init`` when its handshake carried no ``Authorization`` header."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError

from api.auth import Authenticator, AuthError, websocket_principal
from schema.context import Context

log = logging.getLogger("stagegraph.api")


@dataclass
class SocketContext(Context):
    """The context of a GraphQL websocket: one for the whole connection, which knows its
    socket (to authenticate it at ``connection_init``)."""

    websocket: WebSocket | None = None


def authenticate_socket(context: Context, authenticator: Authenticator | None) -> None:
    """Set who holds the websocket of ``context`` from its ``connection_init`` payload
    (:func:`api.auth.websocket_principal`); raise :class:`ConnectionRejectionError` (close
    code 4403) without a valid token where anonymous read is off."""
    if authenticator is None or not isinstance(context, SocketContext):
        return
    websocket = context.websocket
    if websocket is None:
        return
    try:
        who = websocket_principal(websocket.scope, context.connection_params, authenticator)
    except AuthError as exc:
        client = websocket.scope.get("client") or ("?", 0)
        log.info("refused websocket connection_init from %s: %s", client[0], exc)
        raise ConnectionRejectionError({"message": exc.message}) from None
    context.role, context.principal, context.scope = who.role, who.name, who.scope
