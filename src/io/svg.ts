/**
 * Tiny dependency-free SVG line charts (used for `tuning.svg` and `reconstruction.svg`).
 *
 * Output structure (relied on by tests): the plot frame is `<rect class="plot-area">`, tick labels are
 * `<text class="x-tick" x=POS>` / `<text class="y-tick" y=POS>`, and each series is a `<g class="series">`
 * holding its path, stems, circles and point labels. The legend sits above the plot, never over the data.
 */

export interface Series {
  label: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** "line" (polyline), "points" (circles), "line+points" (circles joined by a thin line), "stems" (vertical lines from 0) */
  style: "line" | "points" | "line+points" | "stems";
  /** Any SVG colour; default from a fixed colour-blind-safe palette (Okabe-Ito). */
  color?: string;
  /** Optional text next to each point (e.g. iteration numbers). */
  pointLabels?: string[];
}

export interface ChartOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** log10 axes; non-positive values are dropped and counted in a note under the chart. */
  xLog?: boolean;
  yLog?: boolean;
  /** Default 720 x 420. */
  width?: number;
  height?: number;
  /** Vertical marker lines, e.g. the chosen λ. */
  markers?: { x: number; label: string; color?: string }[];
}

const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];
const MAX_TICKS = 40;

/** An axis in transformed units (log10 of the data on a log axis). */
interface Axis {
  lo: number;
  hi: number;
  log: boolean;
}

type Point = { x: number; y: number; label?: string };

const escapeXml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** Pixel coordinate rounded to 2 decimals. */
const px = (v: number): string => String(Math.round(v * 100) / 100);
/** Strip floating-point noise such as 0.30000000000000004. */
const clean = (v: number): number => Number(v.toPrecision(12));
const usable = (v: number, log: boolean): boolean => Number.isFinite(v) && (!log || v > 0);
const toAxis = (v: number, log: boolean): number => (log ? Math.log10(v) : v);
const textWidth = (s: string, size: number): number => s.length * size * 0.6;

/** Data range padded by 5% (or by a fixed amount when it is a single value) so nothing divides by zero. */
function axisRange(values: number[], log: boolean): Axis {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    lo = Math.min(lo, toAxis(v, log));
    hi = Math.max(hi, toAxis(v, log));
  }
  if (lo > hi) [lo, hi] = [0, 1];
  const pad = hi > lo ? (hi - lo) * 0.05 : log ? 0.5 : Math.abs(lo) * 0.1 || 1;
  return { lo: lo - pad, hi: hi + pad, log };
}

/** Multiples of a 1-2-5 step inside [lo, hi], about `target` of them. */
function linearTicks(lo: number, hi: number, target: number): number[] {
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  const step = (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * mag;
  const ticks: number[] = [];
  for (let k = Math.ceil(lo / step), i = 0; i < MAX_TICKS && (k + i) * step <= hi; i++) ticks.push(clean((k + i) * step));
  return ticks;
}

/** Decades (thinned when there are many); for short ranges 1-2-5 multiples, or linear ticks within one decade. */
function logTicks(lo: number, hi: number, target: number): number[] {
  const first = Math.ceil(lo);
  const count = Math.floor(hi) - first + 1;
  if (count >= 3) {
    const every = Math.ceil(count / (target + 2));
    return Array.from({ length: Math.ceil(count / every) }, (_, i) => clean(10 ** (first + i * every)));
  }
  const ticks: number[] = [];
  for (let k = Math.floor(lo); k <= Math.ceil(hi); k++) {
    for (const v of [1, 2, 5].map((m) => clean(m * 10 ** k))) if (Math.log10(v) >= lo && Math.log10(v) <= hi) ticks.push(v);
  }
  return ticks.length >= 2 ? ticks : linearTicks(10 ** lo, 10 ** hi, target);
}

/** Ticks for an axis; the filter drops decades that under/overflow (10^-324 is 0). */
const ticksFor = (axis: Axis, target: number): number[] =>
  (axis.log ? logTicks(axis.lo, axis.hi, target) : linearTicks(axis.lo, axis.hi, target)).filter((t) => usable(t, axis.log));

/** Plain decimals for moderate magnitudes, otherwise "2e-5" style. */
function tickLabel(v: number): string {
  const [m, e] = clean(v).toExponential().split("e").map(Number) as [number, number];
  return e < -3 || e > 5 ? `${m}e${e}` : String(clean(v));
}

/** Keep finite (and, on log axes, positive) points; `null` marks a gap that breaks lines. */
function seriesPoints(s: Series, xLog: boolean, yLog: boolean): { points: (Point | null)[]; dropped: number } {
  const points: (Point | null)[] = [];
  let dropped = 0;
  for (let i = 0; i < Math.min(s.x.length, s.y.length); i++) {
    const x = s.x[i]!;
    const y = s.y[i]!;
    if (usable(x, xLog) && usable(y, yLog)) points.push({ x, y, label: s.pointLabels?.[i] });
    else {
      if (Number.isFinite(x) && Number.isFinite(y)) dropped++;
      points.push(null);
    }
  }
  return { points, dropped };
}

/** Maximal runs of consecutive kept points (a skipped point breaks a line). */
function runs(points: (Point | null)[]): Point[][] {
  const out: Point[][] = [[]];
  for (const p of points) {
    if (p) out[out.length - 1]!.push(p);
    else if (out[out.length - 1]!.length) out.push([]);
  }
  return out;
}

/** Greedy left-to-right legend layout wrapped to `maxWidth`: each item's x offset and row. */
function legendLayout(labels: string[], maxWidth: number): { dx: number; row: number }[] {
  let dx = 0;
  let row = 0;
  return labels.map((label) => {
    const w = 36 + textWidth(label, 12);
    if (dx > 0 && dx + w > maxWidth) [dx, row] = [0, row + 1];
    const at = { dx, row };
    dx += w;
    return at;
  });
}

function swatch(style: Series["style"], color: string, x: number, y: number): string {
  const line = `<line x1="${px(x)}" y1="${px(y)}" x2="${px(x + 24)}" y2="${px(y)}" stroke="${color}" stroke-width="${style === "line" ? 2 : 1}"/>`;
  const dot = `<circle cx="${px(x + 12)}" cy="${px(y)}" r="3.5" fill="${color}"/>`;
  const stem = `<line x1="${px(x + 12)}" y1="${px(y + 6)}" x2="${px(x + 12)}" y2="${px(y - 6)}" stroke="${color}" stroke-width="2"/>`;
  return { line, points: dot, "line+points": line + dot, stems: stem }[style];
}

export function lineChartSvg(series: Series[], options: ChartOptions = {}): string {
  const width = options.width ?? 720;
  const height = options.height ?? 420;
  const xLog = options.xLog ?? false;
  const yLog = options.yLog ?? false;

  const data = series.map((s) => seriesPoints(s, xLog, yLog));
  const markers = (options.markers ?? []).filter((m) => usable(m.x, xLog));
  const dropped = data.reduce((n, d) => n + d.dropped, 0) + (options.markers ?? []).filter((m) => Number.isFinite(m.x) && !usable(m.x, xLog)).length;
  const finite = data.flatMap((d) => d.points.filter((p): p is Point => p !== null));
  const stemsFromZero = !yLog && series.some((s) => s.style === "stems");
  const xAxis = axisRange([...finite.map((p) => p.x), ...markers.map((m) => m.x)], xLog);
  const yAxis = axisRange([...finite.map((p) => p.y), ...(stemsFromZero ? [0] : [])], yLog);
  const xTicks = ticksFor(xAxis, 6);
  const yTicks = ticksFor(yAxis, 5);

  // Layout: title and legend rows above the plot, tick labels and axis titles around it.
  const left = 16 + (options.yLabel ? 18 : 0) + Math.max(0, ...yTicks.map((t) => textWidth(tickLabel(t), 11)));
  const right = 20;
  const legendItems = series.map((s, i) => ({ s, color: s.color ?? PALETTE[i % PALETTE.length]! })).filter((e) => e.s.label !== "");
  const legend = legendLayout(legendItems.map((e) => e.s.label), width - left - right);
  const legendRows = legend.length ? legend[legend.length - 1]!.row + 1 : 0;
  const legendTop = options.title ? 40 : 14;
  const top = legendTop + legendRows * 18 + (legendRows ? 4 : 0);
  const bottom = 30 + (options.xLabel ? 20 : 0) + (dropped ? 16 : 0);
  const pw = Math.max(10, width - left - right);
  const ph = Math.max(10, height - top - bottom);
  const sx = (v: number) => left + ((toAxis(v, xLog) - xAxis.lo) / (xAxis.hi - xAxis.lo)) * pw;
  const sy = (v: number) => top + ph - ((toAxis(v, yLog) - yAxis.lo) / (yAxis.hi - yAxis.lo)) * ph;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  if (options.title) out.push(`<text class="title" x="${px(width / 2)}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`);
  legendItems.forEach(({ s, color }, i) => {
    const x = left + legend[i]!.dx;
    const y = legendTop + legend[i]!.row * 18;
    out.push(`<g class="legend">${swatch(s.style, escapeXml(color), x, y)}<text x="${px(x + 30)}" y="${px(y)}" dy="0.35em" font-size="12">${escapeXml(s.label)}</text></g>`);
  });

  // Grid lines and tick labels.
  for (const t of xTicks) {
    const x = px(sx(t));
    out.push(`<line x1="${x}" y1="${px(top)}" x2="${x}" y2="${px(top + ph)}" stroke="#e6e6e6"/>`);
    out.push(`<text class="x-tick" x="${x}" y="${px(top + ph + 16)}" text-anchor="middle">${tickLabel(t)}</text>`);
  }
  for (const t of yTicks) {
    const y = px(sy(t));
    out.push(`<line x1="${px(left)}" y1="${y}" x2="${px(left + pw)}" y2="${y}" stroke="#e6e6e6"/>`);
    out.push(`<text class="y-tick" x="${px(left - 6)}" y="${y}" dy="0.35em" text-anchor="end">${tickLabel(t)}</text>`);
  }

  // Series: stems, then the line, then circles and their labels on top.
  data.forEach(({ points }, i) => {
    const s = series[i]!;
    const color = escapeXml(s.color ?? PALETTE[i % PALETTE.length]!);
    const shown = points.filter((p): p is Point => p !== null);
    out.push(`<g class="series">`);
    if (s.style === "stems") {
      const base = px(yLog ? top + ph : sy(0));
      for (const p of shown) out.push(`<line x1="${px(sx(p.x))}" y1="${base}" x2="${px(sx(p.x))}" y2="${px(sy(p.y))}" stroke="${color}" stroke-width="2"/>`);
    }
    if (s.style === "line" || s.style === "line+points") {
      const d = runs(points)
        .filter((run) => run.length > 1)
        .map((run) => "M" + run.map((p) => `${px(sx(p.x))} ${px(sy(p.y))}`).join("L"))
        .join("");
      if (d) out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="${s.style === "line" ? 2 : 1}" stroke-linejoin="round"/>`);
    }
    if (s.style === "points" || s.style === "line+points") {
      for (const p of shown) out.push(`<circle cx="${px(sx(p.x))}" cy="${px(sy(p.y))}" r="3.5" fill="${color}"/>`);
    }
    for (const p of shown) {
      if (p.label) out.push(`<text class="point-label" x="${px(sx(p.x) + 5)}" y="${px(sy(p.y) - 5)}" font-size="10" fill="${color}">${escapeXml(p.label)}</text>`);
    }
    out.push(`</g>`);
  });

  // Markers: dashed vertical lines, label at the top on whichever side has room.
  for (const m of markers) {
    const x = sx(m.x);
    const color = escapeXml(m.color ?? "#444444");
    const onLeft = x > left + pw * 0.7;
    out.push(`<g class="marker"><line x1="${px(x)}" y1="${px(top)}" x2="${px(x)}" y2="${px(top + ph)}" stroke="${color}" stroke-width="1.5" stroke-dasharray="5 3"/>`);
    out.push(`<text x="${px(onLeft ? x - 4 : x + 4)}" y="${px(top + 14)}" text-anchor="${onLeft ? "end" : "start"}" fill="${color}">${escapeXml(m.label)}</text></g>`);
  }

  out.push(`<rect class="plot-area" x="${px(left)}" y="${px(top)}" width="${px(pw)}" height="${px(ph)}" fill="none" stroke="#333333"/>`);
  const labelY = height - 8 - (dropped ? 16 : 0);
  if (options.xLabel) out.push(`<text class="x-label" x="${px(left + pw / 2)}" y="${px(labelY)}" text-anchor="middle" font-size="12">${escapeXml(options.xLabel)}</text>`);
  if (options.yLabel) {
    const cy = px(top + ph / 2);
    out.push(`<text class="y-label" transform="translate(16 ${cy}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(options.yLabel)}</text>`);
  }
  if (dropped) out.push(`<text class="note" x="8" y="${height - 8}" font-size="10" fill="#666666">${dropped} non-positive value${dropped > 1 ? "s" : ""} omitted from log axis</text>`);
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
