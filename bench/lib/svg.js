'use strict';
// Hand-written SVG bar charts: one panel per metric, one bar per implementation.

const COLORS = { collabio: '#2b7bb9', ceiling: '#7f7f7f', socketio: '#e07b39', ws: '#c9a227', ywebsocket: '#5aa05a', hocuspocus: '#9b59b6' };

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function color(label) {
  const key = Object.keys(COLORS).find((k) => label.startsWith(k));
  return key ? COLORS[key] : '#4a4a4a';
}

function fmt(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return 'n/a';
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

/**
 * panels: [{ title, unit, better: 'higher'|'lower', bars: [{ label, value }] }]
 * Returns the SVG text.
 */
function barChart(title, panels, note = '', subtitle = '') {
  const panelW = 380;
  const barH = 22;
  const labelW = 120;
  const maxBars = Math.max(1, ...panels.map((p) => p.bars.length));
  const panelH = 60 + maxBars * (barH + 8);
  const width = panels.length * panelW + 20;
  const top = subtitle ? 18 : 0;
  const height = panelH + 60 + top + (note ? 18 : 0);
  const maxChars = Math.floor(width / 6.6);
  const wrap = (t) => (t.length > maxChars ? t.slice(0, maxChars - 1) + '…' : t);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${esc(wrap(title))}</text>`,
  ];
  if (subtitle) parts.push(`<text x="10" y="40" fill="#333">${esc(wrap(subtitle))}</text>`);
  panels.forEach((p, i) => {
    const x0 = 10 + i * panelW;
    const y0 = 45 + top;
    const max = Math.max(1e-9, ...p.bars.map((b) => (Number.isFinite(b.value) ? b.value : 0)));
    const scale = (panelW - labelW - 70) / max;
    parts.push(`<text x="${x0}" y="${y0}" font-weight="bold">${esc(p.title)}</text>`);
    parts.push(`<text x="${x0}" y="${y0 + 14}" fill="#555">${esc(p.unit)}, ${p.better} is better</text>`);
    p.bars.forEach((b, j) => {
      const y = y0 + 24 + j * (barH + 8);
      const w = Number.isFinite(b.value) ? Math.max(1, b.value * scale) : 0;
      parts.push(`<text x="${x0}" y="${y + barH * 0.7}">${esc(b.label)}</text>`);
      parts.push(`<rect x="${x0 + labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${color(b.label)}"/>`);
      parts.push(`<text x="${x0 + labelW + w + 4}" y="${y + barH * 0.7}">${esc(fmt(b.value))}</text>`);
    });
  });
  if (note) parts.push(`<text x="10" y="${height - 12}" fill="#555">${esc(wrap(note))}</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

module.exports = { barChart, fmt };
