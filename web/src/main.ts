// tradeloop's pages: a hash router over six pages, the token button, errors shown on the
// page (never only in the console).

import "./style.css";
import { askToken, forgetToken, token } from "./api";
import { deskPage } from "./pages/desk";
import { experimentsPage } from "./pages/experiments";
import { jobsPage } from "./pages/jobs";
import { servingPage } from "./pages/serving";
import { streamPage } from "./pages/stream";
import { studioPage } from "./pages/studio";
import { el } from "./ui";

type Page = (root: HTMLElement, params: URLSearchParams) => Promise<void | (() => void)> | (() => void) | void;

const PAGES: [string, string, Page][] = [
  ["desk", "Desk", deskPage],
  ["stream", "Live stream", streamPage],
  ["experiments", "Experiments", experimentsPage],
  ["jobs", "Jobs", jobsPage],
  ["studio", "Model studio", studioPage],
  ["serving", "Serving", servingPage],
];

const root = document.getElementById("page")!;
const nav = document.getElementById("nav")!;
let leave: (() => void) | undefined;

nav.replaceChildren(...PAGES.map(([id, label]) => el("a", { href: `#/${id}`, "data-page": id }, label)));

async function route(): Promise<void> {
  const [path, query] = location.hash.replace(/^#\/?/, "").split("?");
  const found = PAGES.find(([id]) => id === path) ?? PAGES[0];
  leave?.();
  leave = undefined;
  nav.querySelectorAll("a").forEach((a) => a.toggleAttribute("aria-current", a.dataset.page === found[0]));
  document.title = `${found[1]} · tradeloop`;
  root.replaceChildren(el("p", { class: "muted" }, "loading"));
  try {
    const done = await found[2](root, new URLSearchParams(query ?? location.search));
    if (typeof done === "function") leave = done;
  } catch (error) {
    root.replaceChildren(el("section", { class: "card error", role: "alert" }, el("h2", {}, "This page could not load"), el("p", {}, String((error as Error).message ?? error))));
  }
  if (document.activeElement === document.body || document.activeElement === root) root.focus(); // never steal focus the user moved
}

const tokenButton = document.getElementById("token")!;
const showToken = (): void => { tokenButton.textContent = token() ? "token set" : "token"; };
tokenButton.addEventListener("click", () => {
  if (token() && window.confirm("Forget the token in this tab?")) forgetToken();
  else askToken("The API token lets this tab make changes (halt, promote, cancel).");
  showToken();
});
showToken();
window.addEventListener("hashchange", () => void route());
void route();
