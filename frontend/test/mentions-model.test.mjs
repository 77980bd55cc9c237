// Unit tests for js/chat/mentions-model.js: @ autocomplete and mention highlighting.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as mentions from '../js/chat/mentions-model.js';

const ana = { id: 1, first_name: 'Ana', last_name: 'Lima' };
const ben = { id: 2, first_name: 'Ben', last_name: 'Ng' };
const anabel = { id: 3, first_name: 'Anabel', last_name: 'Ortiz' };
const bo = { id: 4, first_name: 'Bo', last_name: 'Anders' };

test('the @name being typed just before the caret', () => {
  assert.deepEqual(mentions.mentionQuery('@', 1), { start: 0, query: '' });
  assert.deepEqual(mentions.mentionQuery('hi @An', 6), { start: 3, query: 'An' });
  assert.deepEqual(mentions.mentionQuery('hi @An there', 6), { start: 3, query: 'An' });
  assert.equal(mentions.mentionQuery('mail a@b', 8), null, 'not inside a word');
  assert.equal(mentions.mentionQuery('hi @Ana there', 13), null, 'a space ends it');
  assert.equal(mentions.mentionQuery('', 0), null);
});

test('members matching what was typed: whole names first, never ourselves', () => {
  const list = [bo, anabel, ana, ben];
  assert.deepEqual(mentions.matchMembers(list, 'an', { meId: 2 }).map((m) => m.id), [1, 3, 4]);
  assert.deepEqual(mentions.matchMembers(list, 'NG', { meId: 1 }).map((m) => m.id), [2]);
  assert.deepEqual(mentions.matchMembers(list, '', { meId: 1 }).map((m) => m.id), [3, 2, 4]);
  assert.deepEqual(mentions.matchMembers(list, 'zz', { meId: 1 }), []);
  assert.equal(mentions.matchMembers(list, '', { meId: 9, limit: 2 }).length, 2);
});

test('choosing a member puts @Full Name in the text, and its id goes into mentions while it stays', () => {
  const { text, caret } = mentions.insertMention('hi @An!', 3, 6, 'Ana Lima');
  assert.equal(text, 'hi @Ana Lima !');
  assert.equal(caret, 13);
  const chosen = [{ id: 1, label: 'Ana Lima' }, { id: 2, label: 'Ben Ng' }, { id: 1, label: 'Ana Lima' }];
  assert.deepEqual(mentions.mentionIds('hi @Ana Lima and @Ben Ng.', chosen), [1, 2]);
  assert.deepEqual(mentions.mentionIds('hi @Ana Limas', chosen), [], 'another word');
  assert.deepEqual(mentions.mentionIds('hi Ana Lima', chosen), [], 'the @ was removed');
});

test('mentions in a message, split into runs to highlight', () => {
  const people = [{ id: 1, labels: mentions.mentionLabels(ana) }, { id: 3, labels: mentions.mentionLabels(anabel) }];
  assert.deepEqual(mentions.mentionLabels(ana), ['Ana Lima', 'Ana']);
  assert.deepEqual(mentions.mentionSegments('hey @Ana Lima, and @Anabel Ortiz: <b>', people), [
    { text: 'hey ' },
    { text: '@Ana Lima', userId: 1 },
    { text: ', and ' },
    { text: '@Anabel Ortiz', userId: 3 },
    { text: ': <b>' },
  ]);
  assert.deepEqual(mentions.mentionSegments('@Ana!', people), [{ text: '@Ana', userId: 1 }, { text: '!' }]);
  assert.deepEqual(mentions.mentionSegments('@Anaxx', people), [{ text: '@Anaxx' }]);
  assert.deepEqual(mentions.mentionSegments('', people), []);
});
