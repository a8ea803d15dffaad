"""The x-ray page: one self-contained HTML file (inline CSS, SVG and a few lines of JS).

No network requests: every chart is inline SVG drawn here, the only script toggles the
``doctor.explain`` breakdown shown for the parameter picked in a ``<select>``.
"""

from __future__ import annotations

import html
import math

from ..autograd.function import AccumulateGrad

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#223;max-width:1200px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccd}
table{border-collapse:collapse;font:12px monospace}td,th{border:1px solid #ccd;padding:3px 7px;
text-align:right}th{background:#eef}td:first-child{text-align:left}
.flow{display:flex;gap:10px;flex-wrap:wrap}.ev{border:1px solid #99a;border-radius:6px;padding:6px 10px;
background:#f4f6fb}.ev b{display:block}.arrow{align-self:center;color:#778}
.graph{overflow:auto;border:1px solid #dde;max-height:900px}
.hists{display:flex;flex-wrap:wrap;gap:14px}.hist-box{font:12px monospace}
pre{background:#f6f6f9;padding:8px;overflow:auto;font-size:12px}
.finding{border-left:4px solid #c63;padding:4px 10px;margin:8px 0;background:#fff6f0;white-space:pre-wrap}
"""

JS = """
function gsShowExplain(sel){
  document.querySelectorAll('.explain').forEach(function(e){e.hidden = e.id !== 'explain-' + sel.value;});
}
document.addEventListener('DOMContentLoaded', function(){
  var s = document.getElementById('explain-select'); if (s) gsShowExplain(s);
  document.body.setAttribute('data-ready', '1');
});
"""


def _e(x):
    return html.escape(str(x))


def _num(x):
    return "" if x is None else f"{x:.4g}"


def render_page(xray, title="gradstep x-ray"):
    names = xray.names()
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{_e(title)}</title>"
             f"<style>{CSS}</style></head><body>", f"<h1>{_e(title)}</h1>"]
    d = xray.detail
    opt = d["optimizer"] if d else "no optimizer step seen"
    parts.append(f"<p>{xray.steps} optimizer steps ({_e(opt)}); {len(xray.losses)} losses; "
                 f"{len(xray.samples)} sampled steps (every {xray.every}).</p>")
    if d is not None:
        params = [p for g in xray.optimizer.param_groups for p in g["params"]]
        d["param_names"] = {id(p): n for p, n in zip(params, names)}
        parts += _step_section(d, names)
        parts += _graph_section(d, names)
        parts += _param_section(d, names)
        parts += _hist_section(d, names)
        parts += _explain_section(d, names)
    parts += _loss_section(xray.losses, xray.max_loss_points)
    parts += _run_section(xray.samples, names)
    parts += _doctor_section(xray)
    parts.append(f"<script>{JS}</script></body></html>")
    return "\n".join(parts)


def _step_section(d, names):
    out = [f"<h2 id='step'>One step, x-rayed (step {d['step']})</h2>", "<div class='flow'>"]
    first = True
    for ev in d["events"]:
        if not first:
            out.append("<span class='arrow'>&rarr;</span>")
        first = False
        kind = ev["kind"]
        text = ev.get("text", "")
        if kind == "backward":
            if ev.get("loss") is not None:
                out.append(f"<div class='ev'><b>forward</b>loss = {ev['loss']:.6g}</div>"
                           "<span class='arrow'>&rarr;</span>")
            text = "|grad| (all parameters) = " + _num(ev.get("grad_norm")) if ev.get("grad_norm") \
                is not None else "gradients accumulated into .grad"
        out.append(f"<div class='ev ev-{kind}'><b>{_e(kind)}</b>{_e(ev.get('what', ''))} {_e(text)}</div>")
    out.append("</div>")
    settings = ", ".join(f"{k}={v}" for k, v in d["group"].items()
                         if k not in ("foreach", "fused", "differentiable", "capturable"))
    out.append(f"<p>{_e(d['optimizer'])}: {_e(settings)}</p>")
    return out


def _graph_section(d, names):
    drawing = d["drawing"]
    if drawing is None:
        return ["<h2 id='graph'>Backward graph</h2><p>No backward of a tensor with a graph was seen.</p>"]
    by_id = d.get("param_names", {})
    for node in drawing.nodes + (d["collapsed"].nodes if d.get("collapsed") else []):
        if node.fn is not None and type(node.fn) is AccumulateGrad:
            node.param = by_id.get(id(node.fn.variable), node.param)
    n_nodes = len(drawing.nodes)
    out = [f"<h2 id='graph'>Backward graph of the loss ({n_nodes} nodes)</h2>",
           "<p>Read from gradstep's engine; each box is a node backward() runs, with its output "
           "shape and dtype and the norm of the gradient that reached it.</p>"]
    collapsed = d.get("collapsed")
    if collapsed is not None and n_nodes > 40 and len(collapsed.nodes) < n_nodes:
        out.append(f"<div class='graph' id='graph-collapsed'>{collapsed.svg}</div>")
        out.append(f"<details><summary>expand all {n_nodes} nodes</summary>"
                   f"<div class='graph' id='graph-full' data-nodes='{n_nodes}'>{drawing.svg}</div></details>")
    else:
        out.append(f"<div class='graph' id='graph-full' data-nodes='{n_nodes}'>{drawing.svg}</div>")
    return out


def _param_section(d, names):
    keys = sorted({k for r in d["params"] for k in r["state"]})
    head = "".join(f"<th>|{_e(k)}|</th>" for k in keys)
    out = ["<h2 id='params'>Per parameter, this step</h2>",
           f"<table id='param-table'><tr><th>parameter</th><th>shape</th><th>|grad|</th><th>|update|</th>"
           f"<th>|weight|</th><th>update/weight</th>{head}</tr>"]
    for r in d["params"]:
        cells = "".join(f"<td>{_num(r['state'].get(k))}</td>" for k in keys)
        out.append(f"<tr><td>{_e(names[r['index']])}</td><td>{_e(r['shape'])}</td><td>{_num(r['grad'])}</td>"
                   f"<td>{_num(r['update'])}</td><td>{_num(r['weight'])}</td><td>{_num(r['ratio'])}</td>"
                   f"{cells}</tr>")
    out.append("</table>")
    return out


def _hist_section(d, names):
    hist = d["hist"]
    if not hist:
        return []
    out = ["<h2 id='hist'>Effective learning rate lr / (sqrt(v&#770;) + eps), per parameter</h2>",
           "<p>Histograms over each parameter's entries (log10 scale, bias-corrected v&#770;).</p>",
           "<div class='hists'>"]
    for i, h in sorted(hist.items()):
        out.append(f"<div class='hist-box'>{_e(names[i])}<br>{_hist_svg(h)}<br>median {h['median']:.3g}, "
                   f"range {h['min']:.3g} .. {h['max']:.3g}</div>")
    out.append("</div>")
    return out


def _hist_svg(h, w=240, hgt=90):
    counts, edges = h["counts"], h["edges"]
    top = max(counts) or 1
    bw = w / len(counts)
    bars = []
    for k, c in enumerate(counts):
        bh = (hgt - 16) * c / top
        bars.append(f"<rect class='bar' x='{k * bw:.1f}' y='{hgt - 14 - bh:.1f}' width='{bw - 1:.1f}' "
                    f"height='{bh:.1f}' fill='#58a'><title>{c} entries, 10^{edges[k]:.2f}.."
                    f"10^{edges[k + 1]:.2f}</title></rect>")
    return (f"<svg class='hist' width='{w}' height='{hgt}' xmlns='http://www.w3.org/2000/svg' "
            f"font-size='9' font-family='monospace'>{''.join(bars)}"
            f"<text x='0' y='{hgt - 2}'>1e{edges[0]:.1f}</text>"
            f"<text x='{w}' y='{hgt - 2}' text-anchor='end'>1e{edges[-1]:.1f}</text></svg>")


def _explain_section(d, names):
    if not d["explain"]:
        return []
    out = ["<h2 id='explain'>doctor.explain: the update, term by term</h2>",
           "<select id='explain-select' onchange='gsShowExplain(this)'>"]
    for i in sorted(d["explain"]):
        out.append(f"<option value='{i}'>{_e(names[i])}</option>")
    out.append("</select>")
    for i, text in sorted(d["explain"].items()):
        out.append(f"<pre class='explain' id='explain-{i}'>{_e(text)}</pre>")
    return out


def _line_chart(series, w=560, h=200, log=False, cls="chart"):
    """``series``: [(label, [(x, y)])]; an SVG with a polyline per series and its labels."""
    pts = [(x, y) for _, s in series for x, y in s if y is not None and (not log or y > 0)]
    if not pts:
        return "<p>(nothing to plot)</p>"
    tf = (lambda y: math.log10(y)) if log else (lambda y: y)
    xs = [x for x, _ in pts]
    ys = [tf(y) for _, y in pts]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1
    colors = ["#c33", "#36c", "#393", "#c90", "#939", "#099", "#666", "#963"]
    body = []
    for k, (label, s) in enumerate(series):
        good = [(x, tf(y)) for x, y in s if y is not None and (not log or y > 0)]
        coords = " ".join(f"{40 + (x - x0) / (x1 - x0) * (w - 50):.1f},{h - 20 - (y - y0) / (y1 - y0) * (h - 30):.1f}"
                          for x, y in good)
        c = colors[k % len(colors)]
        body.append(f"<polyline fill='none' stroke='{c}' stroke-width='1.3' points='{coords}'>"
                    f"<title>{_e(label)}</title></polyline>")
    lab = (lambda v: f"1e{v:.1f}") if log else (lambda v: f"{v:.4g}")
    legend = "".join(f"<span style='color:{colors[k % len(colors)]}'>&#9632; {_e(lbl)}</span> "
                     for k, (lbl, _) in enumerate(series[:16]))
    return (f"<svg class='{cls}' width='{w}' height='{h}' xmlns='http://www.w3.org/2000/svg' "
            f"font-size='10' font-family='monospace'><rect x='40' y='10' width='{w - 50}' height='{h - 30}' "
            f"fill='none' stroke='#ccd'/>{''.join(body)}<text x='0' y='16'>{lab(y1)}</text>"
            f"<text x='0' y='{h - 20}'>{lab(y0)}</text><text x='40' y='{h - 4}'>step {x0}</text>"
            f"<text x='{w - 10}' y='{h - 4}' text-anchor='end'>step {x1}</text></svg><div>{legend}</div>")


def _loss_section(losses, cap):
    if not losses:
        return ["<h2 id='loss'>Loss curve</h2><p>No scalar loss was backpropagated.</p>"]
    stride = max(1, -(-len(losses) // cap))
    pts = [(i, v) for i, (_, v) in enumerate(losses) if i % stride == 0 and math.isfinite(v)]
    return [f"<h2 id='loss'>Loss curve ({len(losses)} backward calls, every {stride} drawn)</h2>",
            _line_chart([("loss", pts)], cls="chart loss-curve")]


def _run_section(samples, names):
    if not samples:
        return []
    n = len(samples[0]["params"])
    grad = [(names[i], [(s["step"], s["params"][i]["grad"]) for s in samples]) for i in range(n)]
    ratio = [(names[i], [(s["step"], s["params"][i]["ratio"]) for s in samples]) for i in range(n)]
    return ["<h2 id='run'>Over the run (sampled steps)</h2>", "<p>Gradient norm per parameter (log)</p>",
            _line_chart(grad, log=True, cls="chart run-grad"), "<p>update / weight per parameter (log)</p>",
            _line_chart(ratio, log=True, cls="chart run-ratio")]


def _doctor_section(xray):
    out = ["<h2 id='doctor'>Doctor's findings</h2>"]
    if xray.doctor is None:
        out.append("<p>The doctor did not run (the model was not found from the optimizer's parameters).</p>")
        return out
    found = xray.findings()
    if not found:
        out.append(f"<p>No problems found over {xray.doctor.steps} watched steps.</p>")
    for f in found:
        out.append(f"<div class='finding'>{_e(str(f))}</div>")
    return out
