import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lineChartSvg, type Series } from "../src/io/svg.js";

type Attrs = Record<string, string>;
interface Tag {
  name: string;
  attrs: Attrs;
  text: string;
}

const TAG = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<>]*")*)\s*(\/?)>/g;

/** Hand-rolled well-formedness check: one <svg> root, tags nested properly, text and attributes escaped. */
function assertWellFormed(svg: string): void {
  const stack: string[] = [];
  let roots = 0;
  let last = 0;
  const checkText = (text: string) => {
    expect(text).not.toMatch(/[<>]/);
    expect(text.replace(/&(amp|lt|gt|quot|#39);/g, "")).not.toContain("&");
  };
  for (const m of svg.matchAll(TAG)) {
    checkText(svg.slice(last, m.index));
    last = m.index + m[0].length;
    for (const a of m[3]!.matchAll(/"([^"]*)"/g)) checkText(a[1]!);
    const [, close, name, , selfClose] = m;
    if (close) expect(stack.pop()).toBe(name);
    else {
      if (stack.length === 0) roots++;
      if (!selfClose) stack.push(name!);
    }
  }
  checkText(svg.slice(last));
  expect(stack).toEqual([]);
  expect(roots).toBe(1);
  expect(svg.trimStart().startsWith('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ')).toBe(true);
}

/** Elements named `name` (optionally with class `cls`), with attributes and text up to the next tag. */
function tags(svg: string, name: string, cls?: string): Tag[] {
  const out: Tag[] = [];
  for (const m of svg.matchAll(TAG)) {
    if (m[1] || m[2] !== name) continue;
    const attrs: Attrs = {};
    for (const a of m[3]!.matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]!] = a[2]!;
    if (cls !== undefined && attrs.class !== cls) continue;
    const end = m.index + m[0].length;
    out.push({ name, attrs, text: svg.slice(end, svg.indexOf("<", end)) });
  }
  return out;
}

/** The inner markup of each `<g class="series">` group, in series order. */
const seriesGroups = (svg: string): string[] => [...svg.matchAll(/<g class="series">([\s\S]*?)<\/g>/g)].map((m) => m[1]!);
const circles = (markup: string) => tags(markup, "circle").map((c) => ({ cx: Number(c.attrs.cx), cy: Number(c.attrs.cy) }));

function plotArea(svg: string) {
  const [rect] = tags(svg, "rect", "plot-area");
  const [x, y, w, h] = ["x", "y", "width", "height"].map((k) => Number(rect!.attrs[k]));
  return { left: x!, top: y!, right: x! + w!, bottom: y! + h! };
}

/** Pixel = a + b * t(value), fitted from the first and last tick and checked against every tick. */
function axisFromTicks(svg: string, axis: "x" | "y", log: boolean): (v: number) => number {
  const t = (v: number) => (log ? Math.log10(v) : v);
  const ticks = tags(svg, "text", `${axis}-tick`).map((e) => ({ value: Number(e.text), pos: Number(e.attrs[axis]) }));
  expect(ticks.length).toBeGreaterThanOrEqual(2);
  const [first, last] = [ticks[0]!, ticks[ticks.length - 1]!];
  const b = (last.pos - first.pos) / (t(last.value) - t(first.value));
  const map = (v: number) => first.pos + b * (t(v) - t(first.value));
  for (const tick of ticks) expect(Math.abs(map(tick.value) - tick.pos)).toBeLessThan(0.02);
  return map;
}

describe("lineChartSvg", () => {
  const points: Series = { label: "pts", x: [0, 1, 2.5, 4], y: [10, -3, 7, 2], style: "points" };

  it("is a standalone, well-formed SVG with title, legend and axis labels", () => {
    const svg = lineChartSvg([points], { title: "T", xLabel: "index", yLabel: "value" });
    assertWellFormed(svg);
    expect(svg).toContain('viewBox="0 0 720 420"');
    expect(tags(svg, "text", "title")[0]!.text).toBe("T");
    expect(tags(svg, "text", "x-label")[0]!.text).toBe("index");
    expect(tags(svg, "text", "y-label")[0]!.text).toBe("value");
    expect(svg).toMatch(/<g class="legend">.*>pts<\/text><\/g>/);
  });

  it("maps points affinely, consistently with the tick labels and the 5% padding", () => {
    const svg = lineChartSvg([points], { width: 600, height: 300 });
    expect(svg).toContain('viewBox="0 0 600 300"');
    const area = plotArea(svg);
    const [sx, sy] = [axisFromTicks(svg, "x", false), axisFromTicks(svg, "y", false)];
    const got = circles(seriesGroups(svg)[0]!);
    expect(got).toHaveLength(4);
    got.forEach((c, i) => {
      expect(Math.abs(c.cx - sx(points.x[i]!))).toBeLessThan(0.02);
      expect(Math.abs(c.cy - sy(points.y[i]!))).toBeLessThan(0.02);
    });
    // Data extremes sit 0.05 / 1.1 of the plot size inside the frame.
    const inset = (area.right - area.left) / 22;
    expect(Math.abs(got[0]!.cx - (area.left + inset))).toBeLessThan(0.02);
    expect(Math.abs(got[3]!.cx - (area.right - inset))).toBeLessThan(0.02);
    expect(Math.abs(got[0]!.cy - (area.top + (area.bottom - area.top) / 22))).toBeLessThan(0.02);
  });

  it("uses 1-2-5 tick steps on linear axes", () => {
    for (const [lo, hi] of [[0, 1], [-3.7, 123], [1e-6, 3e-6], [5e4, 9e8]] as const) {
      const svg = lineChartSvg([{ label: "", x: [lo, hi], y: [lo, hi], style: "points" }]);
      const values = tags(svg, "text", "x-tick").map((e) => Number(e.text));
      expect(values.length).toBeGreaterThanOrEqual(3);
      const step = values[1]! - values[0]!;
      const mantissa = Number((step / 10 ** Math.floor(Math.log10(step) + 1e-9)).toPrecision(6));
      expect([1, 2, 5]).toContain(mantissa);
      for (let i = 1; i < values.length; i++) expect(values[i]! - values[i - 1]!).toBeCloseTo(step, 12);
    }
  });

  it("puts decade ticks on a log axis and keeps the mapping monotonic", () => {
    const x = [1e-4, 3e-3, 0.02, 0.5, 7];
    const svg = lineChartSvg([{ label: "crit", x, y: [5, 4, 3, 2, 1], style: "line+points" }], { xLog: true });
    assertWellFormed(svg);
    const labels = tags(svg, "text", "x-tick").map((e) => e.text);
    expect(labels).toEqual(["1e-4", "0.001", "0.01", "0.1", "1", "10"]);
    const sx = axisFromTicks(svg, "x", true);
    const got = circles(seriesGroups(svg)[0]!);
    got.forEach((c, i) => expect(Math.abs(c.cx - sx(x[i]!))).toBeLessThan(0.02));
    for (let i = 1; i < got.length; i++) {
      expect(got[i]!.cx).toBeGreaterThan(got[i - 1]!.cx);
      expect(got[i]!.cy).toBeGreaterThan(got[i - 1]!.cy);
    }
  });

  it("uses 1-2-5 ticks on short log ranges", () => {
    for (const [y, labels] of [[[1.5, 6], ["2", "5"]], [[1, 12], ["1", "2", "5", "10"]]] as const) {
      const svg = lineChartSvg([{ label: "", x: [1, 2], y, style: "points" }], { yLog: true });
      expect(tags(svg, "text", "y-tick").map((e) => e.text)).toEqual(labels);
      axisFromTicks(svg, "y", true);
    }
  });

  it("drops non-positive values from log axes and says so", () => {
    const svg = lineChartSvg([{ label: "", x: [-1, 0, 1, 10], y: [1, 2, 3, 4], style: "points" }], {
      xLog: true,
      markers: [{ x: 0, label: "zero" }],
    });
    assertWellFormed(svg);
    expect(circles(seriesGroups(svg)[0]!)).toHaveLength(2);
    expect(tags(svg, "text", "note")[0]!.text).toBe("3 non-positive values omitted from log axis");
    expect(svg).not.toContain("zero");
    expect(lineChartSvg([points])).not.toContain('class="note"');
  });

  it("escapes text", () => {
    const svg = lineChartSvg([{ ...points, label: "<x>", pointLabels: ["'a'", "&", "", ""] }], {
      title: 'a < b & "c"',
      markers: [{ x: 1, label: "λ > 0" }],
    });
    assertWellFormed(svg);
    expect(svg).toContain("a &lt; b &amp; &quot;c&quot;");
    expect(svg).toContain("&lt;x&gt;");
    expect(svg).toContain("&#39;a&#39;");
    expect(svg).toContain("λ &gt; 0");
  });

  it("skips NaN and infinite points and breaks lines there", () => {
    const svg = lineChartSvg([
      { label: "l", x: [0, 1, 2, 3, 4, 5], y: [1, 2, NaN, 3, 4, Infinity], style: "line+points" },
      { label: "s", x: [0, NaN, 2], y: [1, 1, -Infinity], style: "stems" },
    ]);
    assertWellFormed(svg);
    expect(svg).not.toMatch(/NaN|Infinity/);
    const [line, stems] = seriesGroups(svg);
    expect(circles(line!)).toHaveLength(4);
    const d = tags(line!, "path")[0]!.attrs.d!;
    expect(d.match(/M/g)).toHaveLength(2);
    expect(d.match(/L/g)).toHaveLength(2);
    expect(tags(stems!, "line")).toHaveLength(1);
  });

  it("draws stems from zero", () => {
    const svg = lineChartSvg([{ label: "truth", x: [0, 1, 2], y: [0, 2, -1], style: "stems" }]);
    const sy = axisFromTicks(svg, "y", false);
    const stems = tags(seriesGroups(svg)[0]!, "line");
    expect(stems).toHaveLength(3);
    for (const s of stems) expect(Math.abs(Number(s.attrs.y1) - sy(0))).toBeLessThan(0.02);
    expect(Math.abs(Number(stems[1]!.attrs.y2) - sy(2))).toBeLessThan(0.02);
  });

  it("handles single points, constant series and no data without dividing by zero", () => {
    for (const [s, opts] of [
      [[{ label: "one", x: [3], y: [5], style: "points" }], {}],
      [[{ label: "flat", x: [1, 2, 3], y: [0, 0, 0], style: "line+points" }], {}],
      [[{ label: "one", x: [3], y: [5], style: "points" }], { xLog: true, yLog: true }],
      [[{ label: "none", x: [NaN], y: [1], style: "line" }], {}],
      [[], { markers: [{ x: 2, label: "m" }] }],
    ] as [Series[], object][]) {
      const svg = lineChartSvg(s, opts);
      assertWellFormed(svg);
      expect(svg).not.toMatch(/NaN|Infinity/);
    }
    const svg = lineChartSvg([{ label: "one", x: [3], y: [5], style: "points" }]);
    const area = plotArea(svg);
    const [c] = circles(seriesGroups(svg)[0]!);
    expect(c!.cx).toBeCloseTo((area.left + area.right) / 2, 1);
    expect(c!.cy).toBeCloseTo((area.top + area.bottom) / 2, 1);
  });

  it("draws markers across the plot and is deterministic", () => {
    const opts = { xLog: true, markers: [{ x: 0.01, label: "chosen λ", color: "#D55E00" }] };
    const s: Series[] = [{ label: "crit", x: [1e-3, 1e-2, 1e-1], y: [3, 1, 2], style: "line" }];
    const svg = lineChartSvg(s, opts);
    expect(svg).toBe(lineChartSvg(s, opts));
    const [line] = tags(svg.slice(svg.indexOf('<g class="marker">')), "line");
    const area = plotArea(svg);
    expect(Number(line!.attrs.x1)).toBeCloseTo(axisFromTicks(svg, "x", true)(0.01), 1);
    expect([Number(line!.attrs.y1), Number(line!.attrs.y2)]).toEqual([area.top, area.bottom]);
  });

  it("property: output is well-formed and has one circle per finite point, inside the plot", () => {
    const value = fc.oneof(
      { weight: 8, arbitrary: fc.double({ min: -1e9, max: 1e9, noNaN: true }) },
      { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, 0) },
    );
    const series = fc.record({
      label: fc.string({ maxLength: 12 }),
      xy: fc.array(fc.tuple(value, value), { maxLength: 30 }),
      style: fc.constantFrom("line", "points", "line+points", "stems" as const),
    });
    fc.assert(
      fc.property(fc.array(series, { maxLength: 4 }), fc.boolean(), fc.boolean(), fc.string(), (specs, xLog, yLog, title) => {
        const input: Series[] = specs.map((s) => ({ label: s.label, style: s.style, x: s.xy.map((p) => p[0]), y: s.xy.map((p) => p[1]) }));
        const svg = lineChartSvg(input, { xLog, yLog, title });
        assertWellFormed(svg);
        expect(svg).not.toMatch(/NaN|Infinity/);
        const area = plotArea(svg);
        const groups = seriesGroups(svg);
        expect(groups).toHaveLength(input.length);
        input.forEach((s, i) => {
          if (s.style !== "points" && s.style !== "line+points") return;
          const ok = (v: number, log: boolean) => Number.isFinite(v) && (!log || v > 0);
          const expected = specs[i]!.xy.filter(([x, y]) => ok(x, xLog) && ok(y, yLog)).length;
          const got = circles(groups[i]!);
          expect(got).toHaveLength(expected);
          for (const c of got) {
            expect(c.cx).toBeGreaterThanOrEqual(area.left - 0.01);
            expect(c.cx).toBeLessThanOrEqual(area.right + 0.01);
            expect(c.cy).toBeGreaterThanOrEqual(area.top - 0.01);
            expect(c.cy).toBeLessThanOrEqual(area.bottom + 0.01);
          }
        });
      }),
      { numRuns: 300 },
    );
  });
});
