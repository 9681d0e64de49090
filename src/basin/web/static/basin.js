// The lineage page: the dataset graph (Cytoscape.js with the dagre layout, vendored
// from npm) and, for the selected dataset, its columns and their lineage.
"use strict";

const LAYER_COLORS = { source: "#6a1b9a", lake: "#1565c0", warehouse: "#00838f", published: "#2e7d32" };

function basinEscape(text) {
  const span = document.createElement("span");
  span.textContent = text == null ? "" : String(text);
  return span.innerHTML;
}

function basinLineage(focus, env) {
  const data = JSON.parse(document.getElementById("graph-data").textContent);
  const query = env ? "?env=" + encodeURIComponent(env) : "";
  cytoscape.use(cytoscapeDagre);
  const cy = cytoscape({
    container: document.getElementById("graph"),
    elements: [
      // The colour says the layer; the label is the rest of the key.
      ...data.nodes.map((n) => ({ data: { id: n.id, label: n.id.replace(/^(source|lake|published)\./, ""), layer: n.layer } })),
      ...data.edges.map((e) => ({ data: { id: e.source + "→" + e.target, source: e.source, target: e.target } })),
    ],
    layout: { name: "dagre", rankDir: "LR", nodeSep: 14, rankSep: 170 },
    wheelSensitivity: 0.3,
    style: [
      { selector: "node", style: {
        "background-color": (n) => LAYER_COLORS[n.data("layer")] || "#78909c",
        label: "data(label)", "font-size": 9, "text-valign": "bottom", "text-halign": "center",
        "text-margin-y": 2, width: 10, height: 10 } },
      { selector: "edge", style: { width: 1, "line-color": "#b0bec5", "target-arrow-color": "#b0bec5",
        "target-arrow-shape": "triangle", "arrow-scale": 0.6, "curve-style": "bezier" } },
      { selector: ".faded", style: { opacity: 0.15 } },
      { selector: "node:selected", style: { "border-width": 3, "border-color": "#ff6f00" } },
    ],
  });
  window.basinGraph = cy;

  function select(id) {
    const node = cy.getElementById(id);
    if (node.empty()) return;
    const near = node.predecessors().union(node.successors()).union(node);
    cy.elements().addClass("faded");
    near.removeClass("faded");
    cy.$(":selected").unselect();
    node.select();
    showPanel(id);
  }

  function showPanel(id) {
    const panel = document.getElementById("panel");
    panel.innerHTML = "<p class='muted'>Loading " + basinEscape(id) + "…</p>";
    fetch("/api/datasets/" + encodeURIComponent(id).replace(/%2F/g, "/") + query)
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(r.status + " " + r.statusText))))
      .then((d) => {
        const link = "/datasets/" + d.key + query;
        const rows = d.columns.map((c) => {
          const up = c.up.map((u) => basinEscape(u[0] + (u[1] ? "." + u[1] : ""))).join("<br>");
          return "<tr><td><code>" + basinEscape(c.name) + "</code></td><td>" + (up || "<span class='muted'>—</span>") + "</td></tr>";
        }).join("");
        panel.innerHTML =
          "<h3><a href='" + basinEscape(link) + "'>" + basinEscape(d.key) + "</a></h3>" +
          (d.description ? "<p>" + basinEscape(d.description) + "</p>" : "") +
          "<table class='striped column-lineage'><thead><tr><th>Column</th><th>Comes from</th></tr></thead><tbody>" +
          (rows || "<tr><td colspan='2' class='muted'>No columns recorded.</td></tr>") + "</tbody></table>";
      })
      .catch((err) => { panel.innerHTML = "<p class='error-box'>Could not load " + basinEscape(id) + ": " + basinEscape(err.message) + "</p>"; });
  }

  cy.on("tap", "node", (evt) => select(evt.target.id()));
  cy.on("tap", (evt) => { if (evt.target === cy) { cy.elements().removeClass("faded"); } });
  if (focus) { select(focus); cy.center(cy.getElementById(focus)); }
}
