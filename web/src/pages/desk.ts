// The trading desk: accounts and their state, one account's positions, orders, fills and
// equity / drawdown; risk denials; the kill switch (asks for the token); the daily ML
// report's state; model aliases with promote / rollback; services' health.

import { ApiError, get, send } from "../api";
import { lineChart } from "../chart";
import { dataTable, el, isoNs, section, toast } from "../ui";

interface Account { account: string; mode: string; name: string; trading_state: string; reason: string; equity: number; daily_pnl: number | null; initial_cash: number; fills: number }
interface ModeRow { account: string; mode: string; since: string | null; week: number | null; step: number | null; limits: Record<string, unknown>; reason: string }
interface Routing { mode: string; venue_share: number; canary_fraction: number; cooldown_until: string | null; fail_safe_until: string | null; frozen_until: string | null; last_switch: Record<string, unknown> }
interface Exposure {
  accounts?: ModeRow[]; error?: string;
  rollout?: { routing: Routing; releases: { model_id: string; stage: string; outcome: string | null; stage_started: string }[]; executor: Record<string, unknown>; guard: Record<string, unknown> };
}
interface Desk {
  accounts: Account[]; kill_switch: boolean; report: { state: string | null; detail: string | null; plots: string[] };
  risk_denials: Record<string, number>; models: Record<string, Record<string, string>>; services: Record<string, { state?: string; restarts?: number }>;
  exposure: Exposure;
}
interface Detail extends Account {
  positions: Record<string, unknown>[]; open_orders: Record<string, unknown>[]; recent_fills: Record<string, unknown>[];
  equity_curve: { ts: number[]; equity: number[]; drawdown: number[] };
}

const money = (v: number | null | undefined): string => v === null || v === undefined ? "" : v.toLocaleString("en-US", { maximumFractionDigits: 2 });

async function accountDetail(holder: HTMLElement, account: Account): Promise<void> {
  const d = await get<Detail>(`/v1/desk/accounts/${account.mode}/${account.name}`);
  const seconds = d.equity_curve.ts.map((ts) => ts / 1e9);
  const parts: Node[] = [el("h3", {}, d.account)];
  if (seconds.length) {
    parts.push(lineChart("equity", seconds, [{ label: "equity", values: d.equity_curve.equity, color: "#3c9" }], 620, 200, true));
    parts.push(lineChart("drawdown", seconds, [{ label: "drawdown", values: d.equity_curve.drawdown, color: "#e55" }], 620, 140, true));
  } else parts.push(el("p", { class: "muted" }, "no fills yet"));
  holder.replaceChildren(
    ...parts,
    el("h4", {}, "positions"), dataTable(d.positions, [
      { key: "symbol", label: "symbol", value: (r) => r.symbol },
      { key: "quantity", label: "quantity", value: (r) => Number(r.quantity), numeric: true },
      { key: "avg", label: "avg price", value: (r) => Number(r.avg_price), numeric: true },
      { key: "pnl", label: "realized PnL", value: (r) => Number(r.realized_pnl), numeric: true },
    ]),
    el("h4", {}, "open orders"), dataTable(d.open_orders, [
      { key: "symbol", label: "symbol", value: (r) => r.symbol }, { key: "side", label: "side", value: (r) => r.side },
      { key: "qty", label: "quantity", value: (r) => Number(r.quantity), numeric: true }, { key: "status", label: "status", value: (r) => r.status },
      { key: "reason", label: "reason", value: (r) => r.reason },
    ]),
    el("h4", {}, "recent fills"), dataTable(d.recent_fills, [
      { key: "ts", label: "time", value: (r) => isoNs(r.ts_event as number) }, { key: "symbol", label: "symbol", value: (r) => r.symbol },
      { key: "side", label: "side", value: (r) => r.side }, { key: "qty", label: "quantity", value: (r) => Number(r.quantity), numeric: true },
      { key: "price", label: "price", value: (r) => Number(r.price), numeric: true }, { key: "reason", label: "reason", value: (r) => r.reason },
    ]));
}

function killSwitch(desk: Desk, reload: () => void): HTMLElement {
  const reason = el("input", { id: "halt-reason", placeholder: "why (kept in the audit)", "aria-label": "halt reason" });
  const halt = el("button", { type: "button", class: "danger", id: "halt" }, "halt trading");
  const resume = el("button", { type: "button", id: "resume" }, "resume");
  halt.addEventListener("click", async () => {
    if (!reason.value.trim()) { toast("give a reason for the halt", "error"); reason.focus(); return; }
    try { await send("POST", "/halt", { reason: reason.value.trim() }); toast("halted: the kill switch is on"); reload(); }
    catch (e) { toast(e instanceof ApiError ? `refused: ${e.message}` : String(e), "error"); }
  });
  resume.addEventListener("click", async () => {
    if (!window.confirm("Lift the kill switch and let trading resume?")) return;
    try { await send("POST", "/resume"); toast("resumed"); reload(); }
    catch (e) { toast(e instanceof ApiError ? `refused: ${e.message}` : String(e), "error"); }
  });
  return el("div", { class: "controls" },
    el("span", { id: "kill-state", class: `badge ${desk.kill_switch ? "halted" : "ok"}` }, desk.kill_switch ? "KILL SWITCH ON" : "trading allowed"),
    reason, halt, resume);
}

function models(desk: Desk, reload: () => void): HTMLElement {
  const rows = Object.entries(desk.models).flatMap(([name, aliases]) => Object.entries(aliases).map(([alias, id]) => ({ name, alias, id })));
  const act = (name: string): HTMLElement => {
    const promote = el("button", { type: "button", "data-promote": name }, "promote candidate");
    const rollback = el("button", { type: "button", class: "danger", "data-rollback": name }, "rollback");
    promote.addEventListener("click", async () => {
      try { const r = await send<{ decision: string }>("POST", `/v1/models/${name}/promote`, { ref: "candidate", to: "active" }); toast(`${name}: ${r.decision}`); reload(); }
      catch (e) { toast((e as Error).message, "error"); }
    });
    rollback.addEventListener("click", async () => {
      const reason = window.prompt(`Roll ${name} back to its previous active version? Reason:`, "");
      if (!reason) return;
      try { await send("POST", `/v1/models/${name}/rollback`, { reason }); toast(`${name} rolled back`); reload(); }
      catch (e) { toast((e as Error).message, "error"); }
    });
    return el("span", {}, promote, rollback);
  };
  return dataTable(rows, [
    { key: "name", label: "model", value: (r) => r.name }, { key: "alias", label: "alias", value: (r) => r.alias },
    { key: "id", label: "version", value: (r) => r.id }, { key: "act", label: "", value: () => "", show: (r) => r.alias === "active" ? act(r.name) : "" },
  ]);
}

const pct = (v: unknown): string => typeof v === "number" ? `${(v * 100).toFixed(1)}%` : "-";

function exposure(ex: Exposure): HTMLElement {
  if (ex.error || !ex.rollout) return el("p", { class: "muted" }, ex.error ?? "no modes recorded yet");
  const r = ex.rollout.routing, g = ex.rollout.guard, x = ex.rollout.executor;
  const limits = (m: ModeRow): string => Object.entries(m.limits).filter(([k]) => k !== "first_day")
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("/") : v ?? "-"}`).join(", ");
  const notes = [r.cooldown_until && `cooldown until ${r.cooldown_until}`, r.fail_safe_until && `fail-safe (paper) until ${r.fail_safe_until}`,
    r.frozen_until && `thresholds frozen until ${r.frozen_until}`].filter(Boolean).join("; ");
  return el("div", { id: "exposure" },
    dataTable(ex.accounts ?? [], [
      { key: "account", label: "account", value: (m) => m.account },
      { key: "mode", label: "mode", value: (m) => m.mode, show: (m) => el("span", { class: `badge mode-${m.mode}` }, m.mode) },
      { key: "since", label: "since", value: (m) => m.since ?? "" },
      { key: "week", label: "ramp week / step", value: (m) => m.week ?? 0, show: (m) => m.week ? `week ${m.week}, step ${m.step}${m.limits.first_day ? " (first day)" : ""}` : "-" },
      { key: "limits", label: "limits", value: (m) => limits(m) },
    ]),
    el("p", { id: "routing" }, el("span", { class: `badge routing-${r.mode}` }, `routing ${r.mode}`),
      ` venue share ${pct(r.venue_share)}, realised ${pct(x.executor_canary_fraction_realized)}; canary win ${pct(g.winrate_canary)} vs baseline ${pct(g.winrate_baseline_active)} (${g.sample_canary ?? 0} trades)`,
      notes ? `; ${notes}` : "",
      r.last_switch && r.last_switch.to ? `; last switch ${r.last_switch.from} -> ${r.last_switch.to}: ${r.last_switch.reason}` : ""),
    dataTable(ex.rollout.releases, [
      { key: "model", label: "release", value: (e) => e.model_id }, { key: "stage", label: "stage", value: (e) => e.stage },
      { key: "since", label: "stage since", value: (e) => e.stage_started }, { key: "outcome", label: "outcome", value: (e) => e.outcome ?? "running" },
    ]));
}

export async function deskPage(root: HTMLElement): Promise<void> {
  const reload = (): void => { void deskPage(root); };
  const desk = await get<Desk>("/v1/desk");
  const detail = el("div", { id: "account-detail" });
  const state = desk.report.state ?? "no report yet";
  root.replaceChildren(
    section("Kill switch", killSwitch(desk, reload)),
    section("Modes & rollout", exposure(desk.exposure)),
    section("Accounts", dataTable(desk.accounts, [
      { key: "account", label: "account", value: (a) => a.account },
      { key: "state", label: "state", value: (a) => a.trading_state, show: (a) => el("span", { class: `badge ${a.trading_state.toLowerCase()}` }, a.trading_state) },
      { key: "equity", label: "equity", value: (a) => a.equity, show: (a) => money(a.equity), numeric: true },
      { key: "pnl", label: "today's PnL", value: (a) => a.daily_pnl ?? 0, show: (a) => money(a.daily_pnl), numeric: true },
      { key: "fills", label: "fills", value: (a) => a.fills, numeric: true },
    ], { onRow: (a) => void accountDetail(detail, a) }), detail),
    section("Risk denials", dataTable(Object.entries(desk.risk_denials).map(([code, n]) => ({ code, n })), [
      { key: "code", label: "code", value: (r) => r.code }, { key: "n", label: "orders denied", value: (r) => r.n, numeric: true },
    ])),
    section("Daily ML report", el("p", {}, el("span", { id: "report-state", class: `badge ${state}` }, state), " ", desk.report.detail ?? ""),
      el("div", { class: "plots" }, ...desk.report.plots.map((p) => el("img", { src: `/v1/desk/reports/${p}`, alt: `report plot ${p}`, loading: "lazy" })))),
    section("Models", models(desk, reload)),
    section("Services", dataTable(Object.entries(desk.services).map(([name, s]) => ({ name, ...s })), [
      { key: "name", label: "service", value: (r) => r.name }, { key: "state", label: "state", value: (r) => r.state ?? "" },
      { key: "restarts", label: "restarts", value: (r) => r.restarts ?? 0, numeric: true },
    ])));
  if (desk.accounts.length) await accountDetail(detail, desk.accounts[0]);
}
