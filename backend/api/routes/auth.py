"""Sign-in with Ethereum: POST /auth/nonce, POST /auth/verify (gives a bearer token), GET /auth/session."""

from __future__ import annotations

from fastapi import APIRouter, Response

from backend.api.deps import MAX_JSON_BODY, AuthDep, SessionDep
from backend.api.models import NonceOut, SessionOut, SignInIn, SignInOut, error_responses

__all__ = ["router"]

#: A sign-in body is a short message and a signature; a bigger one is refused before it is buffered.
router = APIRouter(prefix="/auth", tags=["auth"], max_body_size=MAX_JSON_BODY)


# Plain `def`: issuing and checking may wait on a shared nonce database or a wallet's isValidSignature call,
# so they run in the thread pool instead of blocking the event loop.
@router.post("/nonce", response_model=NonceOut, responses=error_responses(503))
def new_nonce(auth: AuthDep, response: Response) -> NonceOut:
    """A single-use nonce, and the domain, URI and chain id the signed message must name."""
    nonce, expires = auth.nonces.issue()
    response.headers["Cache-Control"] = "no-store"
    return NonceOut(
        nonce=nonce,
        expires_at=int(expires),
        domain=auth.domain,
        uri=auth.uri,
        chain_id=min(auth.chain_ids),
        statement=auth.statement,
    )


@router.post("/verify", response_model=SignInOut, responses=error_responses(400, 401, 413, 422, 503))
def verify(auth: AuthDep, body: SignInIn, response: Response) -> SignInOut:
    """Check a signed EIP-4361 message (domain, chain, times, signer, unused nonce); start a session."""
    _msg, session, token = auth.sign_in(body.message, body.signature)
    response.headers["Cache-Control"] = "no-store"
    return SignInOut(token=token, address=session.address, expires_at=session.expires_at)


@router.get("/session", response_model=SessionOut, responses=error_responses(401))
async def current(session: SessionDep) -> SessionOut:
    """Who the bearer token belongs to, and until when."""
    return SessionOut(address=session.address, expires_at=session.expires_at)
