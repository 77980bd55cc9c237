// Unit tests for js/chat/fuzzy-model.js: the quick switcher's matching.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzzyMatch, markedRuns, rankMatches } from '../js/chat/fuzzy-model.js';

const names = ['alpha', 'beta', 'lounge', 'general', 'Ben Ng', 'design-reviews', 'Éloïse Durand'];
const rank = (q) => rankMatches(q, names, (x) => x).map((r) => r.item);

test('letters in order, not necessarily together', () => {
  assert.deepEqual(fuzzyMatch('lng', 'lounge').indices, [0, 3, 4]);
  assert.equal(fuzzyMatch('lgn', 'lounge'), null, 'out of order');
  assert.equal(fuzzyMatch('xyz', 'lounge'), null);
  assert.deepEqual(rank('lng'), ['lounge']);
});

test('case, accents and spaces do not matter', () => {
  assert.deepEqual(rank('BEN'), ['Ben Ng']);
  assert.deepEqual(rank('eloise'), ['Éloïse Durand']);
  assert.deepEqual(rank('ben ng'), ['Ben Ng']);
});

test('word starts, runs and prefixes rank first', () => {
  assert.equal(rank('dr')[0], 'design-reviews', 'd…r at two word starts');
  assert.equal(rank('ge')[0], 'general', 'a prefix beats a run inside a word (lounge)');
  assert.equal(rank('bn')[0], 'Ben Ng');
  assert.deepEqual(fuzzyMatch('bn', 'Ben Ng').indices, [0, 4], 'the N of Ng, a word start');
  assert.equal(rankMatches('nv', ['canvas', 'a new version'], (x) => x)[0].item, 'a new version', 'initials beat letters that merely touch');
});

test('an empty query keeps every item in order, up to the limit', () => {
  assert.deepEqual(rank(''), names.slice(0, 7));
  assert.equal(rankMatches('', names, (x) => x, { limit: 3 }).length, 3);
});

test('marked runs for the matched letters', () => {
  assert.deepEqual(markedRuns('lounge', [0, 3, 4]), [
    { text: 'l', marked: true },
    { text: 'ou', marked: false },
    { text: 'ng', marked: true },
    { text: 'e', marked: false },
  ]);
  assert.deepEqual(markedRuns('ab', []), [{ text: 'ab', marked: false }]);
});
