// Goal: the Mermaid export draws every compiled machine completely (initial, every transition with its compact label, finals, call notes) in syntax Mermaid accepts, and the JSON export mirrors the tables; method: render COMPILED and small synthetic machines and inspect the lines.

import test from 'ava';
import { and, not, setup } from 'xstate';
import { compileMachine } from '../../src/protocol/compile.js';
import { COMPILED } from '../../src/protocol/machines.js';
import { machineToJson, machineToMermaid, machinesToMermaid, mermaidStateId, transitionLabel } from '../../src/report/mermaid.js';

const noop = () => {};
const guardTrue = () => true;

const synthetic = compileMachine(setup({
  guards: { a: guardTrue, b: guardTrue },
  actions: { x: noop, y: noop },
}).createMachine({
  id: 'synthetic',
  initial: 'note',
  states: {
    note: {
      on: {
        STEP: [
          { guard: and([not('b'), 'a']), target: 'end', actions: [{ type: 'y', params: { errno: 'EINVAL' } }, 'x'] },
          { guard: 'a', target: 'note' },
          { target: 'busy-state', actions: { type: 'y', params: { ret: 'retry', reason: 'stale' } } },
        ],
      },
    },
    'busy-state': { meta: { call: 'page-fault' }, on: { STEP: 'end' } },
    end: { type: 'final' },
  },
}));

test('labels are EVENT [guard] / action, action with params compacted', (t) => {
  const [t0, t1, t2] = synthetic.transitions;
  t.is(transitionLabel(t0!), 'STEP [!b && a] / y(EINVAL), x');
  t.is(transitionLabel(t1!), 'STEP [a]');
  t.is(transitionLabel(t2!), 'STEP / y(retry/stale)');
});

test('keywords and non-identifier state names get an alias', (t) => {
  t.is(mermaidStateId('walk'), 'walk');
  t.is(mermaidStateId('end'), 's_end');
  t.is(mermaidStateId('busy-state'), 's_busy_state');
  const text = machineToMermaid(synthetic);
  t.true(text.includes('state "note" as s_note'));
  t.true(text.includes('state "end" as s_end'));
  t.true(text.includes('state "busy-state" as s_busy_state'));
  t.true(text.includes('[*] --> s_note'));
  t.true(text.includes('s_note --> s_end : STEP [!b && a] / y(EINVAL), x'));
  t.true(text.includes('s_note --> s_note : STEP [a]'));
  t.true(text.includes('s_end --> [*]'));
  t.true(text.includes('note right of s_busy_state : calls page-fault'));
});

test('every compiled machine: header, initial, one line per transition, finals and call notes', (t) => {
  for (const m of COMPILED) {
    const text = machineToMermaid(m);
    const lines = text.trimEnd().split('\n');
    t.is(lines[0], `%% ${m.id}`);
    t.is(lines[1], 'stateDiagram-v2');
    t.true(lines.includes(`  [*] --> ${mermaidStateId(m.states[m.initial]!.name)}`), m.id);
    const edges = lines.filter((l) => / --> /.test(l) && !l.includes('[*]'));
    t.is(edges.length, m.transitions.length, `${m.id}: one edge per transition`);
    for (const s of m.states) {
      if (s.final) t.true(lines.includes(`  ${mermaidStateId(s.name)} --> [*]`), `${m.id}.${s.name} final`);
      if (s.call !== null) t.true(lines.includes(`  note right of ${mermaidStateId(s.name)} : calls ${s.call}`), `${m.id}.${s.name} call`);
    }
    for (const l of edges) {
      t.regex(l, /^ {2}\w+ --> \w+ : [A-Z_]+( \[[^\]]+\])?( \/ .+)?$/, l);
      t.false(l.includes(';'), `no statement separator in ${l}`);
      t.is(l.split(' : ').length, 2, `one label separator in ${l}`);
    }
  }
});

test('the calls of the vcpu and pre-fault machines are annotated', (t) => {
  const text = machinesToMermaid(COMPILED);
  t.regex(text, /%% vcpu\n[\s\S]*note right of exit : calls page-fault[\s\S]*note right of ioctl : calls pre-fault/);
  t.regex(text, /%% pre-fault\n[\s\S]*note right of fault : calls page-fault/);
  t.is(text.match(/^stateDiagram-v2$/gm)?.length, COMPILED.length);
  const md = machinesToMermaid(COMPILED, true);
  t.is(md.match(/^```mermaid$/gm)?.length, COMPILED.length);
});

test('the JSON export holds the tables: states, transitions with guard, actions and target', (t) => {
  for (const m of COMPILED) {
    const j = JSON.parse(JSON.stringify(machineToJson(m))) as ReturnType<typeof machineToJson>;
    t.is(j.id, m.id);
    t.is(j.initial, m.states[m.initial]!.name);
    t.is(j.states.length, m.states.length);
    t.is(j.transitions.length, m.transitions.length);
    for (const [i, tr] of j.transitions.entries()) {
      const c = m.transitions[i]!;
      t.is(tr.source, m.states[c.source]!.name);
      t.is(tr.target, m.states[c.target]!.name);
      t.deepEqual(tr.actions.map((a) => a.name), c.actions.map((a) => a.name));
      t.is(tr.guard === null, c.guard === null);
    }
  }
  const s = machineToJson(synthetic);
  t.is(s.transitions[0]!.guard, '!b && a');
  t.deepEqual(s.transitions[0]!.actions, [{ name: 'y', params: { errno: 'EINVAL' } }, { name: 'x', params: null }]);
  t.deepEqual(s.states.find((x) => x.name === 'busy-state'), { name: 'busy-state', final: false, call: 'page-fault' });
});
