// Small DOM helpers: elements, tables, numbers, a toast. No framework: the pages are few.

type Child = Node | string | number | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | ((e: Event) => void)> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (typeof value === "function") node.addEventListener(key.replace(/^on/, ""), value);
    else if (value === true) node.setAttribute(key, "");
    else if (value !== false) node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function fmt(value: unknown, digits = 4): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return String(value);
    return Number.isInteger(value) ? value.toLocaleString("en-US") : value.toPrecision(digits);
  }
  return String(value);
}

export function pct(value: number | null | undefined, digits = 2): string {
  return value === null || value === undefined ? "" : `${(value * 100).toFixed(digits)} %`;
}

export function isoNs(ns: number | string | bigint | null | undefined): string {
  if (ns === null || ns === undefined) return "";
  const ms = Number(BigInt(ns) / 1_000_000n);
  return new Date(ms).toISOString().replace("T", " ").slice(0, 19);
}

export interface Column<T> {
  key: string;
  label: string;
  value: (row: T) => unknown;
  show?: (row: T) => Node | string;
  numeric?: boolean;
}

/** A table with sortable headers (click or Enter) and an optional text filter. */
export function dataTable<T>(rows: T[], columns: Column<T>[], options: { filter?: boolean; caption?: string; onRow?: (row: T) => void } = {}): HTMLElement {
  let sortKey = "";
  let ascending = true;
  let needle = "";
  const body = el("tbody");
  const render = (): void => {
    const column = columns.find((c) => c.key === sortKey);
    let shown = rows.filter((row) =>
      needle === "" || columns.some((c) => String(c.value(row) ?? "").toLowerCase().includes(needle)));
    if (column) {
      shown = [...shown].sort((a, b) => {
        const x = column.value(a), y = column.value(b);
        const order = typeof x === "number" && typeof y === "number" ? x - y : String(x ?? "").localeCompare(String(y ?? ""));
        return ascending ? order : -order;
      });
    }
    body.replaceChildren(...shown.map((row) => {
      const tr = el("tr", options.onRow ? { tabindex: "0" } : {});
      if (options.onRow) {
        const open = (): void => options.onRow!(row);
        tr.addEventListener("click", open);
        tr.addEventListener("keydown", (e) => { if ((e as KeyboardEvent).key === "Enter") open(); });
        tr.classList.add("clickable");
      }
      for (const c of columns) {
        tr.append(el("td", c.numeric ? { class: "num" } : {}, c.show ? c.show(row) : fmt(c.value(row))));
      }
      return tr;
    }));
    if (shown.length === 0) body.append(el("tr", {}, el("td", { colspan: String(columns.length), class: "empty" }, "nothing here yet")));
  };
  const head = el("tr", {}, ...columns.map((c) => {
    const th = el("th", { scope: "col", tabindex: "0", "aria-sort": "none" }, c.label);
    const sort = (): void => {
      ascending = sortKey === c.key ? !ascending : true;
      sortKey = c.key;
      head.querySelectorAll("th").forEach((h) => h.setAttribute("aria-sort", "none"));
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      render();
    };
    th.addEventListener("click", sort);
    th.addEventListener("keydown", (e) => { if ((e as KeyboardEvent).key === "Enter") sort(); });
    return th;
  }));
  const table = el("table", {}, options.caption ? el("caption", {}, options.caption) : null, el("thead", {}, head), body);
  render();
  if (!options.filter) return el("div", { class: "table-wrap" }, table);
  const search = el("input", { type: "search", placeholder: "filter", "aria-label": "filter rows" });
  search.addEventListener("input", () => { needle = search.value.toLowerCase(); render(); });
  return el("div", { class: "table-wrap" }, search, table);
}

export function toast(message: string, kind: "ok" | "error" = "ok"): void {
  const box = document.getElementById("toast");
  if (!box) return;
  box.textContent = message;
  box.className = `show ${kind}`;
  window.setTimeout(() => { box.className = ""; }, 4000);
}

export function section(title: string, ...children: Child[]): HTMLElement {
  return el("section", { class: "card" }, el("h2", {}, title), ...children);
}
