"""The model card: a version's manifest as Markdown a person reads before trusting it."""

from __future__ import annotations

from typing import Any

from tradeloop.registry.governance import model_entries


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "-" if value is None else str(value)


def render_model_card(name: str, manifest: dict[str, Any]) -> str:
    """Markdown: what the models predict, on what data, how well, and their limits."""
    lines = [
        f"# Model card: {name}",
        "",
        f"- Trained on data up to: {manifest.get('trained_end', '-')}",
        f"- Data range: {manifest.get('data_start', '-')} to {manifest.get('data_end', '-')}",
        f"- Features: {manifest.get('feature_version')} "
        f"(schema hash `{str(manifest.get('feature_schema_hash', ''))[:16]}`)",
        f"- Targets: {', '.join(map(str, manifest.get('targets', [])))}; horizons (bars): "
        f"{', '.join(map(str, manifest.get('horizons', [])))}",
        "",
        "## Out-of-sample evaluation (purged, embargoed walk-forward)",
        "",
        "| model | algorithm | rows | metric | model | naive baseline | precision@tau_entry "
        "| signals | avg MFE bps | avg MAE bps | tau_entry | tau_hold | parity max abs |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for filename, entry in sorted(model_entries(manifest).items()):
        metrics, base = entry.get("metrics") or {}, entry.get("baseline") or {}
        key = "brier" if "brier" in metrics else "mae"
        thresholds = entry.get("thresholds") or {}
        lines.append(
            f"| {filename} | {entry.get('algorithm', '-')} | {entry.get('rows', '-')} | {key} "
            f"| {_fmt(metrics.get(key))} | {_fmt(base.get(key))} "
            f"| {_fmt(metrics.get('precision_at_entry'))} | {_fmt(metrics.get('signals'))} "
            f"| {_fmt(metrics.get('avg_mfe_bps'))} | {_fmt(metrics.get('avg_mae_bps'))} "
            f"| {_fmt(thresholds.get('tau_entry'))} | {_fmt(thresholds.get('tau_hold'))} "
            f"| {_fmt(entry.get('parity_max_abs'))} |"
        )
    compared = {f: e["vs_active"] for f, e in model_entries(manifest).items() if "vs_active" in e}
    if compared:
        lines += [
            "",
            "## Against the active model on the same out-of-sample rows",
            "",
            "| model | active version | metric | candidate | active |",
            "|---|---|---|---|---|",
        ]
        for filename, versus in sorted(compared.items()):
            mine = model_entries(manifest)[filename].get("metrics") or {}
            theirs = versus.get("metrics") or {}
            key = "brier" if "brier" in mine else "mae"
            lines.append(
                f"| {filename} | {versus.get('model_version_id')} | {key} "
                f"| {_fmt(mine.get(key))} | {_fmt(theirs.get(key))} |"
            )
    failures = manifest.get("failures") or {}
    lines += [
        "",
        "## Limits",
        "",
        "- Probabilities are Platt-calibrated on earlier folds' out-of-sample predictions; "
        "thresholds are quantiles of those calibrated probabilities.",
        "- Scores are valid only for features computed by the feature version above; the "
        "scorer refuses other schema hashes.",
        "- A model older than the scorer's staleness limits is degraded, then refused.",
    ]
    lines += [f"- Not trained: {name_}: {reason}" for name_, reason in sorted(failures.items())]
    return "\n".join(lines) + "\n"
