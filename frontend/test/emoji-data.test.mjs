// Unit tests for js/chat/emoji-data.js: the picker's set and its search.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EMOJI, EMOJI_GROUPS, searchEmoji } from '../js/chat/emoji-data.js';
import { QUICK_EMOJI } from '../js/chat/changes-model.js';

test('a small set, each emoji once, named, with the quick reactions among them', () => {
  assert.ok(EMOJI.length >= 60 && EMOJI.length <= 400);
  assert.equal(new Set(EMOJI.map((e) => e.emoji)).size, EMOJI.length);
  for (const e of EMOJI) {
    assert.ok(e.name && /^[\p{L}\p{N} .'’:&-]+$/u.test(e.name), `${e.emoji} "${e.name}"`);
    assert.doesNotMatch(e.emoji, /[\p{L}\p{N}\s]/u, `${e.name}: an emoji only`);
  }
  for (const q of QUICK_EMOJI) assert.ok(EMOJI.some((e) => e.emoji === q), `${q} offered`);
  assert.equal(EMOJI_GROUPS.flatMap((g) => g.emoji).length, EMOJI.length);
});

test('search by name or word, names first; every word must match; the emoji itself finds it', () => {
  assert.deepEqual(searchEmoji('tada').map((e) => e.emoji), ['🎉']);
  const party = searchEmoji('party').map((e) => e.emoji);
  assert.deepEqual(party.slice(0, 2).sort(), ['🎉', '🥳'].sort(), 'names starting with the word first');
  assert.ok(party.indexOf('🎈') > 1, 'then a search word (balloon: party)');
  assert.deepEqual(searchEmoji('red heart').map((e) => e.emoji), ['❤️']);
  assert.deepEqual(searchEmoji('ROCKET').map((e) => e.emoji), ['🚀']);
  assert.deepEqual(searchEmoji('🚀').map((e) => e.emoji), ['🚀']);
  assert.deepEqual(searchEmoji('zzzzqq'), []);
  assert.equal(searchEmoji('  ').length, EMOJI.length);
});
