"""Provider routing: a pure function of the capability matrix, priority and entitlements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tradeloop.data.config import ProviderCapability
from tradeloop.domain.asset_class import AssetClass

NO_VALID_PROVIDER = "NO_VALID_PROVIDER"


@dataclass(frozen=True, slots=True)
class Route:
    """Providers to try in order, and why each other provider was passed over."""

    symbol: str
    asset_class: AssetClass
    candidates: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]

    @property
    def explanation(self) -> str:
        parts = [f"{name}: {reason}" for name, reason in self.skipped]
        return "; ".join(parts) if parts else "all providers eligible"


def route_symbol(
    symbol: str,
    asset_class: AssetClass,
    history_days: int,
    *,
    capabilities: Mapping[str, ProviderCapability],
    priority: tuple[str, ...],
    entitled: Mapping[str, bool],
    available: frozenset[str],
    disabled: Mapping[str, str] | None = None,
) -> Route:
    """Order the providers that support the class, cover ``history_days`` and are entitled.

    ``entitled`` says, per provider that requires it, whether <NAME>_ENABLED and its
    credentials are present; ``available`` names the providers that have an adapter;
    ``disabled`` maps providers switched off earlier in this run (a 400/401/403, or
    repeated failures) to the reason.
    """
    candidates: list[str] = []
    skipped: list[tuple[str, str]] = []
    for name in priority:
        capability = capabilities.get(name)
        if capability is None:
            skipped.append((name, "no capability entry"))
        elif name not in available:
            skipped.append((name, "not configured"))
        elif disabled and name in disabled:
            skipped.append((name, disabled[name]))
        elif not getattr(capability, asset_class.value):
            skipped.append((name, f"does not serve {asset_class.value}"))
        elif history_days > capability.max_history_days:
            skipped.append(
                (name, f"{history_days} days > max_history_days {capability.max_history_days}")
            )
        elif capability.requires_entitlement and not entitled.get(name, False):
            skipped.append((name, "not entitled"))
        else:
            candidates.append(name)
    return Route(symbol, asset_class, tuple(candidates), tuple(skipped))
