/**
 * The project's sources as a parser sees them: every module specifier a file depends on
 * (`import`, `import type`, `export … from`, `export * from`, a literal `import()`), and
 * every function with its line span. Read from the TypeScript sources with a real parser
 * (@babel/parser's TypeScript grammar), so multi-line imports, re-exports and dynamic
 * imports are seen as the compiler sees them.
 */

import { parse } from '@babel/parser';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from build/test/…). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Node {
  readonly type: string;
  readonly loc?: { readonly start: { readonly line: number }; readonly end: { readonly line: number } };
  readonly [key: string]: unknown;
}

/** sourceFiles(): every .ts file below `dirs` (paths relative to the root, '/'-separated). */
export function sourceFiles(dirs: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(join(ROOT, dir)).sort()) {
      const path = `${dir}/${name}`;
      if (statSync(join(ROOT, path)).isDirectory()) walk(path);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
    }
  };
  for (const d of dirs) walk(d);
  return out;
}

const cache = new Map<string, Node>();

/** parseFile(): the AST of one source file (cached). */
export function parseFile(path: string): Node {
  let ast = cache.get(path);
  if (ast === undefined) {
    const text = readFileSync(join(ROOT, path), 'utf8');
    ast = parse(text, { sourceType: 'module', plugins: ['typescript'], sourceFilename: path }).program as unknown as Node;
    cache.set(path, ast);
  }
  return ast;
}

const isNode = (v: unknown): v is Node => v !== null && typeof v === 'object' && typeof (v as Node).type === 'string';

/** visit(): every node of a tree, depth first, with its parent. */
export function visit(node: Node, f: (n: Node, parent: Node | null) => void, parent: Node | null = null): void {
  f(node, parent);
  for (const key of Object.keys(node)) {
    if (key === 'loc' || key.endsWith('Comments')) continue;
    const v = node[key];
    if (Array.isArray(v)) for (const c of v) if (isNode(c)) visit(c, f, node);
    if (isNode(v)) visit(v, f, node);
  }
}

export interface Dependency {
  readonly from: string;
  /** The specifier as written. */
  readonly specifier: string;
  /** The file it names, relative to the root ('' for a package or node: builtin). */
  readonly target: string;
  readonly line: number;
  readonly kind: 'import' | 'export-from' | 'dynamic-import';
}

const literal = (n: unknown): string | null => {
  const node = n as Node | null | undefined;
  return node?.type === 'StringLiteral' ? (node['value'] as string) : null;
};

function resolve(from: string, specifier: string): string {
  if (!specifier.startsWith('.')) return '';
  const dir = from.slice(0, from.lastIndexOf('/'));
  const joined = relative(ROOT, join(ROOT, dir, specifier)).split('\\').join('/');
  return joined.replace(/\.js$/, '.ts');
}

/** dependencies(): what one file imports, re-exports and dynamically imports (with a literal specifier). */
export function dependencies(path: string): Dependency[] {
  const out: Dependency[] = [];
  const add = (specifier: string | null, n: Node, kind: Dependency['kind']): void => {
    if (specifier !== null) out.push({ from: path, specifier, target: resolve(path, specifier), line: n.loc?.start.line ?? 0, kind });
  };
  visit(parseFile(path), (n) => {
    if (n.type === 'ImportDeclaration') add(literal(n['source']), n, 'import');
    else if (n.type === 'ExportNamedDeclaration' || n.type === 'ExportAllDeclaration') add(literal(n['source']), n, 'export-from');
    else if (n.type === 'ImportExpression') add(literal(n['source']), n, 'dynamic-import');
    else if (n.type === 'CallExpression' && (n['callee'] as Node).type === 'Import') add(literal((n['arguments'] as Node[])[0]), n, 'dynamic-import');
  });
  return out;
}

export interface FunctionSpan {
  readonly file: string;
  readonly name: string;
  readonly line: number;
  readonly lines: number;
}

const FUNCTION_TYPES = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression', 'ClassMethod', 'ClassPrivateMethod', 'ObjectMethod', 'TSDeclareMethod']);

function functionName(n: Node, parent: Node | null): string {
  const id = (n['id'] ?? n['key']) as Node | undefined;
  if (id?.type === 'Identifier' || id?.type === 'PrivateName') return String(id['name'] ?? (id['id'] as Node | undefined)?.['name']);
  if (parent?.type === 'VariableDeclarator') return String((parent['id'] as Node)['name']);
  if (parent?.type === 'ClassProperty' || parent?.type === 'ObjectProperty') return String((parent['key'] as Node)['name']);
  return '(anonymous)';
}

/** functions(): every function, method and arrow with a body in one file, with its length in lines. */
export function functions(path: string): FunctionSpan[] {
  const out: FunctionSpan[] = [];
  visit(parseFile(path), (n, parent) => {
    if (FUNCTION_TYPES.has(n.type) && n.loc !== undefined && n['body'] !== null && n['body'] !== undefined) {
      out.push({ file: path, name: functionName(n, parent), line: n.loc.start.line, lines: n.loc.end.line - n.loc.start.line + 1 });
    }
  });
  return out;
}
