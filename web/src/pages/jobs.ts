// Jobs: the experiment queue with live progress over Server-Sent Events, cancel, artifacts.

import { get, send } from "../api";
import { el, isoNs, section, toast } from "../ui";

interface Job { job_id: string; experiment: string; state: string; points_total: number; points_done: number; actor: string; submitted_at: number; workspace_id: string; error: string | null }

export async function jobsPage(root: HTMLElement): Promise<() => void> {
  const sources: EventSource[] = [];
  const list = el("div", { id: "jobs" });
  const experiment = el("input", { id: "experiment", value: "es_composite_sweep", "aria-label": "experiment name" });
  const submit = el("button", { type: "button", class: "primary", id: "submit-job" }, "submit");
  const render = async (): Promise<void> => {
    const { jobs } = await get<{ jobs: Job[] }>("/v1/jobs/experiments");
    list.replaceChildren(...jobs.map((job) => {
      const bar = el("progress", { max: String(job.points_total || 1), value: String(job.points_done), "aria-label": `progress of ${job.job_id}` });
      const state = el("span", { class: `state ${job.state}` }, job.state);
      const artifacts = el("span", { class: "artifacts" });
      const cancel = el("button", { type: "button", class: "danger" }, "cancel");
      cancel.addEventListener("click", async () => {
        try { await send("POST", `/v1/jobs/experiments/${job.job_id}/cancel`); toast(`cancel asked for ${job.job_id.slice(0, 8)}`); }
        catch (e) { toast(String((e as Error).message), "error"); }
      });
      const row = el("div", { class: "job", "data-job": job.job_id },
        el("strong", {}, job.experiment), ` ${job.job_id.slice(0, 8)} by ${job.actor} in ${job.workspace_id}, ${isoNs(job.submitted_at)} `,
        state, bar, el("span", { class: "count" }, `${job.points_done}/${job.points_total}`), cancel, artifacts);
      const showArtifacts = async (): Promise<void> => {
        const { artifacts: names } = await get<{ artifacts: string[] }>(`/v1/jobs/experiments/${job.job_id}/artifacts`);
        artifacts.replaceChildren(...names.map((n) => el("a", { href: `/v1/jobs/experiments/${job.job_id}/artifacts/${n}`, download: n }, n)));
      };
      if (["done", "failed", "cancelled"].includes(job.state)) { cancel.setAttribute("disabled", ""); void showArtifacts(); return row; }
      const events = new EventSource(`/v1/jobs/experiments/${job.job_id}/events`);
      sources.push(events);
      events.addEventListener("progress", (e) => {
        const p = JSON.parse((e as MessageEvent).data) as { done: number; total: number };
        bar.value = p.done; bar.max = p.total;
        row.querySelector(".count")!.textContent = `${p.done}/${p.total}`;
      });
      events.addEventListener("started", () => { state.textContent = "running"; state.className = "state running"; });
      for (const end of ["done", "failed", "cancelled"]) {
        events.addEventListener(end, () => {
          state.textContent = end; state.className = `state ${end}`; cancel.setAttribute("disabled", ""); events.close(); void showArtifacts();
        });
      }
      return row;
    }));
    if (!jobs.length) list.append(el("p", { class: "muted" }, "no jobs yet"));
  };
  submit.addEventListener("click", async () => {
    try {
      const job = await send<Job>("POST", "/v1/jobs/experiments", { experiment: experiment.value });
      toast(`queued ${job.job_id.slice(0, 8)}`);
      sources.forEach((s) => s.close());
      await render();
    } catch (e) { toast(String((e as Error).message), "error"); }
  });
  root.replaceChildren(section("Jobs", el("div", { class: "controls" }, el("label", {}, "experiment ", experiment), submit), list));
  await render();
  return () => sources.forEach((s) => s.close());
}
