/**
 * Diagrams of the protocol machines, from their compiled tables (the same tables the
 * engines step, so a diagram cannot drift from what runs):
 *
 * - `machineToMermaid()`: a Mermaid `stateDiagram-v2` under a `%% machine-id` comment;
 *   `[*] -->` the initial state, `--> [*]` from final states, each transition labelled
 *   `EVENT [guard] / action, action` (action params compactly: `setErrno(ENOMEM)`), and a
 *   note on every state that runs another machine to completion (`calls page-fault`).
 * - `machineToJson()`: the table itself — states, events, transitions with guard,
 *   actions and target — for tools.
 */

import { guardToString, type ActionRef, type CompiledMachine, type CompiledTransition, type GuardExpr } from '../protocol/compile.js';

/** Words Mermaid's state-diagram grammar treats as keywords; such state names get an alias. */
const MERMAID_RESERVED = new Set(['state', 'note', 'end', 'as', 'direction', 'classDef', 'class', 'style', 'click', 'left', 'right', 'of', 'default']);

/** The Mermaid id of a state: its name when that is a plain identifier and not a keyword, else `s_…`. */
export function mermaidStateId(name: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !MERMAID_RESERVED.has(name)) return name;
  return `s_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** Characters that end or confuse a Mermaid label (`;` ends a statement, `:` `#` `{}` `<>` are syntax or entities). */
function cleanLabel(s: string): string {
  return s.replace(/[;:#{}<>"\n]/g, (c) => (c === '\n' ? ' ' : c === '"' ? "'" : `#${c.charCodeAt(0)};`));
}

function paramText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map(paramText).join(' ');
  if (typeof v === 'object') return Object.values(v as Record<string, unknown>).map(paramText).join('/');
  return String(v);
}

/** `name` or `name(p1/p2)`: an action with its params' values only. */
export function actionToString(a: ActionRef): string {
  const p = paramText(a.params);
  return p === '' ? a.name : `${a.name}(${p})`;
}

/** `EVENT [guard] / action, action` — the compact label of a transition. */
export function transitionLabel(t: CompiledTransition): string {
  const guard = t.guard ? ` [${guardToString(t.guard as GuardExpr)}]` : '';
  const actions = t.actions.length > 0 ? ` / ${t.actions.map(actionToString).join(', ')}` : '';
  return `${t.event}${guard}${actions}`;
}

/** machineToMermaid(): one machine as a `stateDiagram-v2` block (no code fence). */
export function machineToMermaid(m: CompiledMachine): string {
  const lines = [`%% ${m.id}`, 'stateDiagram-v2'];
  const id = (i: number): string => mermaidStateId(m.states[i]!.name);
  for (const s of m.states) {
    if (mermaidStateId(s.name) !== s.name) lines.push(`  state "${s.name}" as ${mermaidStateId(s.name)}`);
  }
  lines.push(`  [*] --> ${id(m.initial)}`);
  for (const t of m.transitions) lines.push(`  ${id(t.source)} --> ${id(t.target)} : ${cleanLabel(transitionLabel(t))}`);
  for (const s of m.states) {
    if (s.final) lines.push(`  ${id(s.index)} --> [*]`);
    if (s.call !== null) lines.push(`  note right of ${id(s.index)} : calls ${cleanLabel(s.call)}`);
  }
  return lines.join('\n') + '\n';
}

/** Every machine, one block each, separated by a blank line; `markdown` wraps each in a fenced block under a heading. */
export function machinesToMermaid(machines: readonly CompiledMachine[], markdown = false): string {
  return machines.map((m) => (markdown ? `## ${m.id}\n\n\`\`\`mermaid\n${machineToMermaid(m)}\`\`\`\n` : machineToMermaid(m))).join('\n');
}

export interface MachineJson {
  readonly id: string;
  readonly initial: string;
  readonly events: readonly string[];
  readonly states: readonly { readonly name: string; readonly final: boolean; readonly call: string | null }[];
  readonly guards: readonly string[];
  readonly actions: readonly string[];
  readonly transitions: readonly {
    readonly id: number;
    readonly source: string;
    readonly event: string;
    readonly order: number;
    readonly guard: string | null;
    readonly guardExpr: GuardExpr | null;
    readonly actions: readonly { readonly name: string; readonly params: unknown }[];
    readonly target: string;
    readonly label: string;
  }[];
}

/** machineToJson(): the compiled table of one machine as plain data. */
export function machineToJson(m: CompiledMachine): MachineJson {
  const name = (i: number): string => m.states[i]!.name;
  return {
    id: m.id,
    initial: name(m.initial),
    events: [...m.events],
    states: m.states.map((s) => ({ name: s.name, final: s.final, call: s.call })),
    guards: [...m.guardNames],
    actions: [...m.actionNames],
    transitions: m.transitions.map((t) => ({
      id: t.id, source: name(t.source), event: t.event, order: t.order,
      guard: t.guard ? guardToString(t.guard) : null, guardExpr: t.guard,
      actions: t.actions.map((a) => ({ name: a.name, params: a.params ?? null })),
      target: name(t.target), label: transitionLabel(t),
    })),
  };
}
