// A hand-written SVG chart: one group of bars per workload, one bar per contender, each value
// relative to the C server (C = 1.0, higher is better for every workload), or to node:net in a
// workload C has no server for (chat fan-out).
import { C_REFERENCE, NODE_REFERENCE } from './contenders.js';
import { relative, versus, type Results, type WorkloadResults } from './report.js';

const BAR = 28; // wide enough for a value label with its disturbed mark ("1.00*") at 9 px
const GAP = 28; // between groups
const PLOT_H = 260;
const LEFT = 50;
const TOP = 80;

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** What a workload's bars are relative to: C, or node:net where C has no figure. */
function referenceOf(wr: WorkloadResults): { name: string; label: string } {
  const c = wr.cells.find((cell) => cell.contender === C_REFERENCE);
  return c?.median !== undefined ? { name: C_REFERENCE, label: 'C' } : { name: NODE_REFERENCE, label: 'node:net' };
}

export function svgChart(r: Results): string {
  const shown = r.contenders.filter((c) => r.workloads.some((wr) => wr.cells.some((cell) => cell.contender === c.name)));
  const title = `wakeloop bench ${r.date}${r.quick ? ' (quick)' : ''}`;
  const groupW = Math.max(shown.length * BAR + GAP, 90); // room for the workload name
  // Legend entries sized by their label (about 6.5 px per character at 11 px).
  const legendX: number[] = [];
  let legendEnd = LEFT;
  for (const c of shown) legendX.push(legendEnd), (legendEnd += 36 + c.label.length * 6.5);
  const width = Math.max(LEFT + r.workloads.length * groupW + 20, legendEnd, 480);
  const height = TOP + PLOT_H + 80;
  const refs = r.workloads.map(referenceOf);
  const values = r.workloads.flatMap((wr, g) => wr.cells.map((cell) => relative(wr, cell, refs[g]!.name) ?? 0));
  // Linear scale up to 2.0 at most; a taller bar is cut at the top and labelled with its value.
  const yMax = Math.min(2, Math.max(1.2, Math.ceil(Math.max(...values, 0) * 5) / 5));
  const y = (v: number) => TOP + PLOT_H - (Math.min(v, yMax) / yMax) * PLOT_H;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${LEFT}" y="20" font-size="14" font-weight="bold">${escape(title)}</text>`);
  out.push(`<text x="${LEFT}" y="36" fill="#444">relative to C epoll (= 1.0; to node:net where C has no server), higher is better</text>`);
  // Legend.
  shown.forEach((c, i) => {
    const x = legendX[i]!;
    out.push(`<rect x="${x}" y="46" width="12" height="12" fill="${c.color}"/><text x="${x + 16}" y="56">${escape(c.label)}</text>`);
  });
  // Grid every 0.2, and the C = 1.0 line.
  for (let v = 0; v <= yMax + 1e-9; v += 0.2) {
    const yy = y(v).toFixed(1);
    out.push(`<line x1="${LEFT}" x2="${width - 10}" y1="${yy}" y2="${yy}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${LEFT - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${v.toFixed(1)}</text>`);
  }
  out.push(`<line x1="${LEFT}" x2="${width - 10}" y1="${y(1).toFixed(1)}" y2="${y(1).toFixed(1)}" stroke="#444" stroke-dasharray="4 3"/>`);

  r.workloads.forEach((wr, g) => {
    const ref = refs[g]!;
    const x0 = LEFT + (groupW - shown.length * BAR) / 2 + g * groupW;
    shown.forEach((c, i) => {
      const x = x0 + i * BAR;
      const cell = wr.cells.find((cell) => cell.contender === c.name);
      const v = cell ? relative(wr, cell, ref.name) : undefined;
      if (v === undefined) {
        // No ratio: a failed cell, a missing figure, or a growth of 0 or less (versus() words it).
        const words = cell ? versus(wr, cell, ref.name, ref.label) : '-';
        const why = cell?.status === 'failed' ? 'failed' : words === '-' ? 'n/a' : words;
        out.push(`<text x="${x + BAR / 2}" y="${TOP + PLOT_H - 4}" text-anchor="middle" font-size="9" fill="#999" transform="rotate(-90 ${x + BAR / 2} ${TOP + PLOT_H - 4})">${escape(why)}</text>`);
        return;
      }
      const top = y(v);
      out.push(`<rect x="${x + 2}" y="${top.toFixed(1)}" width="${BAR - 4}" height="${(TOP + PLOT_H - top).toFixed(1)}" fill="${c.color}"><title>${escape(`${c.label}, ${wr.workload.name}: ${v.toFixed(3)} x ${ref.label}`)}</title></rect>`);
      const mark = cell!.runs.some((run) => run.disturbed) ? '*' : '';
      const label = (v > yMax ? `${v.toFixed(1)}↑` : v < 0.1 ? v.toPrecision(1) : v.toFixed(2)) + mark;
      out.push(`<text x="${x + BAR / 2}" y="${(top - 3).toFixed(1)}" text-anchor="middle" font-size="9">${label}</text>`);
    });
    const mid = x0 + (shown.length * BAR) / 2;
    out.push(`<text x="${mid}" y="${TOP + PLOT_H + 16}" text-anchor="middle">${escape(wr.workload.name)}</text>`);
    const unit = ref.name === C_REFERENCE ? wr.workload.unit : `${wr.workload.unit}, vs ${ref.label}`;
    out.push(`<text x="${mid}" y="${TOP + PLOT_H + 30}" text-anchor="middle" font-size="9" fill="#666">${escape(unit)}</text>`);
  });
  out.push(`<text x="${LEFT}" y="${height - 22}" font-size="9" fill="#666">${escape(`${r.machine.cpuModel}, ${r.machine.cores} cores, node ${r.machine.node}`)}</text>`);
  out.push(`<text x="${LEFT}" y="${height - 10}" font-size="9" fill="#666">${escape("idle memory: C's KiB/conn divided by the contender's; * a disturbed run")}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
