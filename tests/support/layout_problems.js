() => {
  // tests/support/browser.py, layout_problems(page): what it measures and why.
  const problems = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth) {
    problems.push(`the page is ${doc.scrollWidth - doc.clientWidth} px wider than the screen`);
  }
  for (const el of document.body.querySelectorAll('*')) {
    const style = getComputedStyle(el);
    if (['auto', 'scroll'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1) {
      problems.push(`${el.tagName}.${el.className} scrolls sideways by ${el.scrollWidth - el.clientWidth} px`);
    }
  }
  const canvas = document.createElement('canvas').getContext('2d');
  const range = document.createRange();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest('script, style, svg')) continue;
    let box = el;
    while (box.parentElement && ['inline', 'contents'].includes(getComputedStyle(box).display)) {
      box = box.parentElement;
    }
    const boxRect = box.getBoundingClientRect();
    if (boxRect.width <= 1 || getComputedStyle(el).visibility === 'hidden') continue;  // visually hidden
    const boxStyle = getComputedStyle(box);
    const inner = box.clientWidth - parseFloat(boxStyle.paddingLeft) - parseFloat(boxStyle.paddingRight);
    canvas.font = getComputedStyle(el).font;
    for (const match of node.data.matchAll(/\S+/g)) {
      const word = match[0];
      const width = canvas.measureText(word).width;
      if (width > inner + 0.5) {
        if (width <= doc.clientWidth - 40) {  // it would fit a box as wide as the page
          problems.push(`${box.tagName}.${box.className} is ${inner.toFixed(1)} px wide, narrower than "${word}" (${width.toFixed(1)} px)`);
        }
        continue;
      }
      const number = /^[\d.,:+\-]+$/.test(word);
      let line = null;
      for (let i = 0; i < word.length; i++) {
        range.setStart(node, match.index + i);
        range.setEnd(node, match.index + i + 1);
        const rect = range.getClientRects()[0];
        if (!rect) continue;
        const bottom = Math.round(rect.bottom);
        const inside = number || /[\p{L}\p{N}]{2}/u.test(word.slice(i - 1, i + 1));
        if (line !== null && bottom !== line && inside) {
          problems.push(`"${word}" breaks inside itself (${word.slice(0, i)}|${word.slice(i)}) in ${box.tagName}.${box.className}`);
        }
        line = bottom;
      }
    }
  }
  return problems;
}
