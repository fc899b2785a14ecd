"""Chain access: compiled artifacts, connection, deployment and typed contract wrappers (the only web3 user)."""

__all__: list[str] = []
