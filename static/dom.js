// The one helper that builds elements. Children are appended as nodes or as text (a string
// becomes a text node, never markup), so peer text cannot inject anything.

// el('li', {class: 'x', 'data-id': '1', 'aria-label': 'y', title: 'z'}, child, 'text', ...)
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('data-') || k.startsWith('aria-') || k === 'role') node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) node.append(c);
  return node;
}
