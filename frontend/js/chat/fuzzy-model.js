// Fuzzy matching for the quick switcher (Ctrl/Cmd+K), without the DOM, so
// node can test it: the letters typed must appear in the name in order, not
// necessarily together ("lng" finds "lounge"); names where they start words,
// run together or start the name rank first.

const WORD_CHAR = /[\p{L}\p{N}]/u;

const fold = (s) => s.toLocaleLowerCase().normalize('NFD').replace(/\p{M}/gu, '');

/** Whether `text[i]` starts a word: the start, after a separator, or a capital after a small letter. */
function wordStart(text, i) {
  if (i === 0) return true;
  const prev = text[i - 1];
  if (!WORD_CHAR.test(prev)) return true;
  return /\p{Ll}/u.test(prev) && /\p{Lu}/u.test(text[i]);
}

/**
 * How well `query` matches `text`: {score, indices} (the matched positions
 * of `text`, for marking them), or null when it does not. Case and accents
 * are ignored; spaces in the query are ignored too.
 */
export function fuzzyMatch(query, text) {
  const q = [...fold(query || '').replace(/\s+/g, '')];
  const chars = [...(text || '')];
  const folded = chars.map((c) => fold(c));
  if (!q.length) return { score: 0, indices: [] };
  // The query whole at the start of a word is the best kind of match.
  const joined = folded.join('');
  const run = joined.indexOf(q.join(''));
  if (run !== -1 && folded.every((c) => c.length === 1) && wordStart(chars, run)) {
    const indices = q.map((_, k) => run + k);
    return { score: 100 + (run === 0 ? 50 : 0) - run * 0.1, indices };
  }
  let score = 0;
  let at = 0;
  let last = -2;
  const indices = [];
  for (const ch of q) {
    // Prefer the next word start holding this letter, else its next place.
    let found = -1;
    for (let i = at; i < folded.length; i++) {
      if (folded[i] !== ch) continue;
      if (found === -1) found = i;
      if (wordStart(chars, i) && i !== last + 1) {
        found = i;
        break;
      }
      if (i === last + 1) break; // running on is as good
    }
    if (found === -1) return null;
    score += 1;
    if (found === last + 1) score += 3;
    if (wordStart(chars, found)) score += 4;
    score -= Math.min(found - at, 10) * 0.2;
    indices.push(found);
    last = found;
    at = found + 1;
  }
  if (indices[0] === 0) score += 5;
  return { score, indices };
}

/**
 * `items` matching `query`, best first (ties keep their order), each with
 * its `match`: [{item, match}]. `titleOf(item)` is what is matched.
 * An empty query keeps every item, in order.
 */
export function rankMatches(query, items, titleOf, { limit = 8 } = {}) {
  const ranked = [];
  items.forEach((item, order) => {
    const match = fuzzyMatch(query, titleOf(item));
    if (match) ranked.push({ item, match, order });
  });
  ranked.sort((a, b) => b.match.score - a.match.score || a.order - b.order);
  return ranked.slice(0, limit).map(({ item, match }) => ({ item, match }));
}

/**
 * `text` split into runs with the matched `indices` marked:
 * [{text, marked}], for building the name with <mark>s.
 */
export function markedRuns(text, indices) {
  const chars = [...(text || '')];
  const hit = new Set(indices || []);
  const runs = [];
  chars.forEach((c, i) => {
    const marked = hit.has(i);
    const lastRun = runs[runs.length - 1];
    if (lastRun && lastRun.marked === marked) lastRun.text += c;
    else runs.push({ text: c, marked });
  });
  return runs;
}
