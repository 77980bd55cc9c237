// A message's text as DOM: the tree of markdown-model.js built with
// createElement and text nodes only (never innerHTML), so it holds under the
// page's CSP whatever the text says. Links open in a new tab without a way
// back to this page (rel="noopener noreferrer"). `textRun(text)` turns each
// run of plain text into nodes (mentions.js highlights mentions with it).

import { h } from '../dom.js';
import { parseMessage, safeHref } from './markdown-model.js';

function inline(nodes, textRun) {
  return nodes.map((n) => {
    switch (n.type) {
      case 'text': return textRun(n.text);
      case 'br': return h('br');
      case 'code': return h('code', { class: 'md-code', text: n.text });
      case 'strong': return h('strong', {}, inline(n.children, textRun));
      case 'em': return h('em', {}, inline(n.children, textRun));
      case 'link': {
        const href = safeHref(n.href); // checked again where it becomes an attribute
        if (!href) return n.text;
        return h('a', { class: 'md-link', href, text: n.text, attrs: { target: '_blank', rel: 'noopener noreferrer' } });
      }
      default: return null;
    }
  });
}

/** The nodes of `content`: inline runs, quotes and code blocks. */
export function richText(content, { textRun = (text) => text } = {}) {
  return parseMessage(content).map((block) => {
    if (block.type === 'code') return h('pre', { class: 'md-pre' }, h('code', { text: block.text }));
    if (block.type === 'quote') return h('blockquote', { class: 'md-quote' }, inline(block.children, textRun));
    return inline(block.children, textRun);
  });
}
