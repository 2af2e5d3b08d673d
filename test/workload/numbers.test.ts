// Goal: numeric scenario fields accept every documented spelling (JSON integers, "0x…", decimal strings, binary sizes) over the full u64 range and reject the rest with a one-line message naming the field; method: tables of inputs.

import test from 'ava';
import { FieldError, U64_MAX, formatSize, parseBoundedNumber, parseIntegerField, parseU64 } from '../../src/workload/numbers.js';

test('integers, hex and decimal strings parse to bigint', (t) => {
  const cases: [unknown, bigint][] = [
    [0, 0n], [4096, 4096n], [Number.MAX_SAFE_INTEGER, 2n ** 53n - 1n],
    ['0', 0n], ['4096', 4096n], [' 4096 ', 4096n], ['0x1000', 0x1000n], ['0X1F', 0x1fn], ['0xABCdef', 0xabcdefn],
    ['18446744073709551615', U64_MAX], ['0xffffffffffffffff', U64_MAX], ['0xfffffffffffff000', 0xfffffffffffff000n],
  ];
  for (const [input, want] of cases) t.is(parseU64(input, 'f'), want, JSON.stringify(input));
});

test('sizes use binary units, long and one-letter forms, any case', (t) => {
  const cases: [string, bigint][] = [
    ['512B', 512n], ['4KiB', 4096n], ['4K', 4096n], ['4k', 4096n], ['2MiB', 2n << 20n], ['2M', 2n << 20n], ['2 MiB', 2n << 20n],
    ['1GiB', 1n << 30n], ['1G', 1n << 30n], ['64GiB', 64n << 30n], ['1TiB', 1n << 40n], ['1T', 1n << 40n], ['2mib', 2n << 20n],
    ['16777215TiB', 16777215n << 40n],
  ];
  for (const [input, want] of cases) t.is(parseU64(input, 'f'), want, input);
});

function rejects(t: import('ava').ExecutionContext, input: unknown, path: string, pattern: RegExp): void {
  const e = t.throws(() => parseU64(input, path), { instanceOf: FieldError }, JSON.stringify(input));
  if (!e) return;
  t.true(e.message.startsWith(`${path}: `), e.message);
  t.regex(e.message, pattern);
  t.false(e.message.includes('\n'), 'one line');
  t.is(e.path, path);
}

test('the documented message for an unparseable size', (t) => {
  const e = t.throws(() => parseU64('2 megs', 'ops[3].size'), { instanceOf: FieldError });
  t.true(e?.message.startsWith('ops[3].size: expected an integer, "0x…" or a size like "2MiB", got "2 megs"'), e?.message);
  t.regex(e?.message ?? '', /binary/);
});

test('negative numbers, fractions, values above 2^64-1 and junk are rejected', (t) => {
  rejects(t, -1, 'a', /negative/);
  rejects(t, '-4096', 'a', /negative/);
  rejects(t, 1.5, 'a', /whole number/);
  rejects(t, '1.5GiB', 'a', /whole number/);
  rejects(t, '0x10000000000000000', 'a', /64 bits/);
  rejects(t, '18446744073709551616', 'a', /64 bits/);
  rejects(t, '16777216TiB', 'a', /64 bits/);
  rejects(t, 2 ** 60, 'a', /2\^53.*string/);
  rejects(t, 'lots', 'a', /expected an integer/);
  rejects(t, '0x', 'a', /expected an integer/);
  rejects(t, '0x12g', 'a', /expected an integer/);
  rejects(t, '1e6', 'a', /expected an integer/);
  rejects(t, '', 'a', /expected an integer/);
  rejects(t, true, 'a', /expected an integer/);
  rejects(t, null, 'a', /expected an integer/);
  rejects(t, [1], 'a', /expected an integer/);
  rejects(t, Infinity, 'a', /expected an integer/);
});

test('decimal units (KB, MB, GB, TB) are refused as ambiguous, suggesting the binary spelling', (t) => {
  for (const [input, suggestion] of [['2MB', '2MiB'], ['4kb', '4KiB'], ['1GB', '1GiB'], ['1 TB', '1TiB']] as const) {
    const e = t.throws(() => parseU64(input, 'memslots[0].size'), { instanceOf: FieldError });
    t.regex(e?.message ?? '', /ambiguous/);
    t.true(e?.message.includes(`"${suggestion}"`), e?.message);
  }
});

test('bounded JS-number fields apply their bound and name it', (t) => {
  t.is(parseBoundedNumber('0xfffffffffffff', 'ops[0].gpa', 2 ** 52 - 1, 'below 2^52'), 2 ** 52 - 1);
  const e = t.throws(() => parseBoundedNumber('0x10000000000000', 'ops[0].gpa', 2 ** 52 - 1, 'below 2^52'), { instanceOf: FieldError });
  t.regex(e?.message ?? '', /^ops\[0\]\.gpa: .*below 2\^52/);
});

test('integer fields take only JSON integers in range', (t) => {
  t.is(parseIntegerField(4, 'vm.vcpus', 1, 256), 4);
  for (const bad of [0, 257, 1.5, '4', null]) {
    const e = t.throws(() => parseIntegerField(bad, 'vm.vcpus', 1, 256), { instanceOf: FieldError });
    t.regex(e?.message ?? '', /^vm\.vcpus: /);
  }
});

test('formatSize picks the largest exact binary unit', (t) => {
  t.is(formatSize(0), '0');
  t.is(formatSize(4096), '4KiB');
  t.is(formatSize(2 * 1024 * 1024 + 4096), '2052KiB');
  t.is(formatSize(1n << 40n), '1TiB');
  t.is(formatSize(0x1800), '6KiB');
  t.is(formatSize(100), '0x64');
});
