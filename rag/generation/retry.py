"""Retrying an LLM request: which failures are worth another try and how long to wait first."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRYABLE_STATUS = frozenset({408, 409, 429})
"""HTTP statuses below 500 worth retrying: request timeout, conflict, rate limit."""

MAX_RETRY_AFTER_SECONDS = 60.0
"""The longest ``Retry-After`` honoured; a server asking for more gets no further try."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter; a server's ``Retry-After`` wins when it gives one.

    Attempt ``n`` (0-based) that failed is followed by a sleep drawn uniformly from
    ``[0, min(cap_seconds, base_seconds * 2**n)]``.
    """

    max_retries: int = 2
    base_seconds: float = 0.5
    cap_seconds: float = 8.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    @property
    def attempts(self) -> int:
        """The most requests one call may send."""
        return self.max_retries + 1

    def delay(self, failed_attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after attempt ``failed_attempt`` (0-based) failed."""
        if retry_after is not None:
            return retry_after
        ceiling = min(self.cap_seconds, self.base_seconds * 2.0**failed_attempt)
        return self.rng.uniform(0.0, ceiling)


def is_retryable(error: BaseException) -> bool:
    """True for failures a new request may cure: no connection, a timeout, 408/409/429, 5xx."""
    import openai

    if isinstance(error, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(error, openai.APIStatusError):
        code = error.status_code
        return code in RETRYABLE_STATUS or code >= 500
    return False


def retry_after(error: BaseException) -> float | None:
    """The wait the server asked for (``retry-after-ms`` or ``Retry-After``), if any."""
    response = getattr(error, "response", None)
    headers: Mapping[str, str] | None = getattr(response, "headers", None)
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            seconds = float(millis) / 1000.0
        except ValueError:
            seconds = math.nan
        if math.isfinite(seconds):
            return max(seconds, 0.0)
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _next_wait(policy: RetryPolicy, attempt: int, error: BaseException) -> float | None:
    """Seconds to wait before retrying after ``error`` on ``attempt``, or None to give up."""
    if attempt + 1 >= policy.attempts or not is_retryable(error):
        return None
    asked = retry_after(error)
    if asked is not None and asked > MAX_RETRY_AFTER_SECONDS:
        return None
    return policy.delay(attempt, asked)


class Attempts:
    """Counts the requests one call sent, for the error message when all of them failed."""

    def __init__(self) -> None:
        self.count = 0


def call(
    request: Callable[[], T],
    policy: RetryPolicy,
    attempts: Attempts,
    *,
    what: str,
    sleep: Callable[[float], Any] = time.sleep,
) -> T:
    """Return ``request()``, retrying retryable failures under ``policy``; re-raises the last."""
    while True:
        attempts.count += 1
        try:
            return request()
        except Exception as error:
            wait = _next_wait(policy, attempts.count - 1, error)
            if wait is None:
                raise
            _log_retry(what, error, attempts.count, policy, wait)
        sleep(wait)


async def acall(
    request: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    attempts: Attempts,
    *,
    what: str,
) -> T:
    """Like ``call`` for a coroutine, sleeping with ``asyncio.sleep``."""
    while True:
        attempts.count += 1
        try:
            return await request()
        except Exception as error:
            wait = _next_wait(policy, attempts.count - 1, error)
            if wait is None:
                raise
            _log_retry(what, error, attempts.count, policy, wait)
        await asyncio.sleep(wait)


def _log_retry(
    what: str, error: BaseException, attempt: int, policy: RetryPolicy, wait: float
) -> None:
    status = getattr(error, "status_code", None)
    reason = f"HTTP {status}" if status is not None else type(error).__name__
    log.warning(
        "%s failed (%s) on attempt %d of %d; retrying in %.2fs",
        what,
        reason,
        attempt,
        policy.attempts,
        wait,
    )
