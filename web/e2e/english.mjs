// The zh checks' measure of English left on a page, shared by e2e.mjs and modes.mjs.
//
// An "English sentence": three or more ordinary Latin words in a row (a word: letters, a capital
// only first, maybe ending in , . ; : ! ?). API names (ClusterIP, kube-proxy, EndpointSlice),
// addresses and kernel terms (expire_nodest_conn) are not ordinary words. Code panels (the
// manifest editor, `ipvsadm`, `kubectl` and rule listings: pre, code) and hover texts
// (title) are left out: they show commands and the English original.
export const englishSentences = (locator) =>
  locator.evaluate((root) => {
    const word = /^[A-Za-z][a-z'’]*[,.;:!?]?$/;
    const skip = (el) => el.closest("pre, code, textarea, title, style, script, .sr-editor");
    const found = [];
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!el || skip(el)) continue;
      let run = [];
      for (const tok of n.textContent.split(/\s+/).filter(Boolean)) {
        if (word.test(tok)) {
          run.push(tok);
          if (run.length === 3) found.push(`${run.join(" ")}… in: ${n.textContent.trim().slice(0, 160)}`);
        } else run = [];
      }
    }
    return found;
  });
