"""How uvicorn runs the API (`curation serve`, `curation demo --serve`): proxy headers and logging."""

from __future__ import annotations

import copy
from typing import Any

from uvicorn.config import LOG_LEVELS, LOGGING_CONFIG

from backend.settings import Settings

__all__ = ["uvicorn_options"]


def uvicorn_options(settings: Settings, log_level: str = "info") -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run` / `uvicorn.Config` besides the app, host and port.

    Proxy headers: uvicorn believes `X-Forwarded-For`/`-Proto` from 127.0.0.1 unless told otherwise, so any
    local client (or anything a local reverse proxy passes through unfiltered) could pick the address it is
    rate-limited as. Here they are read only when CURATION_API_TRUSTED_PROXIES lists proxies, and only from
    those (uvicorn's `forwarded_allow_ips`); by default the client is the TCP peer.

    Logging: uvicorn's own configuration plus the `backend` loggers at the same level, so the API's error
    log lines (with their request ids, see backend.api.errors) reach the server log.
    """
    proxies = list(settings.api_trusted_proxies)
    log_config = copy.deepcopy(LOGGING_CONFIG)
    level = LOG_LEVELS.get(log_level.lower(), LOG_LEVELS["info"])
    log_config["loggers"]["backend"] = {"handlers": ["default"], "level": level, "propagate": False}
    return {
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies or [],
        "log_level": log_level,
        "log_config": log_config,
    }
