"""Sign-in with Ethereum: POST /auth/nonce, POST /auth/verify (gives a bearer token), GET /auth/session."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from backend.api.bodies import BODY_ERRORS, SafeJsonRoute
from backend.api.deps import MAX_JSON_BODY, AuthDep, WalletSessionDep, client_key
from backend.api.models import NonceOut, SessionOut, SignInIn, SignInOut, error_responses

__all__ = ["router"]

#: A sign-in body is a short message and a signature; a bigger one is refused before it is buffered.
router = APIRouter(prefix="/auth", tags=["auth"], max_body_size=MAX_JSON_BODY, route_class=SafeJsonRoute)


# Plain `def`: issuing and checking may wait on a shared nonce database or a wallet's isValidSignature call,
# so they run in the thread pool instead of blocking the event loop.
@router.post("/nonce", response_model=NonceOut, responses=error_responses(503))
def new_nonce(auth: AuthDep, request: Request, response: Response) -> NonceOut:
    """A single-use nonce, and the domain, URI and chain id the signed message must name.

    One client holds at most CURATION_API_MAX_NONCES_PER_CLIENT unused nonces (429 past that).
    """
    nonce, expires = auth.nonces.issue(client_key(request))
    response.headers["Cache-Control"] = "no-store"
    return NonceOut(
        nonce=nonce,
        expires_at=int(expires),
        domain=auth.domain,
        uri=auth.uri,
        chain_id=min(auth.chain_ids),
        statement=auth.statement,
    )


@router.post("/verify", response_model=SignInOut, responses=error_responses(*BODY_ERRORS, 401, 503))
def verify(auth: AuthDep, body: SignInIn, response: Response) -> SignInOut:
    """Check a signed EIP-4361 message (domain, scheme and URI, chain, times, signer, unused nonce).

    The answer is a bearer session token.
    """
    _msg, session, token = auth.sign_in(body.message, body.signature)
    response.headers["Cache-Control"] = "no-store"
    return SignInOut(token=token, address=session.address, expires_at=session.expires_at)


@router.get("/session", response_model=SessionOut, responses=error_responses(401))
async def current(session: WalletSessionDep) -> SessionOut:
    """Who the bearer token belongs to, and until when."""
    return SessionOut(address=session.address, expires_at=session.expires_at)
