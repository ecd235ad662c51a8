// Stepping through the trace: shows and hides what the page already holds. The numbers are
// the embedded trace JSON's (#trace-data), the words those of the terminal (#trace-view).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("trace-data").textContent);
  var view = JSON.parse(document.getElementById("trace-view").textContent);
  var steps = view.steps;
  var last = steps.length - 1;
  document.body.classList.add("mode-" + view.mode);

  function byKey(selector, attr) {
    var map = new Map();
    document.querySelectorAll(selector).forEach(function (el) {
      map.set(el.getAttribute(attr), el);
    });
    return map;
  }
  var nodes = byKey(".node[data-id]", "data-id");
  var edges = byKey(".edge[data-key]", "data-key");
  var labels = byKey(".label[data-key]", "data-key");
  var sumText = new Map();
  nodes.forEach(function (el, id) {
    var t = el.querySelector("text.sum");
    if (t) sumText.set(id, [t, t.textContent]);
  });
  var status = document.getElementById("status");
  var detail = document.getElementById("detail");
  var at = 0;

  function show(k, scroll) {
    at = Math.max(0, Math.min(last, k));
    var value = new Set(), grad = new Set(), fed = new Set(), sent = new Set();
    var sums = new Map();
    for (var i = 0; i <= at; i++) {
      var s = steps[i];
      if (s.kind === "value") {
        value.add(String(s.node));
        data.nodes[s.node].inputs.forEach(function (_, k) { fed.add(s.node + ":" + k); });
      } else if (s.kind === "grad") {
        grad.add(String(s.node));
      } else {
        sent.add(s.edge);
        if (s.short !== undefined) sums.set(String(s.to), s.short);
        if (s.done !== undefined) grad.add(String(s.done));
      }
    }
    var step = steps[at];
    nodes.forEach(function (el, id) {
      el.classList.toggle("has-value", value.has(id));
      el.classList.toggle("has-grad", grad.has(id));
      el.classList.toggle("summing", sums.has(id));
      el.classList.remove("current", "receiving");
      el.removeAttribute("aria-current");
    });
    sumText.forEach(function (pair, id) {
      pair[0].textContent = sums.has(id) ? sums.get(id) : pair[1];
    });
    edges.forEach(function (el, key) {
      el.classList.toggle("fed", fed.has(key));
      el.classList.toggle("sent", sent.has(key));
      el.classList.toggle("current", step.edge === key);
    });
    labels.forEach(function (el, key) {
      el.classList.toggle("shown", sent.has(key) || (view.mode === "forward" && fed.has(key)));
      el.classList.toggle("current", step.edge === key);
      if (step.edge === key) el.parentNode.appendChild(el);  // drawn last: on top
    });
    var here = nodes.get(String(step.node));
    var text = "Step " + (at + 1) + " of " + steps.length + ". " + step.text;
    if (step.kind === "edge") {
      var to = nodes.get(String(step.to));
      if (to) to.classList.add("receiving");
      if (step.sum !== undefined) text += "; at " + data.nodes[step.to].name + ": " + step.sum;
    }
    if (here) {
      here.classList.add("current");
      here.setAttribute("aria-current", "step");
      if (scroll && here.scrollIntoView) {
        here.scrollIntoView({ block: "nearest", inline: "nearest" });
      }
    }
    status.textContent = text;
    status.setAttribute("data-step", String(at));
    status.setAttribute("data-kind", step.kind);
    status.setAttribute("data-node", String(step.node));
    if (step.edge) status.setAttribute("data-edge", step.edge);
    else status.removeAttribute("data-edge");
  }

  function select(id) {
    var d = view.details[id];
    if (!d) return;
    nodes.forEach(function (el, key) { el.classList.toggle("selected", key === String(id)); });
    while (detail.firstChild) detail.removeChild(detail.firstChild);
    var h = document.createElement("h2");
    h.textContent = d.title;
    detail.appendChild(h);
    var dl = document.createElement("dl");
    d.rows.forEach(function (row) {
      var dt = document.createElement("dt");
      dt.textContent = row[0];
      var dd = document.createElement("dd");
      var pre = document.createElement("pre");
      pre.textContent = row[1];
      dd.appendChild(pre);
      dl.appendChild(dt);
      dl.appendChild(dd);
    });
    detail.appendChild(dl);
    detail.setAttribute("data-node", String(id));
  }

  document.querySelectorAll("[data-go]").forEach(function (button) {
    button.addEventListener("click", function () {
      var go = button.getAttribute("data-go");
      show(go === "home" ? 0 : go === "end" ? last : go === "back" ? at - 1 : at + 1, true);
    });
  });
  document.addEventListener("click", function (e) {
    var el = e.target.closest && e.target.closest(".node[data-id], tr[data-id]");
    if (el) select(Number(el.getAttribute("data-id")));
  });
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    var t = e.target;
    if (t.closest && t.closest("input, textarea, select")) return;
    var node = t.closest && t.closest(".node[data-id]");
    switch (e.key) {
      case "ArrowRight": case " ": case "Spacebar": show(at + 1, true); break;
      case "ArrowLeft": case "Backspace": show(at - 1, true); break;
      case "Home": show(0, true); break;
      case "End": show(last, true); break;
      case "Enter":
        if (!node) return;
        select(Number(node.getAttribute("data-id")));
        break;
      default: return;
    }
    e.preventDefault();
  });
  document.addEventListener("keyup", function (e) {
    if (e.key === " " && e.target.closest && e.target.closest("button, summary")) {
      e.preventDefault();  // Space steps; it does not also press the focused button
    }
  });
  show(view.start === "end" ? last : 0, false);
})();
