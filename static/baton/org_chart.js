// The admin's org chart: the filter box marks matching people, dims the rest and opens the
// branches down to each match; "Expand all" / "Collapse all" open or close every branch.
(function () {
  "use strict";
  const tree = document.getElementById("org-tree");
  const box = document.getElementById("org-filter");
  if (!tree || !box) return;
  const count = document.getElementById("org-filter-count");
  const people = Array.from(tree.querySelectorAll("li[data-search]"));

  function unmark() {
    tree.querySelectorAll("mark").forEach((mark) => mark.replaceWith(document.createTextNode(mark.textContent)));
    tree.normalize();
  }

  function mark(element, query) {
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    const texts = [];
    while (walker.nextNode()) texts.push(walker.currentNode);
    texts.forEach((text) => {
      const at = text.data.toLowerCase().indexOf(query);
      if (at < 0) return;
      const match = text.splitText(at);
      match.splitText(query.length);
      const highlight = document.createElement("mark");
      highlight.textContent = match.data;
      match.replaceWith(highlight);
    });
  }

  function openTo(li) {
    for (let up = li.parentElement; up && up !== tree; up = up.parentElement) {
      if (up.tagName === "DETAILS") up.open = true;
    }
  }

  function filter() {
    const query = box.value.trim().toLowerCase();
    unmark();
    people.forEach((li) => li.classList.remove("org-hit", "org-miss"));
    if (!query) {
      count.textContent = "";
      return;
    }
    let hits = 0;
    people.forEach((li) => {
      const hit = li.dataset.search.includes(query);
      li.classList.add(hit ? "org-hit" : "org-miss");
      if (!hit) return;
      hits += 1;
      openTo(li);
      li.querySelectorAll(":scope > .org-node .org-searchable").forEach((el) => mark(el, query));
    });
    count.textContent = hits ? `${hits} ${hits === 1 ? "match" : "matches"}` : "Nobody matches";
  }

  // A link to one person ("Show in org chart": #org-<username>) opens the branches down to them.
  function showLinked() {
    const target = location.hash ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null;
    if (!target || !tree.contains(target)) return;
    openTo(target);
    target.scrollIntoView({ block: "center" });
  }

  box.addEventListener("input", filter);
  window.addEventListener("hashchange", showLinked);
  showLinked();
  document.querySelectorAll("[data-org-expand]").forEach((button) => {
    button.addEventListener("click", () => {
      const open = button.dataset.orgExpand === "open";
      tree.querySelectorAll("details").forEach((details) => {
        details.open = open;
      });
    });
  });
})();
