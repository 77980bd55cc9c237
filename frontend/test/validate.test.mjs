// Unit tests for js/validate.js: the server's input rules, mirrored.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LIMITS, limits } from '../js/limits.js';
import * as rules from '../js/validate.js';

test('password rule mirrors the server', () => {
  assert.match(rules.password(''), /required/);
  assert.match(rules.password('Ab1'), /at least 8/);
  assert.match(rules.password('abcdefg1'), /upper-case/);
  assert.match(rules.password('ABCDEFG1'), /lower-case/);
  assert.match(rules.password('Abcdefgh'), /digit/);
  assert.equal(rules.password('Passw0rd'), '');
  assert.equal(rules.password('Ünïcödé1'), ''); // Unicode cases count, as on the server
  assert.match(rules.password('A1' + 'a'.repeat(127)), /at most 128/);
  assert.equal(rules.password('A1' + 'a'.repeat(126)), '');
});

test('password strength never calls a rule-breaking password fair', () => {
  assert.ok(rules.strength('abcdefgh').score <= 1);
  assert.ok(rules.strength('Passw0rd').score <= 1); // common word
  assert.ok(rules.strength('Tr0ub4dor').score >= 2);
  assert.equal(rules.strength('Correct-Horse-Battery-9').score, 4);
});

test('emails, names and room names', () => {
  assert.equal(rules.email(' ana@example.com '), '');
  assert.notEqual(rules.email('ana@localhost'), '');
  assert.notEqual(rules.email('ana example.com'), '');
  assert.match(rules.name('   ', 'First name'), /required/);
  assert.equal(rules.name(' Ana ', 'First name'), '');
  assert.match(rules.name('x'.repeat(101), 'Last name'), /at most 100/);
  assert.equal(rules.name('😀'.repeat(100), 'Last name'), ''); // counted in characters, not UTF-16 units
  assert.match(rules.roomName(''), /required/);
  assert.match(rules.roomName('r'.repeat(101)), /at most 100/);
});

test('messages: at most 4000 characters after trimming, counted as the server does', () => {
  assert.match(rules.message('   '), /write a message/i);
  assert.equal(rules.message('x'.repeat(4000)), '');
  assert.equal(rules.message(`  ${'x'.repeat(4000)}\n`), ''); // surrounding blanks do not count
  assert.equal(rules.message('😀'.repeat(4000)), ''); // characters, not UTF-16 units
  assert.equal(rules.message('x'.repeat(4001)), 'A message can be at most 4000 characters.');
});

test('avatar checks before upload', () => {
  assert.equal(rules.avatar({ type: 'image/png', size: 1000 }), '');
  assert.match(rules.avatar({ type: 'image/svg+xml', size: 1000 }), /PNG, JPEG, GIF or WebP/);
  assert.match(rules.avatar({ type: 'image/jpeg', size: 5 * 1024 * 1024 + 1 }), /at most 5 MB/);
  assert.equal(rules.avatar({ type: 'image/jpeg', size: 5 * 1024 * 1024 }), '');
});

test('the rules follow the limits from /config', (t) => {
  t.after(() => Object.assign(limits, DEFAULT_LIMITS));
  Object.assign(limits, { max_message_chars: 10, max_room_name_chars: 5, max_name_chars: 3, max_avatar_bytes: 2 * 1024 * 1024 });
  assert.equal(rules.message('x'.repeat(10)), '');
  assert.equal(rules.message('x'.repeat(11)), 'A message can be at most 10 characters.');
  assert.equal(rules.roomName('abcde'), '');
  assert.equal(rules.roomName('abcdef'), 'Room name must be at most 5 characters.');
  assert.equal(rules.name('Ana', 'First name'), '');
  assert.equal(rules.name('Anna', 'First name'), 'First name must be at most 3 characters.');
  assert.match(rules.avatar({ type: 'image/png', size: 3 * 1024 * 1024 }), /at most 2 MB \(this one is 3\.0 MB\)/);
});
