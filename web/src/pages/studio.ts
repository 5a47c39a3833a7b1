// Model studio: the 7-step wizard. A step's form is enabled only when the step before it
// is committed (the server refuses a skipped step too: 409); each step can be previewed.

import { get, send } from "../api";
import { el, section, toast } from "../ui";

const STEPS = ["dataset", "gold", "signal", "eval", "experiment", "review", "promotion"] as const;
const TEMPLATES: Record<string, unknown> = {
  dataset: { pipeline: "es_evening" },
  gold: { gold: {} },
  signal: { signal: { name: "composite_threshold", params: { threshold: 0.05 } } },
  eval: { eval: {} },
  experiment: { sweep: { kind: "grid", params: { "eval.tp_ticks": [4, 8] } } },
  review: { run_id: "" },
  promotion: { alias: "studio", reason: "reviewed in the model studio" },
};

interface Session { session_id: string; name: string; state: string; steps: Record<string, unknown>; next_step: string | null; workspace_id: string }

export async function studioPage(root: HTMLElement): Promise<void> {
  const { sessions } = await get<{ sessions: Session[] }>("/v1/modeling/sessions");
  const name = el("input", { id: "session-name", value: "my-session", "aria-label": "new session name" });
  const create = el("button", { type: "button", class: "primary", id: "create-session" }, "new session");
  const pick = el("select", { id: "session", "aria-label": "session" },
    ...sessions.map((s) => el("option", { value: s.session_id }, `${s.name} (${s.state})`)));
  const wizard = el("ol", { id: "wizard", class: "wizard" });
  const show = async (id: string): Promise<void> => {
    const session = await get<Session>(`/v1/modeling/sessions/${id}`);
    wizard.replaceChildren(...STEPS.map((step, i) => {
      const committed = step in session.steps;
      const open = committed || session.next_step === step;
      const text = el("textarea", { rows: "4", "aria-label": `${step} step as JSON`, "data-step": step },
        JSON.stringify(session.steps[step] ?? TEMPLATES[step], null, 1));
      const commit = el("button", { type: "button", class: "primary", "data-commit": step }, committed ? "re-commit" : "commit");
      const preview = el("button", { type: "button", "data-preview": step }, "preview");
      const out = el("pre", { class: "preview", "data-out": step });
      if (!open) { [text, commit, preview].forEach((n) => n.setAttribute("disabled", "")); }
      const body = (): unknown => { try { return JSON.parse(text.value); } catch { toast(`${step}: not JSON`, "error"); throw new Error("bad json"); } };
      commit.addEventListener("click", async () => {
        try { await send("POST", `/v1/modeling/sessions/${id}/steps/${step}`, body()); toast(`${step} committed`); await show(id); }
        catch (e) { out.textContent = (e as Error).message; toast((e as Error).message, "error"); }
      });
      preview.addEventListener("click", async () => {
        try { out.textContent = JSON.stringify(await send("POST", `/v1/modeling/sessions/${id}/steps/${step}/preview`, body()), null, 1).slice(0, 4000); }
        catch (e) { out.textContent = (e as Error).message; }
      });
      return el("li", { class: `step ${committed ? "committed" : open ? "open" : "locked"}`, "data-state": committed ? "committed" : open ? "open" : "locked" },
        el("h3", {}, `${i + 1}. ${step}`, committed ? " ✓" : ""), text, el("div", { class: "controls" }, commit, preview), out);
    }));
  };
  pick.addEventListener("change", () => void show(pick.value));
  create.addEventListener("click", async () => {
    try {
      const made = await send<Session>("POST", "/v1/modeling/sessions", { name: name.value });
      pick.prepend(el("option", { value: made.session_id }, `${made.name} (${made.state})`));
      pick.value = made.session_id;
      await show(made.session_id);
    } catch (e) { toast((e as Error).message, "error"); }
  });
  root.replaceChildren(section("Model studio",
    el("div", { class: "controls" }, el("label", {}, "session ", pick), el("label", {}, "name ", name), create), wizard));
  if (sessions.length) await show(sessions[0].session_id);
}
