// The chart of bench/results.svg: each system's time per operation over
// aio's, per workload, on a log axis (above 1: aio is faster). Vega-Lite
// compiles the spec; Vega renders it headless (renderer "none") to SVG.
// npm versions are pinned inline, where they are used (deno.json has no import map).
// deno-lint-ignore-file no-import-prefix
import * as vega from "npm:vega@6.4.0";
import * as vl from "npm:vega-lite@6.5.0";

export interface Bar {
  workload: string;
  system: string;
  /** The system's ns/op over aio's. */
  ratio: number;
  /** Appended to the ratio's label ("†" for a run at reduced n). */
  note: string;
}

export async function chartSvg(bars: Bar[], title: string): Promise<string> {
  const x = {
    field: "ratio",
    type: "quantitative",
    scale: { type: "log" },
    title: "system's time per operation ÷ aio's (log scale)",
  } as const;
  const spec: vl.TopLevelSpec = {
    title: { text: title, subtitle: "bars grow from aio (1): to the right, aio is faster" },
    data: { values: bars },
    // One panel per workload, listing only the systems that ran it.
    facet: {
      row: { field: "workload", title: null, header: { labelAngle: 0, labelAlign: "left" } },
    },
    spec: {
      width: 520,
      height: { step: 16 },
      encoding: {
        y: { field: "system", type: "nominal", title: null, sort: null, axis: { labelLimit: 240 } },
      },
      layer: [
        {
          mark: "bar",
          encoding: { x, x2: { datum: 1 }, color: { field: "system", legend: null } },
        },
        // The ratio, right of the bar or of aio's line, whichever is further right.
        {
          transform: [
            { calculate: "max(datum.ratio, 1)", as: "at" },
            { calculate: "format(datum.ratio, '.2~r') + datum.note", as: "label" },
          ],
          mark: { type: "text", align: "left", dx: 3, fontSize: 10 },
          encoding: { x: { ...x, field: "at" }, text: { field: "label" } },
        },
      ],
    },
    resolve: { scale: { y: "independent" } },
    config: { font: "sans-serif" },
  };
  // Vega-Lite warns that faceted independent y scales share a field: intended here.
  const logger = vega.logger(vega.Error);
  const view = new vega.View(vega.parse(vl.compile(spec, { logger }).spec), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
