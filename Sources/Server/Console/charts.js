// Line charts drawn as SVG by the page (no library), sized by a viewBox so they scale with the page.
const SVG = 'http://www.w3.org/2000/svg';
export const COLOURS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#db2777', '#0891b2', '#4b5563'];

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function ticks(min, max, count) {
  if (max === min) return [min];
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) || raw;
  const result = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) result.push(Number(v.toPrecision(12)));
  return result;
}

function label(value) {
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 0.01 || magnitude >= 10000)) return value.toExponential(1);
  return String(Number(value.toPrecision(3)));
}

/// A chart of `series` ([{name, points: [[x, y], …]}]): axes with ticks, one coloured line and dots per series,
/// and a legend. `yMin`/`yMax` fix the vertical range (accuracies: 0…1); otherwise it fits the data.
export function lineChart(series, { title = '', xLabel = '', yLabel = '', yMin, yMax, xMin, xMax, empty = 'No data yet.' } = {}) {
  // The legend wraps onto as many lines as it needs below the plot.
  const width = 560, plotBottom = 216;
  const legend = [];
  let legendX = 56, legendLine = 0;
  series.forEach((s) => {
    const itemWidth = 24 + s.name.length * 6.5;
    if (legendX + itemWidth > width && legendX > 56) { legendX = 56; legendLine += 1; }
    legend.push({ x: legendX, line: legendLine });
    legendX += itemWidth;
  });
  const height = plotBottom + 52 + legendLine * 16 + 12;
  const margin = { left: 56, right: 16, top: 30, bottom: height - plotBottom };
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': title });
  root.append(svg('text', { x: margin.left, y: 18, class: 'chart-title' }, title));
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (all.length === 0) {
    root.append(svg('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'chart-empty' }, empty));
    return root;
  }
  let x0 = xMin ?? Math.min(...all.map((p) => p[0])), x1 = xMax ?? Math.max(...all.map((p) => p[0]));
  let y0 = yMin ?? Math.min(...all.map((p) => p[1])), y1 = yMax ?? Math.max(...all.map((p) => p[1]));
  if (x0 === x1) { x0 -= 1; x1 += 1; }
  if (y0 === y1) {
    const pad = Math.abs(y0) * 0.1 || 1;
    if (yMin === undefined) y0 -= pad;
    y1 += pad;
  }
  const plotWidth = width - margin.left - margin.right, plotHeight = height - margin.top - margin.bottom;
  const sx = (x) => margin.left + ((x - x0) / (x1 - x0)) * plotWidth;
  const sy = (y) => margin.top + plotHeight - ((y - y0) / (y1 - y0)) * plotHeight;

  const axes = svg('g', { class: 'axes' });
  for (const y of ticks(y0, y1, 4)) {
    axes.append(svg('line', { x1: margin.left, x2: width - margin.right, y1: sy(y), y2: sy(y), class: 'grid' }));
    axes.append(svg('text', { x: margin.left - 6, y: sy(y) + 4, 'text-anchor': 'end' }, label(y)));
  }
  for (const x of ticks(x0, x1, 5)) {
    axes.append(svg('line', { x1: sx(x), x2: sx(x), y1: margin.top + plotHeight, y2: margin.top + plotHeight + 5, class: 'tick' }));
    axes.append(svg('text', { x: sx(x), y: margin.top + plotHeight + 18, 'text-anchor': 'middle' }, label(x)));
  }
  axes.append(svg('rect', { x: margin.left, y: margin.top, width: plotWidth, height: plotHeight, class: 'frame' }));
  axes.append(svg('text', { x: margin.left + plotWidth / 2, y: margin.top + plotHeight + 34, 'text-anchor': 'middle', class: 'axis-label' }, xLabel));
  axes.append(svg('text', { x: 14, y: margin.top + plotHeight / 2, 'text-anchor': 'middle', class: 'axis-label',
    transform: `rotate(-90 14 ${margin.top + plotHeight / 2})` }, yLabel));
  root.append(axes);

  series.forEach((s, i) => {
    const colour = s.colour || COLOURS[i % COLOURS.length];
    const points = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    const group = svg('g', { class: 'series', 'data-name': s.name });
    if (points.length > 1) {
      group.append(svg('polyline', { points: points.map(([x, y]) => `${sx(x)},${sy(y)}`).join(' '), fill: 'none',
        stroke: colour, 'stroke-width': 2, 'stroke-dasharray': s.dashed ? '5 4' : 'none' }));
    }
    for (const [x, y] of points) {
      const dot = svg('circle', { cx: sx(x), cy: sy(y), r: points.length > 60 ? 1.5 : 3, fill: colour, class: 'point' });
      dot.append(svg('title', {}, `${s.name}: ${label(x)}, ${label(y)}`));
      group.append(dot);
    }
    root.append(group);
    const { x, line } = legend[i];
    const legendY = plotBottom + 52 + line * 16;
    root.append(svg('rect', { x, y: legendY - 9, width: 10, height: 10, fill: colour }));
    root.append(svg('text', { x: x + 14, y: legendY, class: 'legend' }, s.name));
  });
  return root;
}
