// Serving registry: versions, aliases, a diff of two versions, and activate (rollback)
// with confirmation.

import { get, send } from "../api";
import { dataTable, el, section, toast } from "../ui";

interface Version { serving_id: string; name: string; published_at: string; runtime_snapshot: Record<string, unknown> }

export async function servingPage(root: HTMLElement): Promise<void> {
  const [{ versions }, { aliases }] = await Promise.all([
    get<{ versions: Version[] }>("/v1/serving/versions"),
    get<{ aliases: Record<string, string> }>("/v1/serving/aliases"),
  ]);
  const a = el("select", { id: "diff-a", "aria-label": "first version" }, ...versions.map((v) => el("option", { value: v.serving_id }, `${v.name} ${v.serving_id}`)));
  const b = el("select", { id: "diff-b", "aria-label": "second version" }, ...versions.map((v) => el("option", { value: v.serving_id }, `${v.name} ${v.serving_id}`)));
  if (versions.length > 1) b.selectedIndex = 1;
  const diffOut = el("pre", { id: "diff", class: "preview" });
  const diff = el("button", { type: "button" }, "diff");
  diff.addEventListener("click", async () => {
    try { diffOut.textContent = JSON.stringify(await get(`/v1/serving/diff?a=${a.value}&b=${b.value}`), null, 1); }
    catch (e) { diffOut.textContent = (e as Error).message; }
  });
  const aliasRows = Object.entries(aliases).map(([alias, id]) => ({ alias, id }));
  const activate = (alias: string): HTMLElement => {
    const target = el("select", { "aria-label": `version for ${alias}`, "data-alias": alias }, ...versions.map((v) => el("option", { value: v.serving_id }, v.serving_id)));
    target.value = aliases[alias];
    const button = el("button", { type: "button", class: "danger", "data-activate": alias }, "activate");
    button.addEventListener("click", async () => {
      const reason = window.prompt(`Point ${alias} at ${target.value}? Give the reason (kept in the audit):`, "rollback");
      if (!reason) return;
      try { await send("POST", `/v1/serving/aliases/${alias}/activate`, { serving_id: target.value, reason }); toast(`${alias} -> ${target.value}`); await servingPage(root); }
      catch (e) { toast((e as Error).message, "error"); }
    });
    return el("span", {}, target, button);
  };
  root.replaceChildren(
    section("Serving aliases", dataTable(aliasRows, [
      { key: "alias", label: "alias", value: (r) => r.alias },
      { key: "id", label: "serving", value: (r) => r.id, show: (r) => el("code", { "data-current": r.alias }, r.id) },
      { key: "act", label: "activate", value: () => "", show: (r) => activate(r.alias) },
    ])),
    section("Versions", dataTable(versions, [
      { key: "id", label: "serving id", value: (v) => v.serving_id },
      { key: "name", label: "name", value: (v) => v.name },
      { key: "published", label: "published", value: (v) => v.published_at },
      { key: "run", label: "from run", value: (v) => String(v.runtime_snapshot.run_id ?? "") },
    ], { filter: true })),
    section("Diff", el("div", { class: "controls" }, a, b, diff), diffOut));
}
