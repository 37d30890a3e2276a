// Comment on a selected passage: when the reader selects words inside one paragraph, offer a
// button that opens the observation form with the paragraph's key, the quoted words and their
// offsets in the paragraph's text (whitespace collapsed, as the server stores it). The server
// checks the quote against the paragraph and trusts the offsets only if they match.
(function () {
  "use strict";
  var action = document.getElementById("selection-action");
  var link = document.getElementById("comment-selection");
  if (!action || !link) { return; }

  function collapse(text) { return text.replace(/\s+/g, " "); }

  function paragraphOf(node) {
    while (node && node.nodeType !== 1) { node = node.parentNode; }
    return node ? node.closest("[data-paragraph-key]") : null;
  }

  function describe(selection) {
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) { return null; }
    var range = selection.getRangeAt(0);
    var paragraph = paragraphOf(range.startContainer);
    if (!paragraph || paragraph !== paragraphOf(range.endContainer)) { return null; }
    var before = document.createRange();
    before.selectNodeContents(paragraph);
    before.setEnd(range.startContainer, range.startOffset);
    var whole = collapse(paragraph.textContent);
    var leading = whole.length - whole.replace(/^\s+/, "").length;
    var quote = collapse(range.toString()).trim();
    if (!quote) { return null; }
    var prefix = collapse(before.toString());
    var start = Math.max(0, prefix.length - leading);
    var text = whole.trim();
    if (text.substr(start, quote.length) !== quote) {
      // A leading space inside the selection shifts it: look from just before.
      var found = text.indexOf(quote, Math.max(0, start - 1));
      start = found >= 0 ? found : start;
    }
    return { key: paragraph.getAttribute("data-paragraph-key"), quote: quote,
             start: start, end: start + quote.length, paragraph: paragraph };
  }

  function update() {
    // A collapsed selection (e.g. the click on the button itself) keeps the last passage.
    var chosen = describe(window.getSelection());
    if (!chosen) { return; }
    var url = new URL(link.getAttribute("data-base-url"), window.location.href);
    url.searchParams.set("paragraph", chosen.key);
    url.searchParams.set("quote", chosen.quote);
    url.searchParams.set("start", String(chosen.start));
    url.searchParams.set("end", String(chosen.end));
    link.href = url.pathname + url.search;
    chosen.paragraph.parentNode.insertBefore(action, chosen.paragraph.nextSibling);
    action.hidden = false;
  }

  document.addEventListener("selectionchange", function () { window.setTimeout(update, 0); });
})();
