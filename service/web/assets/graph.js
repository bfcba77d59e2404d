// The graph slice drawn as SVG: nodes by kind (shape and colour), typed edges (stroke), laid
// out by a small force simulation that is deterministic for a given slice. Every node is a
// button (mouse and keyboard) that recentres the slice on it; the list below the drawing says
// the same for screen readers.
import { h, label, profilePath, s } from "./dom.js";

const WIDTH = 800;
const HEIGHT = 480;
const MARGIN = 40;
const ITERATIONS = 220;
const LABELLED = 10;

const KINDS = {
  Researcher: { name: "Researcher", shape: "circle" },
  Work: { name: "Work", shape: "square" },
  Topic: { name: "Topic", shape: "diamond" },
  Institution: { name: "Institution", shape: "triangle" },
};
const EDGE_KINDS = ["COAUTHOR", "AUTHORED", "HAS_TOPIC", "AFFILIATED"];

function title(entity) {
  return entity.displayName || entity.title || "Untitled";
}

/** Hops from the centre, for where each node starts. */
function hops(nodes, edges, centerId) {
  const next = new Map(nodes.map((node) => [node.id, []]));
  for (const edge of edges) {
    next.get(edge.source)?.push(edge.target);
    next.get(edge.target)?.push(edge.source);
  }
  const distance = new Map([[centerId, 0]]);
  const queue = [centerId];
  while (queue.length) {
    const id = queue.shift();
    for (const other of next.get(id) || []) {
      if (!distance.has(other)) {
        distance.set(other, distance.get(id) + 1);
        queue.push(other);
      }
    }
  }
  return distance;
}

/** Fruchterman-Reingold with the centre pinned, from rings by hop: positions in the box. */
export function layout(nodes, edges, centerId) {
  const distance = hops(nodes, edges, centerId);
  const index = new Map(nodes.map((node, i) => [node.id, i]));
  const count = nodes.length;
  const x = new Float64Array(count);
  const y = new Float64Array(count);
  nodes.forEach((node, i) => {
    const ring = node.id === centerId ? 0 : distance.get(node.id) ?? 3;
    const angle = (2 * Math.PI * i) / Math.max(count, 1) + ring;
    x[i] = ring * 110 * Math.cos(angle);
    y[i] = ring * 110 * Math.sin(angle);
  });
  const k = Math.sqrt((WIDTH * HEIGHT) / Math.max(count, 1)) * 0.6;
  const pairs = edges
    .map((edge) => [index.get(edge.source), index.get(edge.target)])
    .filter(([a, b]) => a !== undefined && b !== undefined);
  const center = index.get(centerId);
  let temperature = WIDTH / 8;
  for (let step = 0; step < ITERATIONS; step++) {
    const dx = new Float64Array(count);
    const dy = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      for (let j = i + 1; j < count; j++) {
        let ddx = x[i] - x[j];
        let ddy = y[i] - y[j];
        let d2 = ddx * ddx + ddy * ddy;
        if (d2 < 0.01) {
          ddx = 0.1 * (i - j);
          ddy = 0.1;
          d2 = ddx * ddx + ddy * ddy;
        }
        const force = (k * k) / d2;
        dx[i] += ddx * force;
        dy[i] += ddy * force;
        dx[j] -= ddx * force;
        dy[j] -= ddy * force;
      }
    }
    for (const [a, b] of pairs) {
      const ddx = x[a] - x[b];
      const ddy = y[a] - y[b];
      const d = Math.sqrt(ddx * ddx + ddy * ddy) || 0.01;
      const force = d / k;
      dx[a] -= ddx * force;
      dy[a] -= ddy * force;
      dx[b] += ddx * force;
      dy[b] += ddy * force;
    }
    for (let i = 0; i < count; i++) {
      if (i === center) continue;
      const d = Math.sqrt(dx[i] * dx[i] + dy[i] * dy[i]) || 1;
      const move = Math.min(d, temperature);
      x[i] += (dx[i] / d) * move;
      y[i] += (dy[i] / d) * move;
    }
    temperature *= 0.97;
  }
  // Into the box, the centre in the middle.
  const cx = center === undefined ? 0 : x[center];
  const cy = center === undefined ? 0 : y[center];
  let reachX = 1;
  let reachY = 1;
  for (let i = 0; i < count; i++) {
    reachX = Math.max(reachX, Math.abs(x[i] - cx));
    reachY = Math.max(reachY, Math.abs(y[i] - cy));
  }
  const positions = new Map();
  nodes.forEach((node, i) => {
    positions.set(node.id, {
      x: WIDTH / 2 + ((x[i] - cx) / reachX) * (WIDTH / 2 - MARGIN),
      y: HEIGHT / 2 + ((y[i] - cy) / reachY) * (HEIGHT / 2 - MARGIN),
    });
  });
  return positions;
}

function shape(kind, x, y, size) {
  if (kind === "square") {
    return s("rect", { x: x - size, y: y - size, width: size * 2, height: size * 2, rx: 2 });
  }
  if (kind === "diamond") {
    return s("polygon", { points: `${x},${y - size * 1.3} ${x + size * 1.3},${y} ${x},${y + size * 1.3} ${x - size * 1.3},${y}` });
  }
  if (kind === "triangle") {
    return s("polygon", { points: `${x},${y - size * 1.3} ${x + size * 1.2},${y + size} ${x - size * 1.2},${y + size}` });
  }
  return s("circle", { cx: x, cy: y, r: size });
}

function legend() {
  return h(
    "ul",
    { class: "legend", "aria-label": "Legend" },
    Object.entries(KINDS).map(([type, kind]) =>
      h("li", {}, s("svg", { width: 18, height: 18, viewBox: "0 0 18 18", "aria-hidden": "true", class: `kind-${type}` }, shape(kind.shape, 9, 9, 6)), kind.name),
    ),
    EDGE_KINDS.map((kind) =>
      h("li", {}, s("svg", { width: 26, height: 10, viewBox: "0 0 26 10", "aria-hidden": "true" }, s("line", { x1: 1, y1: 5, x2: 25, y2: 5, class: `edge edge-${kind}` })), label(kind)),
    ),
  );
}

/** The slice as a figure: the drawing, its legend and a list of its nodes. `onSelect(id)`
 * recentres; `homeId` is the profile the page belongs to. */
export function sliceFigure(slice, { centerId, homeId, onSelect }) {
  const nodes = slice.nodes;
  if (!nodes.length) return h("p", {}, "Nothing is connected to this record yet.");
  const positions = layout(nodes, slice.edges, centerId);
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const ranked = [...nodes].sort((a, b) => b.score - a.score);
  const labelled = new Set(ranked.slice(0, LABELLED).map((node) => node.id));
  const lines = slice.edges
    .filter((edge) => positions.has(edge.source) && positions.has(edge.target))
    .map((edge) => {
      const a = positions.get(edge.source);
      const b = positions.get(edge.target);
      const width = edge.kind === "COAUTHOR" ? Math.min(1 + Math.log1p(edge.weight), 5) : 1;
      return s("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: `edge edge-${edge.kind}`, "stroke-width": width.toFixed(2) });
    });
  const marks = nodes.map((node) => {
    const type = node.node.__typename;
    const kind = KINDS[type] || KINDS.Work;
    const at = positions.get(node.id);
    const isCenter = node.id === centerId;
    const name = title(node.node);
    const group = s(
      "g",
      {
        class: `node kind-${type}${isCenter ? " center" : ""}`,
        tabindex: 0,
        role: "button",
        "aria-label": `${kind.name}: ${name}${isCenter ? " (centre)" : ""}`,
      },
      s("title", {}, `${kind.name}: ${name}`),
      shape(kind.shape, at.x, at.y, isCenter ? 13 : 8),
      labelled.has(node.id) || isCenter
        ? s("text", { x: at.x + 12, y: at.y + 4 }, name.length > 30 ? `${name.slice(0, 29)}…` : name)
        : null,
    );
    const select = () => onSelect(node.id);
    group.addEventListener("click", select);
    group.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        select();
      }
    });
    return group;
  });
  const center = byId.get(centerId);
  const caption = h(
    "figcaption",
    {},
    center ? `Centred on ${title(center.node)}: ${nodes.length} nodes, ${slice.edges.length} links` : `${nodes.length} nodes`,
    slice.truncated ? ", the most relevant kept." : ".",
    center && center.node.__typename === "Researcher" && centerId !== homeId
      ? [" ", h("a", { href: profilePath(centerId) }, `Open ${title(center.node)}'s profile`)]
      : null,
    centerId !== homeId
      ? [" ", h("button", { type: "button", class: "link", onclick: () => onSelect(homeId) }, "Back to the start")]
      : null,
  );
  const list = h(
    "details",
    { class: "node-list" },
    h("summary", {}, `The ${nodes.length} nodes as a list`),
    h(
      "ul",
      {},
      ranked.map((node) =>
        h(
          "li",
          {},
          h("button", { type: "button", class: "link", onclick: () => onSelect(node.id) }, `${KINDS[node.node.__typename]?.name || "Node"}: ${title(node.node)}`),
        ),
      ),
    ),
  );
  const drawing = s(
    "svg",
    { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "group", "aria-label": "Graph slice", class: "graph" },
    s("g", { class: "edges" }, lines),
    s("g", { class: "nodes" }, marks),
  );
  return h("figure", { class: "slice-figure" }, drawing, caption, legend(), list);
}
