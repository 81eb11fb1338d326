"""The directory's errors (:mod:`bridge.errors`) as SCIM errors, at the edge of every
backend method.

Unreachable or 5xx → 503 with ``Retry-After``, 409 → ``uniqueness``, 400 (a value
Keycloak's user profile refuses) → ``invalidValue``, each in the bridge's words (Keycloak's
text is logged, never returned). Values Keycloak would refuse or fail on (a 256-character
group name is a Keycloak 500) are found before the write by :mod:`bridge.keycloak.limits`
→ ``invalidValue``, never a 503. A lock held too long, or a lock service unreachable, is a
503 too.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from bridge import errors as domain
from bridge.locks import LockTimeout, LockUnavailable
from bridge.provisioning.mapping import scim_name
from scim import errors

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


def translated(method: F) -> F:
    """Directory and lock failures → SCIM errors, at the edge of every backend method."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except LockTimeout as exc:
            logger.info("write refused: %s", exc)
            raise errors.BackendUnavailable(
                "Another write to this resource is in progress, retry", retry_after=1
            ) from None
        except LockUnavailable as exc:
            logger.warning("lock service unavailable: %s", exc)
            raise errors.BackendUnavailable(
                "The lock service is unreachable, retry later", retry_after=self.retry_after
            ) from None
        except domain.Unavailable as exc:
            logger.warning("Keycloak unavailable: %s", exc)
            raise errors.BackendUnavailable(
                "The directory is unreachable, retry later", retry_after=self.retry_after
            ) from None
        except domain.Refused as exc:
            if exc.field is not None and exc.reason is not None:
                # Found before any write: the value would be refused, or make Keycloak fail.
                raise errors.InvalidValue(f"{scim_name(exc.field)} {exc.reason}") from None
            # Keycloak's own text stays in the log; the client reads the bridge's words.
            logger.info("Keycloak refused a value: %s", exc.detail)
            raise errors.InvalidValue(exc.words) from None
        except domain.Duplicate as exc:
            logger.info("Keycloak refused a duplicate: %s", exc.detail)
            raise errors.Uniqueness(exc.words) from None
        except domain.NotFound:
            raise errors.NotFound("Resource not found") from None
        except domain.TooLarge:
            raise errors.PayloadTooLarge(
                "The resource is larger than the directory stores") from None
        except domain.DirectoryError as exc:
            logger.warning("Keycloak admin call failed: %s", exc)
            raise errors.BackendUnavailable(
                "The directory failed, retry later", retry_after=self.retry_after
            ) from None

    return wrapper  # type: ignore[return-value]
