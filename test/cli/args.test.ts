// Goal: the option values (integers, sizes, durations, lists) parse as documented and every bad one is a one-line UsageError naming the option; method: call the parsers directly on good and bad strings.

import test from 'ava';
import { UsageError, parseDuration, parseIntIn, parseSize, parseU32Option, splitList } from '../../src/cli/args.js';

function usage(t: import('ava').ExecutionContext, f: () => unknown, pattern: RegExp): void {
  const e = t.throws(f, { instanceOf: UsageError });
  t.regex(e?.message ?? '', pattern);
  t.false((e?.message ?? '').includes('\n'), 'one line');
}

test('parseU32Option: decimal and hex in 0..2^32-1', (t) => {
  t.is(parseU32Option('seed', '0'), 0);
  t.is(parseU32Option('seed', ' 42 '), 42);
  t.is(parseU32Option('seed', '0xffffffff'), 0xffffffff);
  usage(t, () => parseU32Option('seed', '4294967296'), /^--seed must be an integer in 0\.\.4294967295, got '4294967296'$/);
  usage(t, () => parseU32Option('seed', '-3'), /^--seed must be an integer/);
  usage(t, () => parseU32Option('seed', '1.5'), /^--seed must be an integer/);
});

test('parseIntIn: decimal integers in the given range, the bounds included', (t) => {
  t.is(parseIntIn('vcpus', '1', 1, 256), 1);
  t.is(parseIntIn('vcpus', '256', 1, 256), 256);
  usage(t, () => parseIntIn('vcpus', '257', 1, 256), /^--vcpus must be an integer in 1\.\.256, got '257'$/);
  usage(t, () => parseIntIn('vcpus', '0', 1, 256), /got '0'/);
  usage(t, () => parseIntIn('vcpus', 'two', 1, 256), /got 'two'/);
  usage(t, () => parseIntIn('vcpus', '0x10', 1, 256), /got '0x10'/);
});

test('parseSize: binary suffixes and hex, within bounds, whole 4KiB pages', (t) => {
  t.is(parseSize('memory', '1GiB', 0, 2 ** 40), 2 ** 30);
  t.is(parseSize('memory', '16MiB', 0, 2 ** 40), 16 << 20);
  t.is(parseSize('memory', '0x200000', 0, 2 ** 40), 2 << 20);
  usage(t, () => parseSize('memory', '1GB', 0, 2 ** 40), /^--memory: .*ambiguous/);
  usage(t, () => parseSize('memory', '1000', 4096, 2 ** 30), /^--memory must be between 4096 and 1073741824 bytes \(1 GiB\), got '1000'$/);
  usage(t, () => parseSize('memory', '6KiB', 0, 2 ** 30), /^--memory must be a multiple of 4KiB, got '6KiB'$/);
});

test('parseDuration: ms, s, m or bare seconds, in milliseconds', (t) => {
  t.is(parseDuration('time', '500ms'), 500);
  t.is(parseDuration('time', '10s'), 10_000);
  t.is(parseDuration('time', '2m'), 120_000);
  t.is(parseDuration('time', '1.5'), 1500);
  usage(t, () => parseDuration('time', 'soon'), /^--time must be a duration like 10s, 500ms or 2m, got 'soon'$/);
  usage(t, () => parseDuration('time', '10h'), /got '10h'/);
});

test('splitList: comma lists, blanks and empty items dropped', (t) => {
  t.deepEqual(splitList('1, 4,,16 '), ['1', '4', '16']);
  t.deepEqual(splitList(''), []);
});
