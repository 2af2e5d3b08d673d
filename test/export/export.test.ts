// Goal: exportC() from the package entry assembles the reproducer in an order C accepts (everything defined before use, one main) and refuses what no host can run; method: export small scenarios and read the C.

import test from 'ava';
import { ExportError, exportC, parseScenario } from '../../src/index.js';

const scenario = (ops: unknown[]) => parseScenario(JSON.stringify({
  name: 'api-export', description: 'd', vm: { type: 'default', vcpus: 2 },
  memslots: [{ slot: 0, gpa: '0x0', size: '16MiB' }], ops,
}), 'api.json');

test('the file: header, prologue, tables, runtime and one main, each function defined before it is called', (t) => {
  const { c, expectations } = exportC({ scenario: scenario([
    { actor: 'vcpu1', op: 'access', gpa: '0x1000', access: 'write' },
    { actor: 'vmm', op: 'signal', vcpu: 'vcpu1' },
  ]), target: 'file:api.json', kernel: '6.19', token: null, runs: 1 });
  t.deepEqual(expectations.allowed, [['ok'], ['ok']]);
  t.is(c.match(/^int main\(/gm)?.length, 1);
  const at = (s: string): number => { const i = c.indexOf(s); t.true(i >= 0, s); return i; };
  t.true(at('#include <linux/kvm.h>') < at('#define SCENARIO_NAME "api-export"'));
  t.true(at('struct actor {') < at('static struct actor actors[NR_ACTORS] = {'));
  t.true(at('void die(const char *fmt') < at('static void backing_map('));
  t.true(at('static const char *do_access(') < at('static const char *run_op('));
  t.true(at('static double now_ms(') < at('static void watchdog('));
  t.regex(c, /static const struct op ops_vcpu1\[1\] = \{\n\t\{ \.index = 0, \.kind = OP_ACCESS, \.gpa = 0x1000ULL, \.write = 1, \.after = -1, \.what = "write 0x1000", \.expect = "ok" \},\n\};/);
  t.regex(c, /\{ \.name = "vcpu1", \.vcpu = 1, \.ops = ops_vcpu1, \.nr_ops = 1 \}/);
  t.regex(c, /\{ \.name = "vmm", \.vcpu = -1, \.ops = ops_vmm, \.nr_ops = 1 \}/);
});

test('a scenario no real host can run is an ExportError', (t) => {
  t.throws(() => exportC({ scenario: scenario([{ actor: 'vmm', op: 'vm_dead' }]), target: 'file:api.json', kernel: '6.19', token: null, runs: 0 }), { instanceOf: ExportError });
});
