"""APIConfig: the official SDK's configuration class, over ``bai_config_t``."""

from __future__ import annotations

import ctypes
from typing import Iterable, Optional, Sequence, Union

from . import _lib
from .exceptions import check

_ENDPOINT_TYPES = {"api": _lib.BAI_ENDPOINT_API, "session": _lib.BAI_ENDPOINT_SESSION}


def _ms(seconds: Optional[float]) -> Optional[int]:
    return None if seconds is None else int(round(float(seconds) * 1000))


class APIConfig:
    """Configuration of an API session, as ``ai.backend.client.config.APIConfig``.

    Every argument left as ``None`` comes from the environment exactly as the SDK reads it
    (``BACKEND_ENDPOINT``, ``BACKEND_ACCESS_KEY``, ``BACKEND_SECRET_KEY``, ... with ``SORNA_*``
    fallbacks), else from the SDK's defaults. Timeouts are in seconds, as in the SDK.
    ``retry_budget`` (seconds, not in the SDK) bounds how long a resumable transfer retries
    transient failures without progress (``bai_config_set_retry_budget_ms``).
    """

    def __init__(
        self,
        *,
        endpoint: Union[str, Sequence[str], None] = None,
        endpoint_type: Optional[str] = None,
        domain: Optional[str] = None,
        group: Optional[str] = None,
        version: Optional[str] = None,
        user_agent: Optional[str] = None,
        access_key: Optional[str] = None,
        secret_key: Optional[str] = None,
        hash_type: Optional[str] = None,
        vfolder_mounts: Optional[Iterable[str]] = None,
        skip_sslcert_validation: Optional[bool] = None,
        connection_timeout: Optional[float] = None,
        read_timeout: Optional[float] = None,
        request_timeout: Optional[float] = None,
        ca_file: Optional[str] = None,
        http_proxy: Optional[str] = None,
        username: Optional[str] = None,
        password: Optional[str] = None,
        sync_downloads: Optional[bool] = None,
        retry_budget: Optional[float] = None,
    ) -> None:
        if endpoint is not None and not isinstance(endpoint, str):
            endpoint = ",".join(str(e) for e in endpoint)
        if endpoint_type is not None and endpoint_type not in _ENDPOINT_TYPES:
            raise ValueError(f"endpoint_type must be 'api' or 'session', not {endpoint_type!r}")
        if (access_key is None) != (secret_key is None):
            raise ValueError("give both access_key and secret_key, or neither")
        self._values = dict(
            endpoint=endpoint, endpoint_type=endpoint_type, domain=domain, group=group,
            version=version, user_agent=user_agent, access_key=access_key,
            secret_key=secret_key, hash_type=hash_type,
            vfolder_mounts=None if vfolder_mounts is None else list(vfolder_mounts),
            skip_sslcert_validation=skip_sslcert_validation,
            connection_timeout=connection_timeout, read_timeout=read_timeout,
            request_timeout=request_timeout, ca_file=ca_file, http_proxy=http_proxy,
            username=username, password=password, sync_downloads=sync_downloads,
            retry_budget=retry_budget,
        )
        # Validate now (as the SDK does at construction): build once and throw it away.
        _lib.bai_config_free(self._build())

    # Read-only views in the SDK's style.
    @property
    def endpoint(self) -> Optional[str]:
        """The endpoint URL(s), comma-separated when several."""
        if self._values["endpoint"] is not None:
            return self._values["endpoint"]
        return ",".join(self.describe().get("endpoints") or []) or None

    @property
    def access_key(self) -> Optional[str]:
        """The access key (the secret key is never readable back)."""
        return self._values["access_key"] or self.describe().get("access_key")

    @property
    def domain(self) -> Optional[str]:
        """The domain name."""
        return self._values["domain"] or self.describe().get("domain")

    @property
    def group(self) -> Optional[str]:
        """The group (project) name."""
        return self._values["group"] or self.describe().get("group")

    def __repr__(self) -> str:
        # Never show the secret key or password.
        return f"<APIConfig {self.describe()!r}>"

    def describe(self) -> dict:
        """The configuration as the library reports it (secrets omitted)."""
        import json

        cfg = self._build()
        try:
            buf = _lib.bai_buf_t()
            check(_lib.bai_config_describe(cfg, ctypes.byref(buf)))
            return json.loads(_lib.take_buf(buf).decode())
        finally:
            _lib.bai_config_free(cfg)

    def _build(self) -> int:
        """Creates a ``bai_config_t`` (the caller frees it)."""
        v = self._values
        out = ctypes.c_void_p()
        check(_lib.bai_config_from_env(ctypes.byref(out)))
        cfg = out.value
        try:
            def s(x):
                return x.encode() if isinstance(x, str) else x

            if v["endpoint"] is not None:
                check(_lib.bai_config_set_endpoint(cfg, s(v["endpoint"])))
            if v["endpoint_type"] is not None:
                check(_lib.bai_config_set_endpoint_type(cfg, _ENDPOINT_TYPES[v["endpoint_type"]]))
            if v["access_key"] is not None:
                check(_lib.bai_config_set_keypair(cfg, s(v["access_key"]), s(v["secret_key"])))
            if v["username"] is not None:
                check(_lib.bai_config_set_login(cfg, s(v["username"]), s(v["password"] or "")))
            for key, fn in (
                ("domain", _lib.bai_config_set_domain),
                ("group", _lib.bai_config_set_group),
                ("version", _lib.bai_config_set_api_version),
                ("user_agent", _lib.bai_config_set_user_agent),
                ("hash_type", _lib.bai_config_set_hash_type),
                ("ca_file", _lib.bai_config_set_ca_file),
                ("http_proxy", _lib.bai_config_set_http_proxy),
            ):
                if v[key] is not None:
                    check(fn(cfg, s(v[key])))
            if v["vfolder_mounts"] is not None:
                check(_lib.bai_config_set_vfolder_mounts(cfg, ",".join(v["vfolder_mounts"]).encode()))
            if v["skip_sslcert_validation"] is not None:
                check(_lib.bai_config_set_skip_tls_verify(cfg, bool(v["skip_sslcert_validation"])))
            if v["sync_downloads"] is not None:
                check(_lib.bai_config_set_sync_downloads(cfg, bool(v["sync_downloads"])))
            for key, fn in (
                ("connection_timeout", _lib.bai_config_set_connect_timeout_ms),
                ("read_timeout", _lib.bai_config_set_read_timeout_ms),
                ("request_timeout", _lib.bai_config_set_request_timeout_ms),
                ("retry_budget", _lib.bai_config_set_retry_budget_ms),
            ):
                if v[key] is not None:
                    check(fn(cfg, _ms(v[key])))
        except BaseException:
            _lib.bai_config_free(cfg)
            raise
        return cfg
